"""Liouville-space kernels of the simulator (private).

* Bases.  The simulator's state is the real vector of Pauli coefficients of
  ρ on the normalised Pauli strings P/√d (qubit 0 the most significant base-4
  digit), augmented by a constant 1.  :func:`rho_to_pauli` and
  :func:`pauli_to_rho` convert without the dense 4ⁿ × 4ⁿ change of basis
  (n one-spin contractions, O(n·4ⁿ)).
* Sparse generators.  The generator of a spin system is a sum of one- and
  two-spin terms (Zeeman offsets, couplings, per-spin relaxation, RF); in
  the Pauli basis each is a small real matrix tensored with the identity, so
  the whole generator is sparse (≲ 4n + 3·couplings entries per column).
  :func:`local_terms` builds them as COO triplets and :class:`Pattern`
  aligns several on one sparsity pattern, so that the generator of any step
  is one linear combination of data arrays.
* :func:`taylor_steps` applies exp(τ_k A_k) to a vector for a list of
  piecewise-constant steps: a truncated Taylor series of degree m with s
  sub-steps, (m, s) from a rigorous bound on the truncation error
  (‖A‖₁^{m+1}/(m+1)! · 1/(1 − ‖A‖₁/(m+2)) ≤ 2⁻⁵³ per sub-step, ‖A‖₁ bounded
  from the terms' column sums), one sparse product per term; no propagator
  matrix is ever formed, so memory is that of a few vectors and the
  generator's data.
* :class:`FreeBlocks` — free evolution (no RF) in the product basis
  |i⟩⟨j|.  The free Liouvillian conserves each channel's coherence order
  (and, with weak couplings only, finer patterns), so it splits into
  independent blocks: the connected components of its sparsity graph.  Each
  block up to :data:`EIG_MAX_BLOCK` is diagonalised once (L_B = V Λ V⁻¹,
  accepted when ‖V‖_F‖V⁻¹‖_F/b ≤ :data:`EIG_COND_MAX`, otherwise its dense
  exponential is taken per duration); a larger one is propagated by the
  Taylor kernel on its sparse matrix with the trace shift.  The block of
  ρ_ji is the conjugate mirror of that of ρ_ij and is not computed, and an
  acquisition evaluates only the blocks the observable reaches (as sums of
  damped exponentials, or dwell by dwell); the others are propagated once
  over the whole acquisition.

No validation here beyond what the numerics need, no imports from the rest
of pulses but the spin system's operators, never ``nmrqb``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

try:  # the compiled kernel of scipy's CSR matvec: y += A x, without the Python layers
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - a future scipy without it: the public product
    _csr_matvec = None

#: Unit round-off: the Taylor truncation error allowed per sub-step, relative.
TAYLOR_TOL = 2.0**-53

#: Highest Taylor degree; beyond θ_M (≈ 3.5) a step is cut into sub-steps,
#: which keeps the largest term (≲ e^θ/√(2πθ) ≈ 7) and so the cancellation small.
TAYLOR_MAX_DEGREE = 30

#: A diagonalised free-evolution block is used when ‖V‖_F‖V⁻¹‖_F/b (≥ the
#: 2-norm condition number / b, 1 for a normal block) is at most this.
EIG_COND_MAX = 1e3

#: Blocks up to this size are diagonalised (O(b³) once, then any duration
#: and every acquisition point cost O(b)); larger ones are propagated by the
#: Taylor kernel on their sparse matrix, which is cheaper for them: an
#: eigendecomposition costs ~100 b³ flops against ~30·nnz per dwell.
EIG_MAX_BLOCK = 192


def _theta_table(tol: float, mmax: int) -> np.ndarray:
    """θ_m: the largest x with x^{m+1}/(m+1)!/(1 − x/(m+2)) ≤ tol, m = 0..mmax."""
    out = np.zeros(mmax + 1)
    for m in range(1, mmax + 1):
        lo, hi = 0.0, float(m + 2)

        def tail(x: float) -> float:
            if x >= m + 2:
                return math.inf
            return math.exp((m + 1) * math.log(x) - math.lgamma(m + 2)) / (1 - x / (m + 2)) if x > 0 else 0.0

        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if tail(mid) <= tol:
                lo = mid
            else:
                hi = mid
        out[m] = lo
    return out


_THETA = _theta_table(TAYLOR_TOL, TAYLOR_MAX_DEGREE)
_INV_FACT = np.array([1.0 / math.factorial(k) for k in range(TAYLOR_MAX_DEGREE + 1)])
_INV_FACT_C = _INV_FACT.astype(np.complex128)


def taylor_plan(norm: float) -> tuple[int, int]:
    """(degree m, sub-steps s) for exp(A)·v with ‖A‖₁ ≤ ``norm``: the
    cheapest m·s whose truncation bound per sub-step is ≤ :data:`TAYLOR_TOL`."""
    if norm <= 0:
        return 0, 1
    s = max(1, math.ceil(norm / _THETA[TAYLOR_MAX_DEGREE]))
    x = norm / s
    m = int(np.searchsorted(_THETA, x))  # first m with θ_m ≥ x
    return max(1, min(m, TAYLOR_MAX_DEGREE)), s


# ---------------------------------------------------------------- bases
def pauli_basis(n: int) -> np.ndarray:
    """(4ⁿ, 4ⁿ) unitary whose columns are vec(P)/√d for the Pauli strings P
    (I, X, Y, Z per spin, qubit 0 the leftmost factor)."""
    one = np.array(
        [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=np.complex128
    ) / np.sqrt(2)
    mats = one
    for _ in range(n - 1):
        mats = np.einsum("aij,bkl->abikjl", mats, one).reshape(mats.shape[0] * 4, mats.shape[1] * 2, -1)
    return mats.reshape(mats.shape[0], -1).T.copy()


_W1 = pauli_basis(1)  # (4 = (i, j) row-major, 4 = I, X, Y, Z)
_W1H = _W1.conj().T


def to_pauli(sup: np.ndarray, n: int) -> np.ndarray:
    """W† S W for a (4ⁿ, 4ⁿ) vec-basis superoperator S, using W = ⊗ of one-spin
    4×4 changes of basis: 2n small tensor contractions, O(16ⁿ·n)."""
    perm = [x for k in range(n) for x in (k, n + k)]
    t = sup.reshape((2,) * (4 * n)).transpose(perm + [2 * n + x for x in perm])
    t = t.reshape((4,) * (2 * n))
    for axis in range(2 * n):
        m = _W1H if axis < n else _W1.T  # rows take W†, columns take W
        t = np.moveaxis(np.tensordot(m, t, axes=([1], [axis])), 0, axis)
    return t.reshape(sup.shape)


def rho_to_pauli(rho: np.ndarray, n: int) -> np.ndarray:
    """The real Pauli coefficients W† vec(ρ) of a Hermitian (d, d) ρ."""
    t = np.asarray(rho, dtype=np.complex128).reshape((2,) * (2 * n))
    t = t.transpose([x for q in range(n) for x in (q, n + q)]).reshape((4,) * n)
    for q in range(n):
        t = np.moveaxis(np.tensordot(_W1H, t, axes=([1], [q])), 0, q)
    return np.ascontiguousarray(t.reshape(-1).real)


def pauli_to_rho(v: np.ndarray, n: int) -> np.ndarray:
    """The (d, d) matrix W v of real Pauli coefficients v (length 4ⁿ)."""
    t = np.asarray(v, dtype=np.complex128).reshape((4,) * n)
    for q in range(n):
        t = np.moveaxis(np.tensordot(_W1, t, axes=([1], [q])), 0, q)
    t = t.reshape((2,) * (2 * n)).transpose(list(range(0, 2 * n, 2)) + list(range(1, 2 * n, 2)))
    d = 2**n
    return t.reshape(d, d)


def commutator_superop(h: np.ndarray) -> np.ndarray:
    """h⊗1 − 1⊗hᵀ: the vec-basis (row-major) superoperator of [h, ·]."""
    eye = np.eye(h.shape[0])
    return np.kron(h, eye) - np.kron(eye, h.T)


def dissipator(c: np.ndarray) -> np.ndarray:
    """Lindblad D[c] for row-major vec: c⊗c* − ½(c†c⊗1 + 1⊗(c†c)ᵀ)."""
    eye = np.eye(c.shape[0])
    cc = c.conj().T @ c
    return np.kron(c, c.conj()) - 0.5 * (np.kron(cc, eye) + np.kron(eye, cc.T))


# ------------------------------------------------------- sparse generators
_HALF = {
    "x": np.array([[0, 0.5], [0.5, 0]], dtype=np.complex128),
    "y": np.array([[0, -0.5j], [0.5j, 0]], dtype=np.complex128),
    "z": np.array([[0.5, 0], [0, -0.5]], dtype=np.complex128),
    "p": np.array([[0, 1], [0, 0]], dtype=np.complex128),
}


def _real_part(m: np.ndarray) -> np.ndarray:
    scale = max(1.0, float(np.abs(m).max(initial=0.0)))
    if np.abs(m.imag).max(initial=0.0) > 1e-9 * scale:  # pragma: no cover - a Hermiticity-preserving term is real
        raise ArithmeticError("internal: a local superoperator is not real in the Pauli basis")
    return m.real


def embed(m: np.ndarray, qubits: tuple, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO triplets (rows, cols, values) of the local Pauli-basis matrix m
    (4^k × 4^k, k = len(qubits), first qubit most significant) acting on
    ``qubits`` of n, tensored with the identity elsewhere."""
    k = len(qubits)
    size = 4**n
    s = np.arange(size)
    shifts = [4 ** (n - 1 - q) for q in qubits]
    digits = [(s // h) % 4 for h in shifts]
    loc = np.zeros(size, dtype=np.int64)
    base = s.copy()
    for i, (dg, h) in enumerate(zip(digits, shifts)):
        loc += dg * 4 ** (k - 1 - i)
        base -= dg * h
    order = np.argsort(loc, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(loc, minlength=4**k))])
    scale = float(np.abs(m).max(initial=0.0))
    rows, cols, vals = [], [], []
    for c in range(4**k):
        col = order[bounds[c]:bounds[c + 1]]
        for r in np.flatnonzero(np.abs(m[:, c]) > 1e-15 * scale):
            shift = sum(((r // 4 ** (k - 1 - i)) % 4) * h for i, h in enumerate(shifts))
            rows.append(base[col] + shift)
            cols.append(col)
            vals.append(np.full(col.size, m[r, c]))
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def one_spin(op_sup: np.ndarray) -> np.ndarray:
    """The real Pauli-basis 4×4 matrix of a one-spin vec-basis superoperator."""
    return _real_part(to_pauli(op_sup, 1))


def two_spin(op_sup: np.ndarray) -> np.ndarray:
    """The real Pauli-basis 16×16 matrix of a two-spin vec-basis superoperator."""
    return _real_part(to_pauli(op_sup, 2))


def coupling_hamiltonian(kind: str, hz: float, homo: bool, weak: bool) -> np.ndarray:
    """The two-spin coupling Hamiltonian (rad/s) on spins (i, j) = (0, 1),
    exactly as :meth:`pulses.spinsystem.SpinSystem.free_hamiltonian` builds it."""
    op = {a: (np.kron(_HALF[a], np.eye(2)), np.kron(np.eye(2), _HALF[a])) for a in "xyz"}
    zz = op["z"][0] @ op["z"][1]
    dot = zz + op["x"][0] @ op["x"][1] + op["y"][0] @ op["y"][1]
    if kind == "J":
        return 2 * np.pi * hz * (dot if homo and not weak else zz)
    return 2 * np.pi * hz * (3 * zz - dot if homo else 2 * zz)


def dipolar_order_local() -> np.ndarray:
    """3 I1z I2z − I1·I2 on two spins (4×4)."""
    op = {a: (np.kron(_HALF[a], np.eye(2)), np.kron(np.eye(2), _HALF[a])) for a in "xyz"}
    zz = op["z"][0] @ op["z"][1]
    return 3 * zz - (zz + op["x"][0] @ op["x"][1] + op["y"][0] @ op["y"][1])


def _strings_on_pair(i: int, j: int, n: int) -> np.ndarray:
    """Pauli-string index of (a on spin i, b on spin j, I elsewhere), a, b = 0..3 (16,)."""
    return np.array([a * 4 ** (n - 1 - i) + b * 4 ** (n - 1 - j) for a in range(4) for b in range(4)])


class Pattern:
    """Several sparse (W × W) matrices given as COO triplets, aligned on the
    union of their sparsity patterns (CSR): ``data[t]`` holds term t's values
    on the common ``indptr``/``indices``, so that any linear combination is
    ``coefficients @ data``."""

    def __init__(self, width: int, terms: list[tuple[np.ndarray, np.ndarray, np.ndarray]]):
        keys = [r.astype(np.int64) * width + c for r, c, _ in terms]
        allkeys = np.unique(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
        rows = allkeys // width
        idx_dtype = np.int32 if width < 2**31 and allkeys.size < 2**31 else np.int64
        self.width = width
        self.indices = (allkeys % width).astype(idx_dtype)
        self.indptr = np.searchsorted(rows, np.arange(width + 1)).astype(idx_dtype)
        self.data = np.zeros((len(terms), allkeys.size))
        for t, (k, (_, _, v)) in enumerate(zip(keys, terms)):
            pos = np.searchsorted(allkeys, k)
            self.data[t] = np.bincount(pos, weights=v, minlength=allkeys.size)
        # column sums of |term|: ‖Σ_t c_t term_t‖₁ ≤ max_col Σ_t |c_t| colabs[t]
        self.colabs = np.stack([np.bincount(self.indices, weights=np.abs(d), minlength=width) for d in self.data]) \
            if len(terms) else np.zeros((0, width))

    @property
    def nbytes(self) -> int:
        return self.data.nbytes + self.colabs.nbytes + self.indices.nbytes + self.indptr.nbytes

    def matvec(self, data: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """y += A x for the matrix with values ``data`` on this pattern."""
        if _csr_matvec is not None:
            _csr_matvec(self.width, self.width, self.indptr, self.indices, data, x, y)
        else:  # pragma: no cover
            y += sp.csr_matrix((data, self.indices, self.indptr), shape=(self.width, self.width)) @ x


def taylor_steps(pattern: Pattern, coefs: np.ndarray, v: np.ndarray, chunk_bytes: int,
                 on_step=None) -> np.ndarray:
    """Apply exp(A_K)⋯exp(A_1) to v, A_k = Σ_t coefs[k, t]·term_t (the terms
    of ``pattern``), by :func:`taylor_plan` per step.  The step data are
    formed in chunks of at most ``chunk_bytes``.  ``on_step(k, v)`` (if
    given) is called after each step.  Returns the new vector (v is not
    modified)."""
    coefs = np.asarray(coefs, dtype=np.float64)
    nnz = pattern.data.shape[1]
    width = pattern.width
    per = max(1, int(chunk_bytes // max(1, 8 * (nnz + width))))
    v = np.array(v, dtype=np.float64, copy=True)
    buf = np.zeros((TAYLOR_MAX_DEGREE + 1, width))
    rows = list(buf)
    for start in range(0, coefs.shape[0], per):
        c = coefs[start:start + per]
        data = c @ pattern.data  # (chunk, nnz)
        norms = (np.abs(c) @ pattern.colabs).max(axis=1) if width else np.zeros(len(c))
        for k in range(c.shape[0]):
            m, s = taylor_plan(float(norms[k]))
            if m == 0:
                if on_step is not None:
                    on_step(start + k, v)
                continue
            dk = data[k] if s == 1 else data[k] / s
            for _ in range(s):
                rows[0][:] = v
                buf[1:m + 1] = 0.0
                for j in range(1, m + 1):
                    pattern.matvec(dk, rows[j - 1], rows[j])
                v = np.dot(_INV_FACT[:m + 1], buf[:m + 1])
            if on_step is not None:
                on_step(start + k, v)
    return v


# ------------------------------------------------------ free evolution blocks
#: Rough costs for choosing between the Taylor kernel and diagonalising a
#: large block: seconds per sparse product and per stored entry, and per b³
#: of a complex eigendecomposition with its inverse (measured on a 2-core
#: machine; only their ratio matters).
_MATVEC_S, _NNZ_S, _EIG_S = 1.5e-6, 4e-9, 1.5e-8

#: Largest block diagonalised when that is cheaper than the Taylor kernel.
LAZY_EIG_MAX = 3000


class _BlockTaylor:
    """exp(t·L)·x for one sparse complex block L by the Taylor kernel with
    the trace shift μ = tr(L)/b: e^{μt}·exp(t(L − μ))·x, the shifted,
    scaled matrix kept per duration t (at most four durations)."""

    def __init__(self, mat: sp.csr_matrix):
        b = mat.shape[0]
        mat = sp.csr_matrix(mat, dtype=np.complex128)
        self.mu = complex(mat.diagonal().sum()) / max(1, b)
        shifted = (mat - self.mu * sp.identity(b, format="csr", dtype=np.complex128)).tocsr()
        shifted.sum_duplicates()
        self.shifted = shifted
        self.norm = float(np.abs(shifted).sum(axis=0).max()) if shifted.nnz else 0.0
        self._plans: dict = {}

    def matvecs(self, t: float) -> int:
        """Sparse products one application for t costs."""
        m, s = taylor_plan(self.norm * abs(t))
        return m * s

    def seconds(self, products: int) -> float:
        """A rough time of ``products`` sparse products (for choosing a method)."""
        return products * (_MATVEC_S + self.shifted.nnz * _NNZ_S)

    def _plan(self, t: float):
        plan = self._plans.get(t)
        if plan is None:
            m, s = taylor_plan(self.norm * abs(t))
            data = self.shifted.data * (t / s) if m else self.shifted.data
            plan = (m, s, np.ascontiguousarray(data, dtype=np.complex128), np.exp(self.mu * t / s))
            if len(self._plans) < 4:
                self._plans[t] = plan
        return plan

    def apply(self, x: np.ndarray, t: float) -> np.ndarray:
        m, s, data, phase = self._plan(t)
        x = np.array(x, dtype=np.complex128, copy=True)
        if m == 0:
            return x * phase**s
        b = x.size
        ip, ix = self.shifted.indptr, self.shifted.indices
        buf = np.empty((m + 1, b), dtype=np.complex128)
        rows = list(buf[:m + 1])
        coef = _INV_FACT_C[:m + 1]
        for _ in range(s):
            rows[0][:] = x
            buf[1:m + 1] = 0.0
            for j in range(1, m + 1):
                if _csr_matvec is not None:
                    _csr_matvec(b, b, ip, ix, data, rows[j - 1], rows[j])
                else:  # pragma: no cover
                    rows[j][:] = sp.csr_matrix((data, ix, ip), shape=(b, b)) @ rows[j - 1]
            x = np.dot(coef, buf)
            x *= phase
        return x


class FreeBlocks:
    """Free evolution of ρ in the product basis, block by block (module
    docstring).  ``liouv`` is the (d², d²) sparse Liouvillian of row-major
    vec(ρ), ``affine`` its constant term (None or (d²,)), ``budget`` the bytes
    the eigendecompositions may hold."""

    def __init__(self, liouv: sp.csr_matrix, affine: np.ndarray | None, d: int, budget: float):
        size = d * d
        self.d, self.size = d, size
        liouv = liouv.tocsr()
        pat = liouv.copy()
        pat.data = np.ones_like(pat.data, dtype=np.float64)
        has_aff = affine is not None and bool(np.any(affine != 0))
        if has_aff:
            sup = np.flatnonzero(affine)
            extra = sp.csr_matrix((np.ones(sup.size), (sup, np.full(sup.size, size))), shape=(size + 1, size + 1))
            pat = sp.bmat([[pat, None], [None, sp.csr_matrix((1, 1))]], format="csr") + extra
        ncomp, labels = connected_components(pat + pat.T, directed=False)
        nodes = np.arange(labels.size)
        mirror = nodes.copy()
        mirror[:size] = (nodes[:size] % d) * d + nodes[:size] // d
        order = np.argsort(labels, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=ncomp))])
        self.nbytes = 0
        self.eig_groups: dict[int, dict] = {}
        self.others: list[dict] = []  # blocks propagated by dense expm or sparse Taylor
        candidates = []
        for c in range(ncomp):
            idx = order[bounds[c]:bounds[c + 1]]
            mc = labels[mirror[idx[0]]]
            if mc < c:
                continue  # the mirror block carries it
            candidates.append((idx, None if mc == c else mirror[idx]))
        candidates.sort(key=lambda b: b[0].size)
        for idx, mirr in candidates:
            b = idx.size
            aug = has_aff and idx[-1] == size
            core = idx[:-1] if aug else idx
            block = {"idx": idx, "mirror": mirr, "aug": aug}
            if aug:
                sub = liouv[core][:, core]
                if b > EIG_MAX_BLOCK:
                    full = sp.bmat([[sub, sp.csr_matrix(affine[core][:, None])],
                                    [None, sp.csr_matrix((1, 1))]], format="csr")
                    block.update(mode="taylor", kernel=_BlockTaylor(full))
                else:
                    full = np.zeros((b, b), dtype=np.complex128)
                    full[:-1, :-1] = sub.toarray()
                    full[:-1, -1] = affine[core]
                    block.update(mode="expm", mat=full, cache={})
                self.others.append(block)
                continue
            if b > EIG_MAX_BLOCK or 2 * b * b * 16 + self.nbytes > budget:
                block.update(mode="taylor", kernel=_BlockTaylor(liouv[core][:, core].tocsr()), tried=False)
                self.others.append(block)
                continue
            group = self.eig_groups.setdefault(b, {"mats": [], "blocks": []})
            group["mats"].append(liouv[core][:, core].toarray())
            group["blocks"].append(block)
            self.nbytes += 2 * b * b * 16
        for b, group in list(self.eig_groups.items()):
            mats = np.stack(group.pop("mats"))
            lam, vec = np.linalg.eig(mats)
            inv = np.linalg.inv(vec)
            cond = np.sqrt((np.abs(vec) ** 2).sum(axis=(1, 2)) * (np.abs(inv) ** 2).sum(axis=(1, 2))) / b
            good = np.isfinite(cond) & (cond <= EIG_COND_MAX)
            for k in np.flatnonzero(~good):
                blk = group["blocks"][k]
                blk.update(mode="expm", mat=mats[k], cache={})
                self.others.append(blk)
            keep = np.flatnonzero(good)
            if keep.size == 0:
                del self.eig_groups[b]
                continue
            blocks = [group["blocks"][k] for k in keep]
            group.update(
                lam=lam[keep], vec=vec[keep], inv=inv[keep],
                idx=np.stack([blk["idx"] for blk in blocks]),
                mirror=np.stack([blk["mirror"] if blk["mirror"] is not None else np.full(b, -1) for blk in blocks]),
                has_mirror=np.array([blk["mirror"] is not None for blk in blocks]),
                blocks=blocks,
            )
        self._expm_cache_bytes = 0
        self.budget = budget

    @property
    def modes(self) -> dict[str, int]:
        """How many blocks each method propagates ("eig", "expm", "taylor")."""
        out = {"eig": sum(len(g["blocks"]) for g in self.eig_groups.values()), "expm": 0, "taylor": 0}
        for blk in self.others:
            out[blk["mode"]] += 1
        return out

    def _consider(self, blk: dict, products: int) -> bool:
        """Diagonalise a Taylor-propagated block now if the ``products``
        sparse products a request needs would cost more than that (and it
        fits the budget); True if it moved to the eigendecomposed groups."""
        if blk["mode"] != "taylor" or blk["aug"] or blk["tried"]:
            return False
        b = blk["idx"].size
        kern = blk["kernel"]
        if b > LAZY_EIG_MAX or 2 * b * b * 16 + self.nbytes > self.budget \
                or kern.seconds(products) <= _EIG_S * b**3:
            return False
        blk["tried"] = True
        mat = (kern.shifted + kern.mu * sp.identity(b, format="csr", dtype=np.complex128)).toarray()
        lam, vec = np.linalg.eig(mat)
        inv = np.linalg.inv(vec)
        cond = math.sqrt(float((np.abs(vec) ** 2).sum() * (np.abs(inv) ** 2).sum())) / b
        if not (math.isfinite(cond) and cond <= EIG_COND_MAX):
            return False
        self.nbytes += 2 * b * b * 16
        self.others.remove(blk)
        self.eig_groups[("lazy", id(blk))] = {
            "lam": lam[None], "vec": vec[None], "inv": inv[None], "idx": blk["idx"][None],
            "mirror": (blk["mirror"] if blk["mirror"] is not None else np.full(b, -1))[None],
            "has_mirror": np.array([blk["mirror"] is not None]), "blocks": [blk],
        }
        blk["mode"] = "eig"
        return True

    # ---------------------------------------------------------------- exps
    def _block_expm(self, blk: dict, t: float) -> np.ndarray:
        cache = blk["cache"]
        p = cache.get(t)
        if p is None:
            p = scipy.linalg.expm(blk["mat"] * t)
            if self._expm_cache_bytes + p.nbytes <= self.budget / 4:
                cache[t] = p
                self._expm_cache_bytes += p.nbytes
        return p

    def _other_step(self, blk: dict, x: np.ndarray, t: float) -> np.ndarray:
        if blk["mode"] == "expm":
            return self._block_expm(blk, t) @ x
        return blk["kernel"].apply(x, t)

    @staticmethod
    def _store(out: np.ndarray, blk: dict, y: np.ndarray) -> None:
        core = blk["idx"][:-1] if blk["aug"] else blk["idx"]
        yc = y[:-1] if blk["aug"] else y
        out[core] = yc
        if blk["mirror"] is not None:
            out[blk["mirror"]] = yc.conj()

    # ----------------------------------------------------------- propagate
    def propagate(self, rho_vec: np.ndarray, t: float) -> np.ndarray:
        """vec(ρ) after free evolution for t seconds (row-major vec of a
        Hermitian ρ; the result is Hermitian up to rounding)."""
        out = np.array(rho_vec, dtype=np.complex128, copy=True)
        ext = np.concatenate([out, [1.0]])
        for blk in list(self.others):
            if blk["mode"] == "taylor":
                self._consider(blk, blk["kernel"].matvecs(t))
        self._propagate_eig(ext, out, t)
        for blk in self.others:
            self._store(out, blk, self._other_step(blk, ext[blk["idx"]], t))
        return out

    def _propagate_eig(self, ext: np.ndarray, out: np.ndarray, t: float) -> None:
        for group in self.eig_groups.values():
            x = ext[group["idx"]]
            c = np.matmul(group["inv"], x[..., None])[..., 0] * np.exp(group["lam"] * t)
            y = np.matmul(group["vec"], c[..., None])[..., 0]
            out[group["idx"]] = y
            hm = group["has_mirror"]
            if hm.any():
                out[group["mirror"][hm]] = y[hm].conj()

    def acquire(self, rho_vec: np.ndarray, observables: dict, dwell: float, points: int):
        """The signals s[n] = o·vec(ρ(n·dwell)), n < points, for each
        observable o (a (d²,) complex weight vector on vec(ρ)), from the
        blocks o reaches only, and vec(ρ) after points·dwell."""
        ext = np.concatenate([np.asarray(rho_vec, dtype=np.complex128), [1.0]])
        out_rho = ext[:-1].copy()
        total = points * dwell
        names = list(observables)
        obs = np.stack([np.concatenate([observables[k], [0.0]]) for k in names])  # (c, d²+1)
        for blk in list(self.others):
            if blk["mode"] == "taylor":
                touched = np.any(obs[:, blk["idx"]] != 0) or (
                    blk["mirror"] is not None and np.any(obs[:, blk["mirror"]] != 0))
                kern = blk["kernel"]
                self._consider(blk, points * kern.matvecs(dwell) if touched else kern.matvecs(total))
        lams, amps = [], []
        for group in self.eig_groups.values():
            idx, mirr, hm = group["idx"], group["mirror"], group["has_mirror"]
            od = obs[:, idx]  # (c, nb, b)
            om = np.where(hm[None, :, None], obs[:, np.where(mirr < 0, 0, mirr)], 0.0)
            touched = np.any(od != 0, axis=(0, 2)) | np.any(om != 0, axis=(0, 2))
            if not touched.any():
                continue
            sel = np.flatnonzero(touched)
            vec, inv, lam = group["vec"][sel], group["inv"][sel], group["lam"][sel]
            c = np.matmul(inv, ext[idx[sel]][..., None])[..., 0]  # (k, b)
            ad = np.einsum("cnb,nbl->cnl", od[:, sel], vec) * c[None]
            am = np.einsum("cnb,nbl->cnl", om[:, sel].conj(), vec) * c[None]
            lams += [lam.reshape(-1), lam.conj().reshape(-1)]
            amps += [ad.reshape(len(names), -1), am.conj().reshape(len(names), -1)]
        self._propagate_eig(ext, out_rho, total)
        out = {k: np.zeros(points, dtype=np.complex128) for k in names}
        if lams:
            lam = np.concatenate(lams)
            amp = np.concatenate(amps, axis=1)
            live = np.any(amp != 0, axis=0)
            lam, amp = lam[live], amp[:, live]
            if lam.size:
                chunk = max(1, min(points, 2**20 // max(1, lam.size)))  # 16 MiB of modes at a time
                base = np.exp(np.outer(np.arange(chunk) * dwell, lam))  # (chunk, modes)
                for start in range(0, points, chunk):
                    m = min(chunk, points - start)
                    e = base[:m] * np.exp(lam * (start * dwell))[None, :]
                    vals = e @ amp.T  # (m, c)
                    for i, k in enumerate(names):
                        out[k][start:start + m] = vals[:, i]
        for blk in self.others:
            idx = blk["idx"]
            od = obs[:, idx]
            om = obs[:, blk["mirror"]] if blk["mirror"] is not None else np.zeros_like(od)
            x = ext[idx]
            if not (np.any(od != 0) or np.any(om != 0)):
                self._store(out_rho, blk, self._other_step(blk, x, total))
                continue
            omc = om.conj()
            for n in range(points):
                vals = od @ x + (omc @ x).conj()
                for i, k in enumerate(names):
                    out[k][n] += vals[i]
                x = self._other_step(blk, x, dwell)
            self._store(out_rho, blk, x)
        return out, out_rho
