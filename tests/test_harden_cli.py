"""Issue 8, CLI and output layer: nothing lost, one line per user error.

The kill tests kill a real process (SIGKILL at a chosen point of a write,
SIGTERM/SIGINT during ``nmrqb figure all``) and then look at the folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmrqb import cli
from nmrqb.errors import DataError, NmrqbError, PhysicsError, ProtocolError
from nmrqb.output import COMMIT_NAME, STAGE_PREFIX, OutputFolder


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "nmrqb", *args], capture_output=True, text=True, timeout=120, **kw)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def old_figure(folder: Path, n: int = 5) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    for ext in ("png", "csv", "json"):
        (folder / f"fig{n}.{ext}").write_text(f"old {ext}")
    (folder / "notes.txt").write_text("the user's own notes")
    return tree(folder)


# -- validate first, create after --------------------------------------------------
@pytest.mark.parametrize("which, shown", [("11", "11"), ("2", "2"), ("abc", "'abc'"), ("3.5", "'3.5'"), ("", "''")])
def test_bad_figure_number_is_rejected_before_the_folder_is_created(tmp_path, which, shown):
    out = tmp_path / "newdir"
    p = run("figure", which, "--out", str(out))
    assert p.returncode == 1
    assert p.stderr.strip() == f"nmrqb: error: figure {shown} is not allowed: choose 3 to 10 or 'all'"
    assert not out.exists()


def test_bad_figure_number_is_a_protocol_error_in_the_library():
    from nmrqb import figures

    with pytest.raises(ProtocolError, match="figure 11 is not allowed"):
        figures.build(11)


def test_out_path_that_is_a_file_is_a_one_line_data_error(tmp_path):
    f = tmp_path / "afile"
    f.write_text("keep me")
    with pytest.raises(DataError, match="is not a folder"):
        OutputFolder(f)
    assert f.read_text() == "keep me"


# -- groups land together -----------------------------------------------------------
def test_failure_while_writing_a_group_leaves_the_old_files_and_no_litter(tmp_path):
    before = old_figure(tmp_path)
    out = OutputFolder(tmp_path)
    with pytest.raises(RuntimeError, match="disk on fire"):
        with out.group("fig5") as g:
            g.write_text("fig5.png", "new png")
            g.write_text("fig5.csv", "new csv")
            raise RuntimeError("disk on fire")
    assert tree(tmp_path) == {**before, ".nmrqb.lock": b""}


def test_a_group_replaces_all_its_files(tmp_path):
    old_figure(tmp_path)
    out = OutputFolder(tmp_path)
    with out.group("fig5") as g:
        for ext in ("png", "csv", "json"):
            g.write_text(f"fig5.{ext}", f"new {ext}")
        assert (tmp_path / "fig5.png").read_text() == "old png"  # nothing lands before the commit
    for ext in ("png", "csv", "json"):
        assert (tmp_path / f"fig5.{ext}").read_text() == f"new {ext}"
    assert (tmp_path / "notes.txt").read_text() == "the user's own notes"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGE_PREFIX)]


def test_a_folder_in_the_way_stops_the_group_before_anything_lands(tmp_path):
    old_figure(tmp_path)
    (tmp_path / "fig5.png").unlink()
    (tmp_path / "fig5.png").mkdir()
    with pytest.raises(DataError, match="cannot write fig5.png"):
        with OutputFolder(tmp_path).group("fig5") as g:
            for ext in ("csv", "json", "png"):
                g.write_text(f"fig5.{ext}", f"new {ext}")
    assert (tmp_path / "fig5.csv").read_text() == "old csv"
    assert (tmp_path / "fig5.json").read_text() == "old json"


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from nmrqb.output import OutputFolder

    folder, point = sys.argv[1], sys.argv[2]
    real_replace = os.replace
    def replace(a, b):
        real_replace(a, b)
        if point == "after-first-rename" and str(b).endswith(".png"):
            os.kill(os.getpid(), signal.SIGKILL)
    os.replace = replace
    with OutputFolder(folder).group("fig5") as g:
        g.write_text("fig5.png", "new png")
        if point == "mid-write":
            os.kill(os.getpid(), signal.SIGKILL)
        g.write_text("fig5.csv", "new csv")
        g.write_text("fig5.json", "new json")
    """
)


def _kill_during_write(folder: Path, point: str) -> None:
    p = subprocess.run([sys.executable, "-c", _KILLER, str(folder), point], capture_output=True, text=True, timeout=60)
    assert p.returncode == -signal.SIGKILL, p.stderr


def test_sigkill_before_the_commit_point_keeps_the_old_group_and_the_next_run_cleans_up(tmp_path):
    before = old_figure(tmp_path)
    # litter of nmrqb 0.1 killed runs (per-file temporaries) is cleaned too
    (tmp_path / ".fig5.csv.ab12cd_x.tmp").write_bytes(b"x" * 1000)
    for _ in range(3):  # killed runs do not pile up
        _kill_during_write(tmp_path, "mid-write")
    # each run removed what the killed one before it left: one staging folder, no commit record
    stages = [p for p in tmp_path.iterdir() if p.name.startswith(STAGE_PREFIX)]
    assert len(stages) == 1 and not (stages[0] / COMMIT_NAME).exists()
    assert not (tmp_path / ".fig5.csv.ab12cd_x.tmp").exists()
    assert {k: v for k, v in tree(tmp_path).items() if not k.startswith(".")} == before
    done = OutputFolder(tmp_path).recover()
    assert done == [f"removed {stages[0].name}"]
    assert tree(tmp_path) == {**before, ".nmrqb.lock": b""}


def test_sigkill_after_the_commit_point_is_rolled_forward_by_the_next_writer(tmp_path):
    old_figure(tmp_path)
    _kill_during_write(tmp_path, "after-first-rename")
    # the moment after the kill: png is new, csv and json still old ...
    assert (tmp_path / "fig5.png").read_text() == "new png"
    assert (tmp_path / "fig5.csv").read_text() == "old csv"
    # ... and the next writer of the folder finishes the group before doing anything else
    with OutputFolder(tmp_path).group("other") as g:
        g.write_text("other.txt", "x")
    for ext in ("png", "csv", "json"):
        assert (tmp_path / f"fig5.{ext}").read_text() == f"new {ext}"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGE_PREFIX)]


@pytest.mark.parametrize("sig, code, line", [
    (signal.SIGTERM, 143, "nmrqb: interrupted (SIGTERM)"),
    (signal.SIGINT, 130, "nmrqb: interrupted"),
])
def test_signal_during_figure_all_is_one_line_and_leaves_only_whole_groups(tmp_path, sig, code, line):
    out = tmp_path / "figs"
    old_figure(out, 4)
    proc = subprocess.Popen([sys.executable, "-m", "nmrqb", "figure", "all", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # Fig. 3 is written
    assert first.startswith("Fig. 3:"), first
    time.sleep(0.5)  # now inside Fig. 4 (computing or writing)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert err.strip() == line
    names = {p.name for p in out.iterdir()}
    assert not [n for n in names if n.startswith(STAGE_PREFIX) or n.endswith(".tmp")]
    for n in range(3, 11):
        have = {f"fig{n}.{e}" for e in ("png", "csv", "json")} & names
        assert len(have) in (0, 3), (n, have)
    assert {"fig3.png", "fig3.csv", "fig3.json"} <= names
    four = [(out / f"fig4.{e}").read_bytes() for e in ("png", "csv", "json")]
    assert all(b.startswith(b"old") for b in four) or not any(b.startswith(b"old") for b in four)


# -- one error contract ----------------------------------------------------------------
@pytest.mark.parametrize("modname, clsname", [
    ("nmrqb.errors", "PhysicsError"), ("nmrqb.errors", "DataError"),
    ("pulses.errors", "SequenceError"), ("pulses.errors", "DataError"),
    ("tomography.errors", "StateError"), ("tomography.errors", "DataError"),
])
def test_every_packages_user_errors_are_one_line_and_exit_1(monkeypatch, capsys, modname, clsname):
    import importlib

    cls = getattr(importlib.import_module(modname), clsname)

    def boom(args):
        raise cls("field x = 3 is not allowed:\n  it must be\tsmaller")

    monkeypatch.setattr(cli, "_cmd_state", boom)
    assert cli.main(["state"]) == 1
    cap = capsys.readouterr()
    assert cap.err == "nmrqb: error: field x = 3 is not allowed: it must be smaller\n"


def test_keyboard_interrupt_in_a_command_is_one_line(monkeypatch, capsys):
    def boom(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_state", boom)
    assert cli.main(["state"]) == 130
    assert capsys.readouterr().err == "nmrqb: interrupted\n"


def test_ctrl_c_that_a_library_turns_into_another_error_is_still_an_interruption(monkeypatch, capsys):
    # asteval 1.0 (lmfit's expression evaluator) catches KeyboardInterrupt
    # and raises AttributeError; seen as a flaky exit 1 with a traceback when
    # Ctrl-C landed while lmfit parsed a parameter expression.
    import asteval

    def boom(args):
        interp = asteval.Interpreter()
        real_parse = asteval.asteval.ast.parse

        def slow_parse(text, *a, **k):
            os.kill(os.getpid(), signal.SIGINT)  # delivered inside asteval's try
            return real_parse(text, *a, **k)

        monkeypatch.setattr(asteval.asteval.ast, "parse", slow_parse)
        try:
            interp.parse("a + b")
        finally:
            monkeypatch.setattr(asteval.asteval.ast, "parse", real_parse)
        return 0

    monkeypatch.setattr(cli, "_cmd_state", boom)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in an interactive shell
    try:
        assert cli.main(["state"]) == 130
        assert capsys.readouterr().err == "nmrqb: interrupted\n"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    finally:
        signal.signal(signal.SIGINT, before)


def test_bugs_are_not_disguised_as_user_errors(monkeypatch):
    def boom(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_cmd_state", boom)
    with pytest.raises(ZeroDivisionError):
        cli.main(["state"])


@pytest.mark.parametrize("value", ["1e308", "-1e308", "1.7976931348623157e308", "1e200"])
def test_state_with_huge_parameters_is_one_line_without_warnings(value):
    p = run("state", "--B", value)
    assert p.returncode in (0, 1)
    if p.returncode == 1:
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nmrqb: error: ") and "B" in lines[0], p.stderr
    else:
        assert p.stderr == ""


# -- the CLI under fuzzing ---------------------------------------------------------------
_token = st.one_of(
    st.sampled_from(["state", "figure", "validate", "protocol", "show", "--B", "--D", "--G", "--Delta", "--epsilon", "--T", "--json", "--out",
                     "all", "--help", "-h", "--version", "nan", "inf", "-inf", "1e308", "-1e308", "0", "-0",
                     "1e-320", "12", "3.0", "", " ", "--B=1e400", "--T=-0", "\x00", "é"]),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
)


# the deadline bounds a hang (must show 2); a first call may import matplotlib/qutip, hence 20 s
@settings(max_examples=150, deadline=20000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(_token, max_size=6))
def test_cli_fuzz_outcome_is_a_result_a_one_line_error_or_usage(argv, tmp_path_factory, capsys):
    if "figure" in argv:  # never compute a real figure here (seconds each); point --out at a scratch folder
        argv = [a for a in argv if a not in ("all",) and not a.strip().isdigit()]
        if "--out" in argv:
            i = argv.index("--out")
            argv[i + 1:i + 2] = [str(tmp_path_factory.mktemp("out") / "o")]
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse: --help / --version (0) and malformed command lines (2)
        code = exc.code
        assert code in (0, 2), argv
    else:
        assert code in (0, 1), argv
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err
    if code == 1:
        assert cap.err.count("\n") == 1 and cap.err.startswith("nmrqb: error: "), cap.err
    if code == 0 and "state" in argv and "--help" not in argv and "-h" not in argv:
        assert "nan" not in cap.out.lower() and "inf" not in cap.out.lower().replace("information", "")


def test_errors_keep_their_package_base_and_valueerror():
    import pulses.errors as pe
    import tomography.errors as te

    for cls in (PhysicsError, ProtocolError, DataError):
        assert issubclass(cls, NmrqbError) and issubclass(cls, ValueError)
    for cls in (pe.SpinSystemError, pe.SequenceError, pe.SimulationError, pe.DataError):
        assert issubclass(cls, pe.PulsesError) and not issubclass(cls, NmrqbError)
    for cls in (te.ModelError, te.DataError, te.StateError, te.ConvergenceError):
        assert issubclass(cls, te.TomographyError) and not issubclass(cls, NmrqbError)


def test_docs_errors_lists_every_error_class():
    text = (Path(__file__).parents[1] / "docs" / "errors.md").read_text()
    import pulses.errors as pe
    import tomography.errors as te
    import nmrqb.errors as ne

    for mod in (ne, pe, te):
        for name in mod.__all__:
            assert f"{mod.__name__}.{name}" in text, name
