"""The qualitative claims of Sec. IV of the source paper, decided by the exact model.

One test per claim that the numbers can decide.  Each docstring quotes the
paper (line numbers refer to ``paper/dipolar_quantum_battery.txt``, an OCR'd
text), says how the vague words are turned into a number, and gives the
verdict: HOLDS, PARTIAL or DOES NOT HOLD.  Where the claim fails (fully or in
part) the test asserts what the model actually does, so it documents the
discrepancy and catches any change; ``docs/paper-claims.md`` lists every claim
with the deciding numbers.

Every computation uses the panel settings of :mod:`nmrqb.figures`
(``_ROWS_3``, ``_ROWS_4``, ``_BATTERY``, ``_MAP_COLUMNS`` and the sample
counts that are the defaults of ``figure_3``, ``figure_4``,
``battery_figure`` and ``figure_10``), so the claims are judged on the
figures we ship.  Data are computed once per module (``lru_cache``).

Operational definitions used throughout (model units, hbar = k_B = 1):

* peak            max of a curve over the plotted window;
* survival time   (Fig. 3) the last time t at which a measure is still
                  >= 10 % of its own peak (0 for a measure identically 0);
* area            trapezoidal integral of a curve over the plotted window;
* T50             (Fig. 4) the first temperature at which a measure drops
                  below 50 % of its peak (inf if it never does in T <= 10);
* cutoff Tc       (Fig. 4) the temperature of entanglement sudden death,
                  concurrence of the Gibbs state = 0, by bisection;
* oscillation     number of local maxima of a curve in the window that reach
  frequency       1 % of its peak (Figs. 3, 5-9), or the number of sign
                  changes of P;
* charging time   Ωt* = the first Ωt at which E(Ωt) is maximal;
* "no effect"     equal to 1e-12 (absolute, on the density matrices);
* "zero" on maps  < 1e-12 (the ergotropy is a difference of energies, so
                  exact zeros come out at round-off level).
"""

from __future__ import annotations

import inspect
import math
from functools import lru_cache

import numpy as np
import pytest

from nmrqb import DipolarModel, figures, measures
from nmrqb.battery import charge, charging_map
from nmrqb.dephasing import dephase

# --------------------------------------------------------------------------
# settings of the shipped figures
# --------------------------------------------------------------------------
def _default(func, name):
    return inspect.signature(func).parameters[name].default


F3_TMAX = _default(figures.figure_3, "t_max")  # 20
F3_N = _default(figures.figure_3, "n_times")  # 2001
F3_GAMMA = _default(figures.figure_3, "gamma")  # 0.2
F4_TMIN = _default(figures.figure_4, "t_min")  # 0.01
F4_TMAX = _default(figures.figure_4, "t_max")  # 10
F4_N = _default(figures.figure_4, "n_temps")  # 400
BAT_N = _default(figures.battery_figure, "n_points")  # 721 (Ωt = π/8, π/4 are grid points)
F10_GRID = _default(figures.figure_10, "n_grid")  # 201
F10_NT = _default(figures.figure_10, "n_omega_t")  # 512

KET00 = np.array([1, 0, 0, 0], dtype=np.complex128)
RES = ("concurrence", "discord", "coherence")
PI = math.pi


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def survival_time(x, y, frac=0.1):
    """Last x where y >= frac * max(y); 0 if y is identically (<= 1e-12) zero."""
    pk = float(np.max(y))
    if pk <= 1e-12:
        return 0.0
    return float(x[np.nonzero(y >= frac * pk)[0][-1]])


def first_below(x, y, frac=0.5):
    """First x where y < frac * max(y); inf if it never does."""
    pk = float(np.max(y))
    idx = np.nonzero(y < frac * pk)[0]
    return float(x[idx[0]]) if idx.size else math.inf


def area(x, y):
    return float(np.trapezoid(y, x))


def n_maxima(y, frac=0.01):
    """Oscillation count: interior local maxima that reach >= frac * peak.

    The 1 % floor ignores the ripples of a curve that has already decayed
    (and the 1e-6 optimisation noise of the discord there)."""
    y = np.asarray(y)
    mid = y[1:-1]
    return int(np.sum((mid > y[:-2]) & (mid >= y[2:]) & (mid >= frac * y.max())))


def sign_changes(y):
    y = np.asarray(y)
    s = np.sign(y[np.abs(y) > 1e-9 * np.abs(y).max()])
    return int(np.sum(s[1:] != s[:-1]))


def strictly_increasing(v):
    return all(b > a for a, b in zip(v, v[1:]))


def strictly_decreasing(v):
    return all(b < a for a, b in zip(v, v[1:]))


# --------------------------------------------------------------------------
# cached data: Figs. 3, 4 (resources), 5-9 (battery traces), 10 (maps)
# --------------------------------------------------------------------------
@lru_cache(maxsize=None)
def fig3():
    """{(name, value): dict(t, rho, concurrence, discord, coherence)} for the 15 panels."""
    t = np.linspace(0.0, F3_TMAX, F3_N)
    out = {}
    for name, values, fixed in figures._ROWS_3:
        for v in values:
            r = dephase(DipolarModel(**dict(fixed, **{name: v})), KET00, t, F3_GAMMA)
            out[(name, v)] = dict(
                t=t, rho=r.rho, concurrence=np.asarray(r.concurrence), discord=np.asarray(r.discord),
                coherence=np.asarray(r.coherence),
            )
    return out


def row3(name):
    values = next(v for n, v, _ in figures._ROWS_3 if n == name)
    return [fig3()[(name, v)] for v in values]


@lru_cache(maxsize=None)
def fig4():
    """{(name, value): dict(T, concurrence, discord, coherence)} for the 15 panels."""
    temps = np.linspace(F4_TMIN, F4_TMAX, F4_N)
    out = {}
    for name, values, fixed in figures._ROWS_4:
        for v in values:
            m = DipolarModel(**dict(fixed, **{name: v}))
            rho = np.stack([m.gibbs_array(T) for T in temps])
            out[(name, v)] = dict(
                T=temps, concurrence=np.asarray(measures.concurrence(rho)), discord=np.asarray(measures.discord(rho)),
                coherence=np.asarray(measures.l1_coherence(rho)),
            )
    return out


def row4(name):
    values = next(v for n, v, _ in figures._ROWS_4 if n == name)
    return [fig4()[(name, v)] for v in values]


def cutoff_temperature(model, lo=F4_TMIN, hi=100.0, iters=50):
    """Entanglement sudden-death temperature of the Gibbs state (bisection)."""
    def ent(T):
        return measures.concurrence(model.gibbs_array(T)) > 1e-12

    if ent(hi):
        return math.inf
    if not ent(lo):
        return lo
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ent(mid) else (lo, mid)
    return 0.5 * (lo + hi)


@lru_cache(maxsize=None)
def cutoffs(name):
    values, fixed = next((v, f) for n, v, f in figures._ROWS_4 if n == name)
    return [cutoff_temperature(DipolarModel(**dict(fixed, **{name: v}))) for v in values]


@lru_cache(maxsize=None)
def battery(number):
    """(values, [BatteryTrace]) of paper figure ``number`` (5-9)."""
    name, values, fixed, _ = figures._BATTERY[number]
    tau = np.linspace(0.0, PI, BAT_N)
    traces = []
    for v in values:
        p = dict(fixed, **{name: v})
        T = p.pop("T")
        traces.append(charge(DipolarModel(**p), T, tau))
    return values, traces


def summary(number):
    """Per curve: peak E, charging time Ωt*, peak P, Q, peak C, C swing."""
    values, traces = battery(number)
    rows = []
    for tr in traces:
        # charging time = first Ωt reaching the maximum (E is symmetric about
        # π/2 here, so the two peaks tie to round-off)
        emax = tr.maximum("ergotropy")
        rows.append(dict(
            Emax=emax.value, tstar=emax.omega_t, Pmax=float(tr.power.max()),
            Q=float(tr.capacity.mean()), Cmax=float(tr.coherence.max()),
            Cswing=float(tr.coherence.max() - tr.coherence.min()), Pzeros=sign_changes(tr.power),
            Cmaxima=n_maxima(tr.coherence),
        ))
    return values, rows


def col(rows, key):
    return [r[key] for r in rows]


@lru_cache(maxsize=None)
def fig10(column):
    """ChargingMap of Fig. 10 column ``column`` (0-3), on the shipped grid."""
    xn, xr, yn, yr, fixed = figures._MAP_COLUMNS[column]
    tau = np.linspace(0.0, PI, F10_NT)
    return charging_map(xn, np.linspace(*xr, F10_GRID), yn, np.linspace(*yr, F10_GRID), tau, **fixed)


MAPS = ("capacity", "max_coherence", "max_ergotropy", "max_power")


# ==========================================================================
# Fig. 3 — dephasing dynamics from |00>, gamma = 0.2
# ==========================================================================
def test_fig3_item1_coherence_most_robust_then_discord_then_concurrence():
    """Fig. 3, item 1 (l. 471): "l1-norm coherence ... exhibits the highest
    robustness across all cases, followed by quantum discord ... with moderate
    resilience, and concurrence ..., which shows the least robustness."

    Robustness = survival time (last t with the measure >= 10 % of its own
    peak).  HOLDS: t_C > t_D > t_E in all 15 panels (e.g. eps = 1:
    5.97 > 2.85 > 1.37).  Side note (asserted): by *area* under the curve the
    concurrence beats the discord in the B = 0.1, 1, 10 and G = 0.1, 1 panels, so
    the ordering depends on the robustness measure for D vs E, not for C.
    """
    area_e_beats_d = set()
    for key, d in fig3().items():
        t = d["t"]
        tc, td, te = (survival_time(t, d[q]) for q in ("coherence", "discord", "concurrence"))
        assert tc > td > te, (key, tc, td, te)
        assert area(t, d["coherence"]) > max(area(t, d["discord"]), area(t, d["concurrence"])), key
        if area(t, d["concurrence"]) > area(t, d["discord"]):
            area_e_beats_d.add(key)
    assert area_e_beats_d == {("B", 0.1), ("B", 1.0), ("B", 10.0), ("G", 0.1), ("G", 1.0)}


def test_fig3_item2_epsilon_raises_peaks_of_all_measures():
    """Fig. 3(a-c), item 2 (l. 480): "increasing the rhombic parameter eps
    enhances entanglement and elevates the peak values of all quantum
    correlations."  HOLDS: peaks strictly increase for eps = 0.1, 1, 10
    (E 0 -> 0.735 -> 0.968, D 0.080 -> 0.636 -> 0.933, C 0.322 -> 0.859 -> 0.984).
    """
    rows = row3("epsilon")
    for q in RES:
        peaks = [float(d[q].max()) for d in rows]
        assert strictly_increasing(peaks), (q, peaks)
    assert rows[0]["concurrence"].max() < 1e-12  # eps = 0.1: never entangled
    assert rows[2]["concurrence"].max() > 0.95


def test_fig3_item2_all_measures_decay_under_dephasing():
    """Fig. 3(a-c), item 2 (l. 483): "all measures decay over time due to
    dephasing dynamics."  Decay = the envelope (maximum over the windows
    [0,5], [5,10], [10,15], [15,20]) never increases and the last window is
    below 1 % of the peak.  HOLDS for the eps panels (C's last window
    <= 0.0024 vs peaks >= 0.32).
    """
    for d in row3("epsilon"):
        t = d["t"]
        for q in RES:
            y = d[q]
            win = [y[(t >= a) & (t <= a + 5)].max() for a in (0, 5, 10, 15)]
            assert all(b <= a + 1e-12 for a, b in zip(win, win[1:])), (q, win)
            assert win[-1] <= 0.01 * y.max() + 1e-12, (q, win)


def test_fig3_item2_epsilon_accelerates_collapse_and_revival():
    """Fig. 3(a-c), item 2 (l. 484): "higher eps values also accelerate the
    rates of collapse and revival."  Rate = number of local maxima
    (>= 1 % of the peak) in t in [0, 20].  HOLDS: C 2 -> 15 -> 147,
    D 1 -> 8 -> 69 maxima.
    """
    rows = row3("epsilon")
    for q in ("coherence", "discord"):
        counts = [n_maxima(d[q]) for d in rows]
        assert strictly_increasing(counts), (q, counts)
        assert counts[2] > 4 * counts[1], (q, counts)


def test_fig3_summary_epsilon_improves_robustness_and_longevity():
    """Fig. 3 summary (l. 522): "Increasing the rhombic parameter eps improves
    the robustness and longevity of quantum correlations."

    PARTIAL: the time-integrated resources (area over t in [0, 20]) grow
    with eps (C 1.362 -> 1.588 -> 1.591, D 0.242 -> 0.517 -> 0.527), but the
    longevity (survival time at 10 % of the peak) *shrinks*: C 6.65 -> 5.97
    -> 5.77, D 5.26 -> 2.85 -> 2.55 (the decay is set by gamma; larger eps only
    moves the peak earlier).
    """
    rows = row3("epsilon")
    t = rows[0]["t"]
    for q in ("coherence", "discord"):
        areas = [area(t, d[q]) for d in rows]
        lives = [survival_time(t, d[q]) for d in rows]
        assert strictly_increasing(areas), (q, areas)
        assert strictly_decreasing(lives), (q, lives)


def test_fig3_item3_B_lowers_amplitude_and_raises_frequency():
    """Fig. 3(d-f), item 3 (l. 487): "As B increases, the amplitude decreases
    while the oscillation frequency rises."  Amplitude = peak, frequency =
    number of local maxima.  HOLDS: peaks E 0.542 -> 0.440 -> 0.068,
    D 0.441 -> 0.281 -> 0.014, C 0.757 -> 0.695 -> 0.098; maxima of C
    8 -> 10 -> 96, of D 3 -> 8 -> 43.
    """
    rows = row3("B")
    for q in RES:
        assert strictly_decreasing([float(d[q].max()) for d in rows]), q
    for q in ("coherence", "discord"):
        counts = [n_maxima(d[q]) for d in rows]
        assert strictly_increasing(counts), (q, counts)


def test_fig3_item3_large_B_kills_discord_and_concurrence_coherence_lingers():
    """Fig. 3(f), item 3 (l. 491): "At large B values ... D and E quickly
    approaching zero for very large B.  Although C remains detectable for a
    longer period, it does so with diminished amplitude."  At B = 10: peaks of
    D and E below 0.1 (0.014, 0.068), C's survival time more than 5x theirs
    (8.24 vs 1.35 and 0.12) and its peak below 0.15 of the B = 0.1 one
    (0.098 vs 0.757).  HOLDS.
    """
    small, _, big = row3("B")
    t = big["t"]
    assert big["discord"].max() < 0.1 and big["concurrence"].max() < 0.1
    tc = survival_time(t, big["coherence"])
    assert tc > 5 * survival_time(t, big["discord"]) and tc > 5 * survival_time(t, big["concurrence"])
    assert big["coherence"].max() < 0.15 * small["coherence"].max()


def test_fig3_item3_B_negative_overall():
    """Fig. 3(d-f), item 3 (l. 496): "Overall, increasing B negatively impacts
    all quantum coherence and correlation measures."  Impact = area over
    t in [0, 20].  HOLDS: C 4.47 -> 2.76 -> 0.28, D 0.43 -> 0.24 -> 0.004,
    E 0.46 -> 0.34 -> 0.006.
    """
    rows = row3("B")
    t = rows[0]["t"]
    for q in RES:
        assert strictly_decreasing([area(t, d[q]) for d in rows]), q


def test_fig3_item4_D_has_no_effect():
    """Fig. 3(g-i), item 4 (l. 499): "increasing ... D does not affect the
    temporal behavior of C, D, or E."  No effect = the states equal to 1e-12
    for D = 0, 0.1, 1, 10 (B = G = 0).  HOLDS exactly (see also the
    known-finding test: it fails as soon as B or G is nonzero).
    """
    name, values, fixed = next(r for r in figures._ROWS_3 if r[0] == "D")
    t = fig3()[("D", values[0])]["t"]
    ref = dephase(DipolarModel(**dict(fixed, D=0.0)), KET00, t, F3_GAMMA).rho
    for v in values:
        assert np.abs(fig3()[("D", v)]["rho"] - ref).max() < 1e-12, v


def test_fig3_item5_G_faster_oscillations_higher_peaks():
    """Fig. 3(j-l), item 5 (l. 506): "increasing G leads to more rapid
    oscillations and higher peak values for all measures."  HOLDS: peaks
    E 0.549 -> 0.761 -> 0.968, D 0.431 -> 0.561 -> 0.899, C 0.774 -> 0.941
    -> 0.994; maxima of C 11 -> 18 -> 147, of D 4 -> 9 -> 69.
    """
    rows = row3("G")
    for q in RES:
        assert strictly_increasing([float(d[q].max()) for d in rows]), q
    for q in ("coherence", "discord"):
        assert strictly_increasing([n_maxima(d[q]) for d in rows]), q


def test_fig3_item5_G_does_not_sustain_correlations():
    """Fig. 3(j-l), item 5 (l. 509): "it does not sustain non-zero
    correlation values over extended periods."  Not sustained = survival
    time (10 % of the peak) below half the window (t < 10) for every measure
    and G.  HOLDS (longest: C at G = 0.1, 7.08).
    """
    for d in row3("G"):
        for q in RES:
            assert survival_time(d["t"], d[q]) < 0.5 * F3_TMAX, q


def test_fig3_G_improves_robustness_in_time_claimed_in_fig4_item5():
    """Fig. 4 item 5 (l. 566) says the robustness gained with G "is also
    consistently true in Fig. 3(j-l) against time during dephasing".

    DOES NOT HOLD: in Fig. 3(j-l) the coherence's survival time
    (7.08 -> 6.09 -> 5.69) and its area (2.12 -> 1.86 -> 1.62) both *decrease*
    with G = 0.1, 1, 10 (and item 5 itself says G "does not sustain" them).
    """
    rows = row3("G")
    t = rows[0]["t"]
    assert strictly_decreasing([survival_time(t, d["coherence"]) for d in rows])
    assert strictly_decreasing([area(t, d["coherence"]) for d in rows])


def test_fig3_item6_Delta_has_no_effect():
    """Fig. 3(m-o), item 6 (l. 512): "variations in Delta have no effect on
    correlations or coherence."  States equal to 1e-12 for Delta = 0, 0.1, 1,
    10 (D = 0).  HOLDS exactly.
    """
    name, values, fixed = next(r for r in figures._ROWS_3 if r[0] == "Delta")
    t = fig3()[("Delta", values[0])]["t"]
    ref = dephase(DipolarModel(**dict(fixed, Delta=0.0)), KET00, t, F3_GAMMA).rho
    for v in values:
        assert np.abs(fig3()[("Delta", v)]["rho"] - ref).max() < 1e-12, v


# ==========================================================================
# Fig. 4 — Gibbs state versus temperature, T in [0.01, 10]
# ==========================================================================
def test_fig4_item1_thermal_robustness_order():
    """Fig. 4 item 1 (l. 534): "C is the most robust, followed by D, with E
    being the least in thermodynamic equilibrium."

    PARTIAL.  C is the most robust everywhere: C(T) >= D(T) and C(T) >= E(T)
    at every T of all 15 panels, and C has the largest area.  D vs E: D never
    vanishes (D > 0 at every T) while E dies at a finite temperature in the
    11 panels whose cutoff lies in T <= 10; but by area over T in [0.01, 10]
    E beats D in the six strong-coupling / strong-field panels eps = 10,
    B = 10, D = 1, D = 10, G = 10, Delta = 10 (e.g. eps = 10: 8.66 vs 8.16).
    """
    e_beats_d = set()
    for key, d in fig4().items():
        T = d["T"]
        assert np.all(d["coherence"] >= d["discord"] - 1e-6), key
        assert np.all(d["coherence"] >= d["concurrence"] - 1e-9), key
        assert d["discord"].min() > 0, key
        assert area(T, d["coherence"]) > max(area(T, d["discord"]), area(T, d["concurrence"])), key
        if area(T, d["concurrence"]) > area(T, d["discord"]):
            e_beats_d.add(key)
    assert e_beats_d == {("epsilon", 10.0), ("B", 10.0), ("D", 1.0), ("D", 10.0), ("G", 10.0), ("Delta", 10.0)}
    dies = {(n, v) for n, vals, _ in figures._ROWS_4 for v, tc in zip(vals, cutoffs(n)) if tc < F4_TMAX}
    assert len(dies) == 11
    for key in dies:
        assert fig4()[key]["concurrence"][-1] == 0.0


def test_fig4_item2_epsilon_generates_and_protects_resources():
    """Fig. 4(a-c), item 2 (l. 539): eps "not only has a positive influence
    in generating all considered quantum resources but also makes them robust
    against temperature."  Generating = each measure is non-decreasing in eps
    at every T; robust = T50 strictly increases.  HOLDS (T50 of E
    0.11 -> 1.09 -> >10, of C 0.19 -> 1.84 -> >10).
    """
    rows = row4("epsilon")
    for q in RES:
        tol = 1e-6 if q == "discord" else 1e-9
        for lo, hi in zip(rows, rows[1:]):
            assert np.all(hi[q] >= lo[q] - tol), q
        t50 = [first_below(d["T"], d[q]) for d in rows]
        assert t50[0] < t50[1] < t50[2] or (t50[0] < t50[1] and t50[2] == math.inf), (q, t50)


def test_fig4_item3_B_lowers_peaks():
    """Fig. 4(d-f), item 3 (l. 545): "Stronger Zeeman fields reduce the peak
    values of all measures."  Peak = max over T.  HOLDS: E 1 -> 0.447 ->
    0.050, D 1 -> 0.298 -> 0.008, C 1 -> 0.624 -> 0.055 for B = 0.1, 1, 10.
    """
    for q in RES:
        assert strictly_decreasing([float(d[q].max()) for d in row4("B")]), q


def test_fig4_item3_B_raises_entanglement_cutoff():
    """Fig. 4(d-f), item 3 (l. 547): "E shows a notable decrease in peak value
    and increased cut-off temperature with stronger fields."

    PARTIAL: the peak does fall (see above) but the sudden-death temperature
    is not monotone: Tc = 1.41 (B = 0.1) -> 1.24 (B = 1) -> 5.05 (B = 10).
    """
    tc = cutoffs("B")
    assert tc[1] < tc[0] < tc[2], tc
    assert tc[0] == pytest.approx(1.41, abs=0.01)
    assert tc[1] == pytest.approx(1.24, abs=0.01)
    assert tc[2] == pytest.approx(5.05, abs=0.01)


def test_fig4_item4_D_enhances_robustness_and_cutoff():
    """Fig. 4(g-i), item 4 (l. 552): "Increasing D generally enhances both the
    peak values and robustness of quantum correlations ... This increase in D
    raises both the peak and cutoff temperatures of E."

    Robustness = T50 and area; cutoff = sudden-death temperature.  HOLDS for
    robustness and cutoff: Tc = 1.45 -> 3.25 -> 23.7, T50 and area strictly
    increase for all three measures.  The peak values are all 1 (= T -> 0
    value, the ground state is a Bell state for every D), so "enhances the
    peak" is moot (see the next test).
    """
    tc = cutoffs("D")
    assert strictly_increasing(tc), tc
    rows = row4("D")
    for q in RES:
        t50 = [first_below(d["T"], d[q]) for d in rows]
        areas = [area(d["T"], d[q]) for d in rows]
        assert t50[0] < t50[1] < t50[2] or (t50[0] < t50[1] and t50[2] == math.inf), (q, t50)
        assert strictly_increasing(areas), (q, areas)


def test_fig4_item4_moderate_D_reduces_zero_temperature_peak():
    """Fig. 4(h), item 4 (l. 554): "for moderate values, it may slightly
    reduce the peak correlations at T = 0, as seen in Fig. 4(h)."

    DOES NOT HOLD: at T = 0.01 the concurrence is 1 to 1e-6 for D = 0.1, 1
    and 10, and the concurrence for D = 1 is >= that for D = 0.1 at every T
    (the ground state is a maximally entangled zero-quantum state for every
    D, since B = 0.01 is tiny).
    """
    rows = row4("D")
    for d in rows:
        assert d["concurrence"][0] == pytest.approx(1.0, abs=1e-6)
    assert np.all(rows[1]["concurrence"] >= rows[0]["concurrence"] - 1e-9)


def test_fig4_item5_G_keeps_peak_and_improves_robustness():
    """Fig. 4(j-l), item 5 (l. 563): "increasing G maintains the peak values
    of all measures while improving their robustness against temperature."

    PARTIAL.  Peaks are maintained (all within 1 % of 1: min 0.994).  The
    coherence does gain robustness (T50 1.41 -> 2.26 -> >10, area 2.62 ->
    3.62 -> 9.26), but E and D lose it at G = 1 before gaining at G = 10:
    T50(E) 0.64 -> 0.24 -> >10, area(E) 0.665 -> 0.299 -> 8.45,
    area(D) 0.776 -> 0.448 -> 7.82, cutoff Tc 1.40 -> 0.99 -> 21.6
    (at G = 1 a double-quantum level nearly crosses the ground state).
    """
    rows = row4("G")
    for d in rows:
        for q in RES:
            assert d[q].max() >= 0.99, q
    c_t50 = [first_below(d["T"], d["coherence"]) for d in rows]
    assert c_t50[0] < c_t50[1] and c_t50[2] == math.inf
    assert strictly_increasing([area(d["T"], d["coherence"]) for d in rows])
    for q in ("concurrence", "discord"):
        a = [area(d["T"], d[q]) for d in rows]
        assert a[1] < a[0] < a[2], (q, a)
    tc = cutoffs("G")
    assert tc[1] < tc[0] < tc[2], tc


def test_fig4_item6_Delta_raises_cutoff_and_resilience():
    """Fig. 4(m-o), item 6 (l. 569): "increasing Delta ... enhances the
    resilience of all quantum measures to temperature variations, raising
    the cutoff temperature at which entanglement death occurs."  HOLDS:
    Tc = 1.02 -> 1.41 -> 15.9; T50 and area strictly increase for all three
    (T50 of C 0.94 -> 1.39 -> 9.95).
    """
    assert strictly_increasing(cutoffs("Delta"))
    rows = row4("Delta")
    for q in RES:
        t50 = [first_below(d["T"], d[q]) for d in rows]
        assert t50[0] < t50[1] < t50[2] or (t50[0] < t50[1] and t50[2] == math.inf), (q, t50)
        assert strictly_increasing([area(d["T"], d[q]) for d in rows]), q


# ==========================================================================
# Figs. 5-9 — battery metrics versus Ωt in [0, π]
# ==========================================================================
@pytest.mark.parametrize("number", [5, 6, 7, 8, 9])
def test_fig5_capacity_constant_in_time(number):
    """Fig. 5 (l. 605) and Figs. 6-9: "capacity, which is constant in time".
    Constant = peak-to-peak over Ωt below 1e-12 * max(1, Q).  HOLDS (the
    capacity is unitarily invariant).
    """
    _, traces = battery(number)
    for tr in traces:
        assert np.ptp(tr.capacity) <= 1e-12 * max(1.0, float(tr.capacity.max()))


@pytest.mark.parametrize("number", [5, 6, 7, 8, 9])
def test_fig5_E_and_P_zero_at_start_Q_nonzero(number):
    """Fig. 5 (l. 606): "At Ωt = 0, E and P are zero due to the initial Gibbs
    state.  Q is non-zero."  |E(0)|, |P(0)| <= 1e-12 * max(1, ||H||) and
    Q >= 0.3.  HOLDS in every curve of Figs. 5-9.
    """
    _, traces = battery(number)
    for tr in traces:
        scale = max(1.0, float(np.abs(tr.model.hamiltonian_array()).max()))
        assert abs(tr.ergotropy[0]) <= 1e-12 * scale
        assert abs(tr.power[0]) <= 1e-12 * scale
        assert tr.capacity[0] > 0.3


def test_fig5_all_metrics_peak_at_same_time():
    """Fig. 5 (l. 604): "All metrics peak at the same Ωt values except
    capacity."

    DOES NOT HOLD: for every Delta the ergotropy peaks at Ωt = π/4, the power
    (its derivative) at π/8, and the coherence never at π/4: its maxima sit
    at odd multiples of π/8 (equal by symmetry, so which one argmax picks is
    a rounding tie; all near-maximal samples are checked).
    """
    values, traces = battery(5)
    tau = traces[0].omega_t
    step = tau[1] - tau[0]
    for tr in traces:
        assert tau[np.argmax(tr.ergotropy)] == pytest.approx(PI / 4, abs=step / 2)
        assert tau[np.argmax(tr.power)] == pytest.approx(PI / 8, abs=step / 2)
        top = tau[tr.coherence >= tr.coherence.max() - 1e-9]
        eighths = {round(float(t) / (PI / 8)) for t in top}
        assert eighths and eighths <= {1, 3, 5, 7}, eighths


def test_fig5_full_charge_at_pi_over_4():
    """Fig. 5 (l. 610): "The QB's full charging time is marked by the peak of
    E at [OCR: 'T = jg-', read as Ωt = π/4]".

    HOLDS for Fig. 5 exactly: with B = D = G = 0 the ergotropy is
    E(Ωt) = E_max sin^2(2Ωt) (to 1e-12 relative) for every Delta, so the
    battery is full at Ωt = π/4.  Same in Fig. 7 (every T).  With B, G or D
    nonzero the charging time moves towards π/2 (Figs. 6, 8, 9 tests).
    """
    for number in (5, 7):
        _, traces = battery(number)
        for tr in traces:
            e = tr.ergotropy
            emax = float(e.max())
            assert np.abs(e - emax * np.sin(2 * tr.omega_t) ** 2).max() <= 1e-12 * max(1.0, emax)
            assert tr.power.max() == pytest.approx(2 * emax, rel=1e-9)  # P = 2 E_max sin(4Ωt)


def test_fig5_Delta_enhances_E_and_P():
    """Fig. 5 (l. 611): "Increasing Delta enhances E ... and increases P".
    HOLDS: E_max 1.70 -> 4.41 -> 8.95 -> 13.0 -> 25.0 and P_max = 2 E_max
    for Delta = 1, 2, 4, 6, 12.
    """
    _, rows = summary(5)
    assert strictly_increasing(col(rows, "Emax"))
    assert strictly_increasing(col(rows, "Pmax"))
    assert rows[-1]["Emax"] == pytest.approx(25.0, rel=1e-6)


def test_fig5_Delta_narrows_ergotropy_peak():
    """Fig. 5 (l. 611): "Increasing Delta ... narrows its peak".

    DOES NOT HOLD: E(Ωt)/E_max = sin^2(2Ωt) for every Delta, so the full width
    at half maximum is π/4 for all five curves (the normalised curves agree
    to 1e-12).
    """
    _, traces = battery(5)
    shapes = [tr.ergotropy / tr.ergotropy.max() for tr in traces]
    for s in shapes[1:]:
        assert np.abs(s - shapes[0]).max() < 1e-12
    tau = traces[0].omega_t
    half = tau[(shapes[0] >= 0.5) & (tau <= PI / 2)]
    assert half[-1] - half[0] == pytest.approx(PI / 4, abs=2 * (tau[1] - tau[0]))


def test_fig5_Q_rises_with_Delta():
    """Fig. 5 (l. 613): "Q rises with Delta, but remains constant in time".
    HOLDS: Q = 1.72 -> 4.42 -> 8.95 -> 13.0 -> 25.0.
    """
    _, rows = summary(5)
    assert strictly_increasing(col(rows, "Q"))


def test_fig5_coherence_saturates_while_E_P_Q_rise_incoherent_ergotropy():
    """Fig. 5 (l. 630): "Despite coherence saturation at [Delta = 3 / C = 3],
    metrics like E, P, and Q continue to increase, suggesting that ergotropy
    extraction improves beyond coherence saturation due to incoherent
    effects."

    Saturation = C_max within 1 % of its bound 3 (the l1 maximum for two
    qubits) from Delta = 4 on (2.977, 2.9986, 3.0000; 2.90 at Delta = 3);
    E, P, Q grow 2.8x from Delta = 4 to 12.  Incoherent = the incoherent
    ergotropy (ergotropy of the state dephased in the eigenbasis of H,
    Francica et al.) at full charge.  HOLDS: at Ωt = π/4 the ergotropy is
    entirely incoherent (coherent part <= 1e-9 E) for every Delta.
    """
    values, traces = battery(5)
    _, rows = summary(5)
    cmax = col(rows, "Cmax")
    assert all(c <= 3.0 + 1e-9 for c in cmax)
    for v, c in zip(values, cmax):
        if v >= 4:
            assert c >= 0.99 * 3.0
    i4, i12 = values.index(4), values.index(12)
    for key in ("Emax", "Pmax", "Q"):
        assert rows[i12][key] > 2.5 * rows[i4][key]
    for tr in traces:
        k = int(np.argmax(tr.ergotropy))
        _, vecs = tr.model.spectrum_array()
        h = tr.model.hamiltonian_array()
        r = vecs.conj().T @ tr.rho[k] @ vecs
        dephased = vecs @ np.diag(np.diag(r)) @ vecs.conj().T
        e_inc = measures.ergotropy(dephased, h)
        assert tr.ergotropy[k] - e_inc <= 1e-9 * tr.ergotropy[k]


def test_fig6_E_rises_to_a_peak_then_declines():
    """Fig. 6 (l. 637): "E increases with Ωt, reaching a peak before
    declining."  E non-decreasing on [0, Ωt*] and lower again by Ωt* + π/8.
    HOLDS for every B.
    """
    _, traces = battery(6)
    for tr in traces:
        e = tr.ergotropy
        k = int(np.argmax(e))
        assert np.all(np.diff(e[: k + 1]) >= -1e-12)
        later = tr.omega_t <= tr.omega_t[k] + PI / 8
        assert e[later].max() == e[k] and e[np.nonzero(later)[0][-1]] < e[k]


def test_fig6_B_higher_peak_E_and_longer_charging():
    """Fig. 6 (l. 639): "Higher values of B result in a higher peak E and
    longer charging times."

    PARTIAL.  Charging time Ωt* is non-decreasing: 0.250π, 0.264π, 0.408π,
    0.5π, 0.5π (B = 0, 0.5, 1, 1.5, 2; it saturates at π/2).  The peak E
    first dips (1.2705 -> 1.2670 at B = 0.5, -0.3 %) and then rises
    (1.74, 4.08, 6.82).
    """
    _, rows = summary(6)
    ts = col(rows, "tstar")
    assert all(b >= a for a, b in zip(ts, ts[1:]))
    assert ts[-1] == pytest.approx(PI / 2, abs=1e-9) and ts[-2] == pytest.approx(PI / 2, abs=1e-9)
    e = col(rows, "Emax")
    assert e[1] < e[0] and strictly_increasing(e[1:]), e


def test_fig6_P_larger_amplitude_lower_frequency_with_B():
    """Fig. 6 (l. 640): "P oscillates, with larger B leading to higher
    amplitude oscillations, lower frequency".

    PARTIAL.  Frequency (sign changes of P in (0, π)) falls: 3, 3, 3, 1, 1.
    The amplitude P_max is not monotone: 2.54 -> 2.41 -> 2.38 (falls up to
    B = 1) -> 4.12 -> 7.24.
    """
    _, rows = summary(6)
    z = col(rows, "Pzeros")
    assert all(b <= a for a, b in zip(z, z[1:])) and z[0] > z[-1]
    p = col(rows, "Pmax")
    assert strictly_decreasing(p[:3]) and strictly_increasing(p[2:]), p


def test_fig6_Q_increases_with_B():
    """Fig. 6 (l. 644): "an increase in B value increases the capacity".
    HOLDS: Q = 1.30 -> 1.73 -> 2.17 -> 4.34 -> 6.95.
    """
    _, rows = summary(6)
    assert strictly_increasing(col(rows, "Q"))


def test_fig6_coherence_oscillations_more_pronounced_with_B():
    """Fig. 6 (l. 645): "The oscillations in C become more pronounced with
    increasing B."  Pronounced = swing max(C) - min(C) over Ωt.

    PARTIAL: the swing first shrinks, 1.084 -> 0.896 -> 0.775 (B <= 1), then
    grows, 1.500 -> 2.288 (B = 1.5, 2).
    """
    _, rows = summary(6)
    s = col(rows, "Cswing")
    assert strictly_decreasing(s[:3]) and strictly_increasing(s[2:]), s


def test_fig7_T_lowers_peak_E_without_changing_charging_rate():
    """Fig. 7 (l. 654): "Higher temperatures lower the peak values of E
    without greatly affecting the charging rate".  HOLDS: E_max 1.96 ->
    1.27 -> 0.87 -> 0.65 -> 0.32 for T = 0.5 ... 4, charging time exactly
    π/4 for all.
    """
    _, rows = summary(7)
    assert strictly_decreasing(col(rows, "Emax"))
    step = PI / (BAT_N - 1)
    assert all(abs(t - PI / 4) <= step / 2 for t in col(rows, "tstar"))


def test_fig7_low_T_reaches_peak_later():
    """Fig. 7 (l. 655): "low temperatures (dashed black) reach peak ergotropy
    later compared to high temperatures (thick solid blue)."

    DOES NOT HOLD: with B = D = G = 0, E(Ωt) = E_max(T) sin^2(2Ωt) exactly,
    so every temperature peaks at Ωt = π/4 (asserted in
    test_fig5_full_charge_at_pi_over_4); the peak positions of T = 0.5 and
    T = 4 are the same grid point.
    """
    _, traces = battery(7)
    assert int(np.argmax(traces[0].ergotropy)) == int(np.argmax(traces[-1].ergotropy))


def test_fig7_Q_decreases_nonlinearly_with_T():
    """Fig. 7 (l. 690): "Q remains constant over Ωt but decreases
    nonlinearly with temperature."  Nonlinearly = the secant slopes between
    successive temperatures differ by more than 10 % (here they increase
    monotonically: convex decay).  HOLDS: Q = 1.977, 1.300, 0.898, 0.674,
    0.330; slopes -1.35, -0.81, -0.45, -0.17.
    """
    values, rows = summary(7)
    q = col(rows, "Q")
    assert strictly_decreasing(q)
    slopes = [(b - a) / (tb - ta) for a, b, ta, tb in zip(q, q[1:], values, values[1:])]
    assert strictly_increasing(slopes)
    assert slopes[-1] / slopes[0] < 0.9


def test_fig7_P_and_C_oscillations_shrink_at_high_T():
    """Fig. 7 (l. 691): "Both P and C show reduced oscillation amplitudes at
    high T."  Amplitude = P_max and the swing of C.  HOLDS: P_max 3.92 ->
    0.64, C swing 1.75 -> 0.25, strictly decreasing in T.
    """
    _, rows = summary(7)
    assert strictly_decreasing(col(rows, "Pmax"))
    assert strictly_decreasing(col(rows, "Cswing"))


def test_fig8_G_raises_peak_E_but_slows_charging():
    """Fig. 8 (l. 694): "larger KSEA interaction values increase the peak of E
    but decrease the charging rate".

    PARTIAL.  Charging is slower (Ωt* 0.250π -> 0.250π -> 0.261π -> 0.349π
    -> 0.5π, non-decreasing), but the peak E first falls (1.6955 -> 1.6928
    -> 1.648 for G = 0, 0.1, 0.5) and only then rises (1.891, 6.739).
    """
    _, rows = summary(8)
    ts = col(rows, "tstar")
    assert all(b >= a for a, b in zip(ts, ts[1:])) and ts[-1] > ts[0]
    e = col(rows, "Emax")
    assert strictly_decreasing(e[:3]) and strictly_increasing(e[2:]), e


def test_fig8_P_larger_amplitude_slower_with_G():
    """Fig. 8 (l. 698): "P displays oscillations with larger amplitudes and
    slower frequencies for higher G."

    PARTIAL: slower (sign changes of P 3, 3, 3, 3, 1) but P_max falls
    3.39 -> 3.38 -> 3.17 -> 2.86 before jumping to 7.20 at G = 2.
    """
    _, rows = summary(8)
    z = col(rows, "Pzeros")
    assert all(b <= a for a, b in zip(z, z[1:])) and z[-1] < z[0]
    p = col(rows, "Pmax")
    assert strictly_decreasing(p[:4]) and p[4] > p[0], p


def test_fig8_Q_rises_nonlinearly_with_G():
    """Fig. 8 (l. 699): "Q remains constant but rises nonlinearly at higher
    KSEA values."  Nonlinear = secant slopes strictly increase (convex).
    HOLDS: Q = 1.716, 1.725, 1.900, 2.586, 7.262.
    """
    values, rows = summary(8)
    q = col(rows, "Q")
    assert strictly_increasing(q)
    slopes = [(b - a) / (tb - ta) for a, b, ta, tb in zip(q, q[1:], values, values[1:])]
    assert strictly_increasing(slopes)


def test_fig8_C_peak_increases_frequency_decreases_with_G():
    """Fig. 8 (l. 701): "The peak of C increases with KSEA, but its
    oscillation frequency decreases".

    PARTIAL: fewer oscillations (maxima 8, 4, 4, 4, 2), but the peak of C
    falls 1.379 -> 1.375 -> 1.340 -> 1.294 (G <= 1) before rising to 2.422.
    """
    _, rows = summary(8)
    n = col(rows, "Cmaxima")
    assert all(b <= a for a, b in zip(n, n[1:])) and n[-1] < n[0]
    c = col(rows, "Cmax")
    assert strictly_decreasing(c[:4]) and c[4] > c[0], c


def test_fig9_D_raises_peak_E_but_slows_charging():
    """Fig. 9 (l. 703): "larger D increases E peak values but decreases the
    charging rate".  HOLDS: E_max 1.70 -> 1.72 -> 2.34 -> 3.84 -> 7.78,
    Ωt* 0.250π -> 0.251π -> 0.276π -> 0.329π -> 0.5π.
    """
    _, rows = summary(9)
    assert strictly_increasing(col(rows, "Emax"))
    assert strictly_increasing(col(rows, "tstar"))


def test_fig9_P_larger_amplitude_slower_with_D():
    """Fig. 9 (l. 705): "P shows larger amplitudes and slower frequencies with
    higher DM."  HOLDS: P_max 3.39 -> 3.43 -> 4.28 -> 6.06 -> 9.71; sign
    changes 3, 3, 3, 3, 1.
    """
    _, rows = summary(9)
    assert strictly_increasing(col(rows, "Pmax"))
    z = col(rows, "Pzeros")
    assert all(b <= a for a, b in zip(z, z[1:])) and z[-1] < z[0]


def test_fig9_Q_rises_nonlinearly_with_D():
    """Fig. 9 (l. 707): "Q remains constant but increases nonlinearly at
    higher D values."  HOLDS: Q = 1.716, 1.767, 2.652, 4.057, 8.014, secant
    slopes strictly increasing.
    """
    values, rows = summary(9)
    q = col(rows, "Q")
    assert strictly_increasing(q)
    slopes = [(b - a) / (tb - ta) for a, b, ta, tb in zip(q, q[1:], values, values[1:])]
    assert strictly_increasing(slopes)


def test_fig9_C_peak_increases_frequency_decreases_with_D():
    """Fig. 9 (l. 718): "C peaks with increase in D, but at the cost of low
    frequency of oscillation".  HOLDS: C_max 1.379 -> 1.421 -> 1.999 ->
    2.592 -> 2.943; maxima 8, 8, 4, 4, 4.
    """
    _, rows = summary(9)
    assert strictly_increasing(col(rows, "Cmax"))
    n = col(rows, "Cmaxima")
    assert all(b <= a for a, b in zip(n, n[1:])) and n[-1] < n[0]


# ==========================================================================
# Fig. 10 — maps of the temporal maxima (201 x 201, 512 Ωt samples)
# ==========================================================================
def test_fig10_col1_abs_D_enhances_all_metrics():
    """Fig. 10(a,e,i,m) (l. 750): "increasing the absolute value of the DM
    parameter generally enhances all metrics."  Generally = at every Delta
    the value at |D| = 5 is >= the value at D = 0, and most (>= 85 %) unit
    steps in |D| are non-decreasing.  HOLDS (step fractions Q 0.93,
    C 0.88, E 0.985, P 0.91; maps symmetric in D to 1e-12).
    """
    cm = fig10(0)
    n = F10_GRID
    for q in MAPS:
        z = getattr(cm, q)
        tol = 1e-9 * max(1.0, float(z.max()))
        assert np.abs(z - z[::-1]).max() < 1e-12 * max(1.0, float(z.max())), q
        assert np.all(z[-1] >= z[n // 2] - tol) and np.all(z[0] >= z[n // 2] - tol), q
        up = np.diff(z[n // 2:], axis=0)
        assert np.mean(up >= -tol) >= 0.85, q


def test_fig10_col1_positive_Delta_more_pronounced():
    """Fig. 10 column 1 (l. 752): "However, positive values of Delta have a
    more pronounced effect."

    PARTIAL (reading-dependent).  Read as "the metrics are larger for Delta > 0":
    holds -- C_max, E_max, P_max at (Delta, D) exceed those at (-Delta, D) at
    every grid point (Q at 97.7 %); mean E_max 11.3 vs 7.6.  Read as "the
    |D| enhancement is stronger for Delta > 0": does not hold -- the gain
    from D = 0 to |D| = 5 is larger at -Delta than at +Delta for every
    Delta (mean E gain 14.2 vs 19.0).
    """
    cm = fig10(0)
    x = cm.x_values
    n = F10_GRID
    pos, neg = x > 0, x < 0
    for q in ("max_coherence", "max_ergotropy", "max_power"):
        z = getattr(cm, q)
        assert np.all(z[:, pos] > z[:, neg][:, ::-1]), q
        gain = 0.5 * (z[-1] + z[0]) - z[n // 2]
        assert np.all(gain[pos] < gain[neg][::-1]), q
    z = cm.capacity
    assert np.mean(z[:, pos] > z[:, neg][:, ::-1]) > 0.95


def test_fig10_col1_coherence_everywhere_but_capacity_and_work_can_vanish():
    """Fig. 10 column 1 (l. 753): "while quantum coherence remains non-zero
    throughout the parameter range, this does not necessarily translate into
    Q, E_max, or P_max ... QB can have quantum coherence but it lacks
    capacity and hence may not yield work extraction."

    PARTIAL: C_max >= 0.647 everywhere and E_max = P_max = 0 (< 1e-12) at
    (Delta, D) = (-0.5, 0) (where eps = -Delta: H commutes with the charging
    field), but the capacity never vanishes (min Q = 0.775).
    """
    cm = fig10(0)
    assert cm.max_coherence.min() > 0.6
    assert cm.capacity.min() > 0.7
    k = np.unravel_index(np.argmin(cm.max_ergotropy), cm.max_ergotropy.shape)
    assert (cm.x_values[k[1]], cm.y_values[k[0]]) == (pytest.approx(-0.5), pytest.approx(0.0))
    assert abs(cm.max_ergotropy[k]) < 1e-12 and abs(cm.max_power[k]) < 1e-12


def test_fig10_col2_coherence_everywhere_regions_without_work():
    """Fig. 10(b,f,j,n) (l. 760): "coherence remains non-zero across the
    parameter ranges.  However, there are regions where [Q], E_max, and P_max
    are zero".

    PARTIAL: C_max >= 0.647 everywhere; E_max and P_max vanish (< 1e-12)
    only at the isolated point (Delta, G) = (-0.5, 0) and are < 1 % of their
    maxima on 0.6 % of the grid; Q never vanishes (min 0.775).
    """
    cm = fig10(1)
    assert cm.max_coherence.min() > 0.6
    assert cm.capacity.min() > 0.7
    zero = cm.max_ergotropy < 1e-12
    assert zero.sum() == 1
    k = np.argwhere(zero)[0]
    assert (cm.x_values[k[1]], cm.y_values[k[0]]) == (pytest.approx(-0.5), pytest.approx(0.0))
    assert cm.max_power[tuple(k)] < 1e-12
    assert np.mean(cm.max_ergotropy < 0.01 * cm.max_ergotropy.max()) < 0.01


def test_fig10_col3_Cmax_zero_where_positive_Delta_and_eps_comparable():
    """Fig. 10 column 3 (l. 767): "C_max is generally non-zero, except where
    positive values of Delta and eps are comparable ... C_max is zero ...
    capacity is generally nonzero in this region, although ... E_max = 0 and
    P_max = 0."

    DOES NOT HOLD: C_max vanishes only at the origin (Delta = eps = 0, where
    H = 0 and Q = 0 too); on the diagonal eps = Delta >= 0.5, C_max >= 0.91
    and E_max >= 0.65.  (The zero-ergotropy set of the model is the
    anti-diagonal eps = -Delta, next test.)
    """
    cm = fig10(2)
    X, Y = np.meshgrid(cm.x_values, cm.y_values)
    origin = np.isclose(X, 0) & np.isclose(Y, 0)
    assert cm.max_coherence[origin][0] < 1e-12 and cm.capacity[origin][0] < 1e-12
    assert cm.max_coherence[~origin].min() > 0.06
    diag = np.isclose(X, Y) & (X >= 0.5 - 1e-9)
    assert cm.max_coherence[diag].min() > 0.9
    assert cm.max_ergotropy[diag].min() > 0.6


def test_fig10_col3_zero_work_with_capacity_and_coherence_on_antidiagonal():
    """Fig. 10 column 3, the model's version of l. 772-776 ("the QB can still
    store quantum energy ... although this energy is not extractable").

    Model fact: on eps = -Delta the Hamiltonian is a XX + b (YY + ZZ), which
    commutes with the charging field XI + IX, so E_max = P_max = 0 (< 1e-12)
    on the whole line while Q > 0 and C_max > 0 (except at the origin).
    """
    cm = fig10(2)
    X, Y = np.meshgrid(cm.x_values, cm.y_values)
    anti = np.isclose(Y, -X) & ~np.isclose(X, 0)
    assert anti.sum() == F10_GRID - 1
    assert np.abs(cm.max_ergotropy[anti]).max() < 1e-12
    assert np.abs(cm.max_power[anti]).max() < 1e-12
    assert cm.capacity[anti].min() > 0.01
    assert cm.max_coherence[anti].min() > 0.06


def test_fig10_col3_negative_Delta_positive_eps_coherence_without_work():
    """Fig. 10 column 3 (l. 776): "in regions where Delta < 0 and eps > 0,
    C_max remains non-zero, while both E_max and P_max are zero".

    PARTIAL (holds approximately): in the quadrant Delta < 0, eps > 0,
    C_max >= 0.067 everywhere, while E_max and P_max are below 1 % of their
    map maxima on 88.6 % of the quadrant (exactly zero only on eps = -Delta;
    the two lowest levels there, (|00>-|11>)/sqrt2 and the singlet, are dark
    to XI + IX).  In the mirror quadrant Delta > 0, eps < 0 only 12.9 % is
    below 1 %.
    """
    cm = fig10(2)
    X, Y = np.meshgrid(cm.x_values, cm.y_values)
    quad = (X < 0) & (Y > 0)
    assert cm.max_coherence[quad].min() > 0.06
    for q in ("max_ergotropy", "max_power"):
        z = getattr(cm, q)
        assert np.mean(z[quad] < 0.01 * z.max()) > 0.85, q
        assert np.mean(z[(X > 0) & (Y < 0)] < 0.01 * z.max()) < 0.2, q


def test_fig10_col4_all_metrics_decline_with_T():
    """Fig. 10(d,h,l,p) (l. 781): "we observe a consistent decline in all
    metrics with rising temperature".  Decline = value at T = 5 below the
    value at T = 0.05 for every B, and >= 99 % of the T steps
    non-increasing.  HOLDS (Q: every step; C, E, P: the only rises, at most
    0.16, sit at the level crossing B ~ 0.87-1.1 for T < 0.7).
    """
    cm = fig10(3)
    for q in MAPS:
        z = getattr(cm, q)
        tol = 1e-9 * z.max()
        assert np.all(z[-1] < z[0]), q
        assert np.mean(np.diff(z, axis=0) <= tol) >= 0.99, q
    assert np.all(np.diff(cm.capacity, axis=0) <= 1e-9 * cm.capacity.max())


def test_fig10_col4_B_enhances_metrics():
    """Fig. 10(d,h,l,p) (l. 782): "an increase in Zeeman splitting enhances
    these measures, driving them toward their maximum values".

    PARTIAL: Q, E_max, P_max at B = 5 exceed their B = 0 values at every T
    (C_max at 97.5 % of the T values), and for B >= 1.05 every metric is
    non-decreasing in B; but below the level crossing (B < ~1) increasing B
    lowers E_max, P_max and C_max (drops up to 0.34, 1.05, 0.68).
    """
    cm = fig10(3)
    B = cm.x_values
    for q in ("capacity", "max_ergotropy", "max_power"):
        z = getattr(cm, q)
        assert np.all(z[:, -1] > z[:, 0]), q
    assert np.mean(cm.max_coherence[:, -1] > cm.max_coherence[:, 0]) > 0.95
    hi = B >= 1.05
    for q in MAPS:
        z = getattr(cm, q)
        assert np.all(np.diff(z[:, hi], axis=1) >= -1e-9 * z.max()), q
    lo = B <= 1.0
    for q in ("max_coherence", "max_ergotropy", "max_power"):
        z = getattr(cm, q)
        assert np.diff(z[:, lo], axis=1).min() < -0.3, q


# ==========================================================================
# Known findings (recorded in docs/paper-claims.md)
# ==========================================================================
def test_known_a_dephasing_Delta_and_D_effects():
    """(a) From |00> under the DESIGN.md dephasing, Delta has exactly no
    effect when D = 0 (any B, G, eps) and D has exactly no effect when
    B = G = 0 (any Delta, eps); with a Zeeman field (or G) and D != 0 both
    matter (differences of order 0.1 in C)."""
    rng = np.random.default_rng(20240531)
    t = np.linspace(0.0, F3_TMAX, 201)
    for _ in range(5):
        B, G, eps, D, d1, d2 = rng.uniform(-3, 3, 6)
        a = dephase(DipolarModel(B=B, D=0.0, G=G, Delta=d1, epsilon=eps), KET00, t).rho
        b = dephase(DipolarModel(B=B, D=0.0, G=G, Delta=d2, epsilon=eps), KET00, t).rho
        assert np.abs(a - b).max() < 1e-12
        a = dephase(DipolarModel(B=0.0, D=D, G=0.0, Delta=d1, epsilon=eps), KET00, t).rho
        b = dephase(DipolarModel(B=0.0, D=2 * D + 1, G=0.0, Delta=d1, epsilon=eps), KET00, t).rho
        assert np.abs(a - b).max() < 1e-12
    base = dict(B=0.5, D=1.0, G=0.0, Delta=1.0, epsilon=0.5)
    ref = dephase(DipolarModel(**base), KET00, t)
    other_delta = dephase(DipolarModel(**dict(base, Delta=3.0)), KET00, t)
    no_d = dephase(DipolarModel(**dict(base, D=0.0)), KET00, t)
    assert np.abs(ref.coherence - other_delta.coherence).max() > 0.05
    assert np.abs(ref.coherence - no_d.coherence).max() > 0.05
    g = dict(B=0.0, D=1.0, G=1.0, Delta=1.0, epsilon=0.5)
    assert np.abs(dephase(DipolarModel(**g), KET00, t).rho
                  - dephase(DipolarModel(**dict(g, D=0.0)), KET00, t).rho).max() > 0.05


def test_known_b_eq27_literal_capacity_is_minus_4B():
    """(b) Eq. (27) (l. 416), Q = Tr[H rho_e] - Tr[H rho_g] with
    rho_g = |00><00|, rho_e = |11><11|, read literally, is -4B for every
    Delta, eps, D, G and T (it does not depend on the state), whereas the
    paper says Q depends on T and grows with Delta; the Yang et al. capacity
    used here (DESIGN.md §2) does both (Fig. 7: 1.98 -> 0.33, Fig. 5:
    1.72 -> 25.0)."""
    rng = np.random.default_rng(7)
    for _ in range(10):
        p = dict(zip(("B", "D", "G", "Delta", "epsilon"), rng.uniform(-5, 5, 5)))
        h = DipolarModel(**p).hamiltonian_array()
        assert (h[3, 3] - h[0, 0]).real == pytest.approx(-4 * p["B"], abs=1e-12)
    q7 = col(summary(7)[1], "Q")
    q5 = col(summary(5)[1], "Q")
    assert q7[0] > 5 * q7[-1] and q5[-1] > 10 * q5[0]


def test_known_c_work_equals_ergotropy_efficiency_one():
    """(c) The Gibbs start state is passive, so W(Ωt) = E(Ωt) at every Ωt
    and the efficiency W/E is identically 1 where E > 0 (the paper's l. 402,
    "eta = 1 ... when the initial state is passive")."""
    for number in (5, 6, 7, 8, 9):
        for tr in battery(number)[1]:
            scale = max(1.0, float(np.abs(tr.ergotropy).max()))
            assert np.abs(tr.work - tr.ergotropy).max() <= 1e-12 * scale
            ok = tr.ergotropy > 1e-9 * scale
            assert ok.any()
            assert np.allclose(tr.efficiency[ok], 1.0, rtol=0, atol=1e-9)
    rng = np.random.default_rng(3)
    tau = np.linspace(0.0, PI, 257)
    for _ in range(10):
        p = dict(zip(("B", "D", "G", "Delta", "epsilon"), rng.uniform(-3, 3, 5)))
        tr = charge(DipolarModel(**p), float(rng.uniform(0.1, 5)), tau)
        assert np.abs(tr.work - tr.ergotropy).max() <= 1e-12 * max(1.0, float(np.abs(tr.ergotropy).max()))
