"""README gives exactly two commands (set up + run, test); .ci/run calls exactly that test command."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _two_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)]


def test_readme_has_a_setup_and_run_command_and_a_test_command():
    setup, test = _two_commands()
    assert setup == "bash .ci/install && .venv/bin/chipid serve"
    assert test == ".venv/bin/python -m pytest"
    assert (REPO / ".ci" / "install").is_file()


def test_ci_runs_the_install_and_exactly_the_readme_test_command():
    _, test = _two_commands()
    lines = [ln.strip() for ln in (REPO / ".ci" / "run").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert "bash .ci/install" in lines
    assert lines[-1] == test


def test_the_console_script_is_declared():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'chipid = "verifier.cli:main"' in pyproject
