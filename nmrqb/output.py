"""The output layer: output folders written in groups of files that land together.

Everything a run produces (a figure's PNG, CSV and JSON today; a report's
files tomorrow) is written through :class:`OutputFolder`.  A *group* of files
is written into a hidden staging folder inside the output folder
(``.nmrqb-stage-<group>-<random>/``) and then committed:

1. a ``COMMIT`` record listing the group's files is written into the staging
   folder (atomically: temporary name, then rename);
2. each file is renamed over its final name (``os.replace``, atomic per file);
3. the staging folder is removed.

The commit point is step 1.  A run killed before it (SIGKILL, power loss)
leaves the old files untouched and a staging folder that the next writer
removes; a run killed after it leaves a staging folder whose ``COMMIT``
record the next writer finishes (rolls forward), so a group is never left
half old and half new once anyone writes to the folder again.  SIGINT and
SIGTERM (handled by the CLI as exceptions) clean up at once: a staging
folder without a commit record is removed, one with a record is finished.
Writers of the same folder serialise on an ``fcntl`` lock
(``.nmrqb.lock``); the kernel drops the lock of a killed process.

Provenance (package versions) lives here too.  This module does no physics
and knows nothing about what the files contain.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from nmrqb.errors import DataError

try:  # POSIX only; elsewhere writers are not serialised
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["OutputFolder", "Group", "check_out_dir", "versions"]

STAGE_PREFIX = ".nmrqb-stage-"
LOCK_NAME = ".nmrqb.lock"
COMMIT_NAME = "COMMIT"
#: temporary files left by nmrqb 0.1's per-file atomic writes (``.fig5.csv.ab12cd_x.tmp``)
_LEGACY_TMP = re.compile(r"^\.fig\d+\.(png|csv|json)\.[A-Za-z0-9_]{8}\.tmp$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def _oserror(out: Path, what: str, exc: OSError) -> DataError:
    return DataError(f"--out {str(out)!r}: {what}: {exc.strerror or exc}")


def _out_path(out_dir) -> Path:
    """``--out`` as a Path: refuses an empty name, a non-path and a NUL."""
    if out_dir is None or (isinstance(out_dir, str) and out_dir.strip() == ""):
        raise DataError("--out '' is not allowed: give an output folder")
    if not isinstance(out_dir, (str, os.PathLike)):
        raise DataError(f"--out {out_dir!r:.60} is not allowed: give an output folder path")
    if "\x00" in str(out_dir):
        raise DataError(f"--out {str(out_dir)!r:.80} is not allowed: a path cannot hold a NUL character")
    return Path(out_dir)


def write_atomic(path, content) -> Path:
    """Write one file by temp-and-rename (the sweep's files; ``figure``,
    ``run`` and ``fit`` stage whole folders instead): a reader sees the old
    file or the new one, never half of one, and a failure leaves no
    temporary file.  ``content`` is text, bytes, or a callable that writes to the
    path it is given (``lambda p: fig.savefig(p, format="png")``).  Returns
    the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        if isinstance(content, str):
            tmp.write_text(content, encoding="utf-8")
        elif isinstance(content, (bytes, bytearray)):
            tmp.write_bytes(bytes(content))
        else:
            content(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def check_out_dir(out_dir) -> Path:
    """Validate an output folder and create it if missing; return its path.

    Raises :class:`~nmrqb.errors.DataError` (one line naming ``--out``) for an
    empty name, a path that exists and is not a folder, a folder that cannot
    be created, or one that is not writable.  Call it only after every other
    argument has been validated: it creates the folder.
    """
    out = _out_path(out_dir)
    try:
        if out.exists() and not out.is_dir():
            raise DataError(f"--out {str(out)!r} is not a folder")
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"--out {str(out)!r} cannot be created: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise DataError(f"--out {str(out)!r} is not writable")
    return out


class Group:
    """The staging side of one group of files; see :meth:`OutputFolder.group`."""

    def __init__(self, folder: OutputFolder, stage: Path):
        self._folder = folder
        self._stage = stage
        self._names: list[str] = []

    def path(self, name: str) -> Path:
        """The staging path of file ``name`` (write it there; it lands at
        ``folder / name`` when the group commits)."""
        if not isinstance(name, str) or not _SAFE_NAME.match(name) or name == COMMIT_NAME:
            raise DataError(f"output file name {name!r:.80} is not allowed: letters, digits, '.', '_', '-'")
        if name not in self._names:
            self._names.append(name)
        return self._stage / name

    def write(self, name: str, write: Callable[[IO], None], binary: bool = False) -> Path:
        """Call ``write(fh)`` on a new staging file ``name``; return its final path."""
        p = self.path(name)
        try:
            with open(p, "wb" if binary else "w", **({} if binary else {"newline": "", "encoding": "utf-8"})) as fh:
                write(fh)
        except OSError as exc:
            raise _oserror(self._folder.path, f"cannot write {name}", exc) from None
        return self._folder.path / name

    def write_text(self, name: str, text: str) -> Path:
        return self.write(name, lambda fh: fh.write(text))

    def write_json(self, name: str, obj) -> Path:
        return self.write(name, lambda fh: (json.dump(obj, fh, indent=2, allow_nan=False), fh.write("\n")))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._names)


class OutputFolder:
    """An output folder whose files are written in groups that land together.

    >>> out = OutputFolder("figures")                # validated and created
    >>> with out.group("fig5") as g:                 # doctest: +SKIP
    ...     g.write("fig5.csv", write_rows)
    ...     g.write("fig5.png", savefig, binary=True)
    ...     g.write_json("fig5.json", info)
    # all three files are replaced together here, or none is
    """

    def __init__(self, path):
        self.path = check_out_dir(path)

    # -- locking and recovery ------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        try:
            fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise _oserror(self.path, f"cannot create {LOCK_NAME}", exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def recover(self) -> list[str]:
        """Finish or discard what killed writers left behind; return what was done.

        Staging folders with a ``COMMIT`` record are rolled forward (their
        files replace the final ones); those without are removed, as are the
        per-file temporary files of nmrqb 0.1.  Runs under the folder lock.
        """
        with self._locked():
            return self._recover()

    def _recover(self) -> list[str]:
        done = []
        try:
            entries = list(os.scandir(self.path))
        except OSError as exc:
            raise _oserror(self.path, "cannot list the folder", exc) from None
        for e in entries:
            if e.name.startswith(STAGE_PREFIX) and e.is_dir(follow_symlinks=False):
                stage = Path(e.path)
                if (stage / COMMIT_NAME).is_file():
                    self._roll_forward(stage)
                    done.append(f"finished {e.name}")
                else:
                    done.append(f"removed {e.name}")
                shutil.rmtree(stage, ignore_errors=True)
            elif _LEGACY_TMP.match(e.name) and e.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(e.path)
                done.append(f"removed {e.name}")
        return done

    def _roll_forward(self, stage: Path) -> None:
        try:
            names = json.loads((stage / COMMIT_NAME).read_text(encoding="utf-8"))["files"]
        except (OSError, ValueError, KeyError, TypeError):
            return  # a commit record is written atomically; an unreadable one is not ours
        for name in names:
            if isinstance(name, str) and _SAFE_NAME.match(name) and (stage / name).exists():
                try:
                    os.replace(stage / name, self.path / name)
                except OSError as exc:
                    raise _oserror(self.path, f"cannot replace {name}", exc) from None

    # -- groups --------------------------------------------------------------
    @contextlib.contextmanager
    def group(self, name: str) -> Iterator[Group]:
        """Stage a group of files; on a normal exit they all replace their final
        names together.  On an exception (also KeyboardInterrupt or the CLI's
        SIGTERM) before the commit point nothing changes in the folder."""
        if not isinstance(name, str) or not _SAFE_NAME.match(name):
            raise DataError(f"output group name {name!r:.80} is not allowed")
        with self._locked():
            self._recover()
            try:
                stage = self.path / f"{STAGE_PREFIX}{name}-{secrets.token_hex(4)}"
                stage.mkdir(mode=0o700)
            except OSError as exc:
                raise _oserror(self.path, "cannot create a staging folder", exc) from None
            committed = False
            try:
                g = Group(self, stage)
                yield g
                with _signals_held():
                    self._commit(stage, g.names)
                    committed = True
                    self._roll_forward(stage)
            finally:
                if committed:
                    self._roll_forward(stage)  # idempotent: finishes an interrupted roll-forward
                shutil.rmtree(stage, ignore_errors=True)

    def _commit(self, stage: Path, names: tuple[str, ...]) -> None:
        for n in names:
            if not (stage / n).is_file():
                raise DataError(f"--out {str(self.path)!r}: {n} was announced but not written")
            target = self.path / n
            if target.exists() and not target.is_file():
                raise DataError(f"--out {str(self.path)!r}: cannot write {n}: a folder or special file of that "
                                "name is in the way (nothing of the group was written)")
        tmp = stage / f".{COMMIT_NAME}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"files": list(names)}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, stage / COMMIT_NAME)
        except OSError as exc:
            raise _oserror(self.path, "cannot write the commit record", exc) from None


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT/SIGTERM during a commit (a few renames): a group is
    committed whole, then the signal is delivered."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def versions() -> dict[str, str]:
    """Versions of the packages that produced an output (for provenance)."""
    import platform

    import matplotlib
    import numpy
    import qutip
    import scipy

    from nmrqb import __version__

    return {
        "nmrqb": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "qutip": qutip.__version__,
        "matplotlib": matplotlib.__version__,
    }


# --------------------------------------------------------------------------
# whole output folders (a run): staged beside the target, swapped in at the end
# --------------------------------------------------------------------------
_RUN_TMP = re.compile(r"^\.(?P<name>.+)\.nmrqb-(?P<kind>new|old)-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of an earlier run in a reused pid, never one of ours in flight
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: The files that mark a folder nmrqb wrote (and may replace with --force).
RUN_MARKERS = {"results.json": "nmrqb.results/", "fit.json": "nmrqb.fit/"}


def _is_run_folder(path: Path) -> bool:
    """A folder nmrqb wrote: it holds results.json (a run) or fit.json (a
    fit) of nmrqb's format."""
    for name, prefix in RUN_MARKERS.items():
        try:
            with open(path / name, encoding="utf-8") as fh:
                head = json.load(fh)
            if isinstance(head, dict) and str(head.get("format", "")).startswith(prefix):
                return True
        except (OSError, ValueError):
            continue
    return False


#: What a run or a fit writes at its top level (each Bruker data set holds pulses.bruker.WRITTEN_FILES).
_RUN_FILES = {"results.json", "report.html", "protocol.toml", "fit.json", "fit.html", "bruker"}


def _foreign_files(path: Path) -> list[str]:
    """Paths (relative to ``path``) inside an earlier run folder that no run
    or fit writes: processed data (``pdata/``) TopSpin added, a user's notes,
    anything else.  Replacing the folder would delete them."""
    from pulses.bruker import WRITTEN_FILES

    out = []
    for e in sorted(os.scandir(path), key=lambda e: e.name):
        if e.name not in _RUN_FILES:
            out.append(e.name)
        elif e.name == "bruker":
            if not e.is_dir(follow_symlinks=False):
                out.append(e.name)
                continue
            for b in sorted(os.scandir(e.path), key=lambda e: e.name):
                if b.name == "manifest.json" and b.is_file(follow_symlinks=False):
                    continue
                if not (b.name.isdigit() and b.is_dir(follow_symlinks=False)):
                    out.append(f"bruker/{b.name}")
                    continue
                out += [f"bruker/{b.name}/{f.name}" for f in sorted(os.scandir(b.path), key=lambda e: e.name)
                        if f.name not in WRITTEN_FILES or not f.is_file(follow_symlinks=False)]
    return out


def check_run_dir(out_dir, force: bool = False) -> Path:
    """Validate the output folder of a run *before* the run: it must not
    exist, be empty, or (with ``force``) hold an earlier nmrqb run
    (``results.json``) and nothing a run does not write.  Anything else —
    a folder nmrqb did not write, or a run folder where TopSpin added
    processed data (``pdata/``) or a user added a file — is refused even
    with ``force``: nmrqb never deletes what it did not write.  Returns the
    path (not created)."""
    out = _out_path(out_dir)
    try:
        if out.is_symlink() or (out.exists() and not out.is_dir()):
            raise DataError(f"--out {str(out)!r} exists and is not a folder")
        if out.exists() and any(out.iterdir()):
            if not force:
                raise DataError(f"--out {str(out)!r} exists and is not empty: pass --force to replace an earlier run, "
                                "or choose another folder")
            if not _is_run_folder(out):
                raise DataError(f"--out {str(out)!r} holds files that are not an nmrqb run (no results.json or "
                                "fit.json): nmrqb does not replace it, even with --force")
            foreign = _foreign_files(out)
            if foreign:
                shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
                raise DataError(f"--out {str(out)!r} holds files an nmrqb run did not write ({shown}): replacing "
                                "the run would delete them, so nmrqb does not, even with --force; move them "
                                "or choose another folder")
        parent = out.resolve().parent
        while not parent.exists():
            parent = parent.parent
        if not os.access(parent if not out.exists() else out.resolve().parent, os.W_OK | os.X_OK):
            raise DataError(f"--out {str(out)!r} cannot be created: its parent folder is not writable")
    except OSError as exc:
        raise DataError(f"--out {str(out)!r} cannot be used: {exc.strerror or exc}") from None
    return out


def _clean_run_leftovers(out: Path) -> None:
    """Remove staging folders of killed runs for ``out``; put back an old
    run that a killed swap left aside."""
    parent = out.parent if str(out.parent) else Path(".")
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for e in entries:
        m = _RUN_TMP.match(e.name)
        if not m or m.group("name") != out.name or _pid_alive(int(m.group("pid"))):
            continue
        if m.group("kind") == "old" and not out.exists():
            with contextlib.suppress(OSError):
                os.replace(e.path, out)
                continue
        shutil.rmtree(e.path, ignore_errors=True)


@contextlib.contextmanager
def staged_run_dir(out_dir, force: bool = False) -> Iterator[Path]:
    """Write a whole run into a staging folder beside ``out_dir`` and swap
    it in at the end: an interrupted run never leaves a folder that looks
    complete, and an earlier run is replaced only on success (and only with
    ``force``, see :func:`check_run_dir`)."""
    out = check_run_dir(out_dir, force)
    _clean_run_leftovers(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = out.parent / f".{out.name}.nmrqb-new-{os.getpid()}-{secrets.token_hex(4)}.tmp"
        stage.mkdir()
    except OSError as exc:
        raise DataError(f"--out {str(out)!r} cannot be created: {exc.strerror or exc}") from None
    try:
        yield stage
        with _signals_held():
            check_run_dir(out, force)  # nothing else appeared meanwhile
            old = None
            if out.exists():
                old = out.parent / f".{out.name}.nmrqb-old-{os.getpid()}-{secrets.token_hex(4)}.tmp"
                os.replace(out, old)
            try:
                os.replace(stage, out)
            except OSError:
                if old is not None:
                    os.replace(old, out)
                raise
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise DataError(f"--out {str(out)!r}: cannot write the run: {exc.strerror or exc}") from None
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
