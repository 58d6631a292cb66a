"""`--version` and `--help` answer without loading the engine (timed in bench/bench_startup.py)."""

from __future__ import annotations

import contextlib
import gc
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from dealcoach import cli
from dealcoach.engine import gcpause
from dealcoach.engine.matching import rete
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook import kb
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


def test_advice_from_a_playbook_that_passed_its_checks_does_not_load_the_checkers():
    imported("advise", "scenarios/bank-oa-network.yaml")  # the first run checks, and the cache remembers
    modules = imported("advise", "scenarios/bank-oa-network.yaml")
    assert not modules & {f"dealcoach.engine.playbook.{name}" for name in ("lint", "claims", "examples", "trainer")}


def test_json_advice_on_one_deal_loads_neither_wcwidth_nor_multiprocessing():
    modules = imported("advise", "scenarios/bank-oa-network.yaml", "--format", "json")
    assert "pydantic" in modules  # the measurement works
    assert not modules & {"wcwidth", "multiprocessing", "concurrent.futures.process"}


def test_loading_a_playbook_leaves_the_garbage_collector_as_it_was(builtin):
    frozen = gc.get_freeze_count()
    kb.load([kb.builtin_dir()])
    assert gc.isenabled() and gc.get_freeze_count() == frozen  # a library user's process is not frozen
    gc.disable()
    try:
        kb.load([kb.builtin_dir()])
        assert not gc.isenabled()  # a host that turned it off keeps it off
    finally:
        gc.enable()


def test_the_program_moves_what_start_up_made_out_of_the_collectors_sight():
    code = (  # the real entry point, with its last step (os._exit) reporting the collector's state
        "import gc, os, sys; leave = os._exit;"
        "state = lambda: print(gc.isenabled(), gc.get_freeze_count(), file=sys.stderr, flush=True);"
        "os._exit = lambda status: (state(), leave(status));"
        "sys.argv = ['dealcoach', 'advise', 'scenarios/bank-oa-network.yaml', '--format', 'json'];"
        "from dealcoach.engine.entry import run; run()"
    )
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    enabled, frozen = completed.stderr.split()
    assert enabled == "True" and int(frozen) > 50_000


def _form(node: Any, memo: dict[int, Any]) -> Any:
    """A node as its class, its rule (a conflict-set node) and the forms of its children, with the
    callback each is reached by: equal forms are equal networks, whatever the order rules were wired in."""
    if id(node) not in memo:
        rule = getattr(getattr(node, "rule", None), "_wrapped", None)
        children = sorted((_form(child.node, memo), child.callback.__name__) for child in node.children)
        memo[id(node)] = (type(node).__name__, getattr(rule, "__name__", ""), tuple(children))
    return memo[id(node)]


def test_the_network_is_wired_node_for_node_as_experta_wires_it(builtin, monkeypatch):
    ours = Advisor(builtin).engine.matcher.root_node
    monkeypatch.setattr(rete.TypeIndexedMatcher, "build_beta_part", staticmethod(rete.ReteMatcher.build_beta_part))
    experta_s = Advisor(builtin).engine.matcher.root_node
    assert _form(ours, {}) == _form(experta_s, {})


def test_a_lazy_module_pauses_the_collector_to_import_it_and_never_again(monkeypatch):
    """A pause ends in gc.freeze in the program: around per-deal lookups it would keep each deal's garbage."""
    pauses: list[str] = []

    @contextlib.contextmanager
    def paused() -> Iterator[None]:
        pauses.append("pause")
        yield

    monkeypatch.setattr(gcpause, "paused", paused)
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    module = cli._Lazy("colorsys")
    assert module.rgb_to_hsv(1, 0, 0) == module.rgb_to_hsv(1, 0, 0)
    assert pauses == ["pause"]
