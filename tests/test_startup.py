"""`--version` and `--help` answer without loading the engine (timed in bench/bench_startup.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = (
    "experta",
    "pydantic",
    "jinja2",
    "yaml",
    "sqlite3",
    "dealcoach.engine.playbook.kb",
    "dealcoach.engine.matching.runner",
)


def imported(*args: str) -> set[str]:
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dealcoach", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return {line.split("|")[-1].strip() for line in completed.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["--help"],
        ["advise", "--help"],
        ["kb", "--help"],
        ["kb", "test", "--help"],
        ["drill", "run", "-h"],
    ],
)
def test_version_and_help_do_not_import_the_engine(args):
    modules = imported(*args)
    assert "click" in modules  # the measurement works
    assert not {m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY}


def test_a_command_still_loads_what_it_needs():
    modules = imported("advise", "scenarios/bank-oa-network.yaml", "--format", "json")
    assert {"experta.engine", "pydantic", "jinja2", "yaml"} <= modules
