"""The repository contract: README set-up commands, CI, layering."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def readme_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ") and line.strip()]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    cmds = readme_commands()
    assert len(cmds) == 2, cmds
    install_run, install_test = cmds
    assert install_run.startswith("python -m pip install . && nmrqb ")
    assert '".[test]"' in install_test and "pytest" in install_test
    ci = (ROOT / ".ci" / "run").read_text()
    assert install_test in ci.splitlines()


def test_general_libraries_never_import_nmrqb():
    pattern = re.compile(r"^\s*(from|import)\s+nmrqb\b", re.MULTILINE)
    for pkg in ("pulses", "tomography"):
        for path in (ROOT / pkg).rglob("*.py"):
            assert not pattern.search(path.read_text()), f"{path} imports nmrqb"
