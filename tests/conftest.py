"""Shared fixtures: the built-in knowledge base, and small knowledge bases built for one test."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from dealcoach.engine.advising import advice
from dealcoach.engine.deals import deal
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook import kb
from dealcoach.engine.yamlsource import Document

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def builtin() -> kb.KnowledgeBase:
    return kb.load([kb.builtin_dir()])


@pytest.fixture(scope="session")
def advisor(builtin: kb.KnowledgeBase) -> Advisor:
    return Advisor(builtin)


def base_layer(target: Path) -> Path:
    """A knowledge base with the built-in vocabulary and concepts, but no rules or derived types."""
    target.mkdir(parents=True, exist_ok=True)
    source = kb.builtin_dir()
    for name in ("vocabulary.yaml", "concepts.yaml"):
        shutil.copy(source / name, target / name)
    shutil.copytree(source / "templates", target / "templates")
    (target / "rules").mkdir()
    return target


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[[str], Path]:
    """Write a rules file (and derived types, if given) into a rule-less knowledge base; return its folder."""

    def write(text: str, name: str = "test.yaml", derived: str | None = None) -> Path:
        layer = tmp_path / "kb"
        if not layer.exists():
            base_layer(layer)
        (layer / "rules" / name).write_text(textwrap.dedent(text), encoding="utf-8")
        if derived is not None:
            (layer / "derived.yaml").write_text(textwrap.dedent(derived), encoding="utf-8")
        return layer

    return write


@pytest.fixture
def playbook(write_rules: Callable[[str], Path]) -> Callable[[str], Callable[[dict], list[advice.Advice]]]:
    """Compile rules (YAML text) and return a function from a deal fragment to its English advice."""

    def build(text: str, derived: str | None = None) -> Callable[[dict], list[advice.Advice]]:
        knowledge = kb.load([write_rules(text, derived=derived)])
        runner = Advisor(knowledge)

        def advise(fragment: dict) -> list[advice.Advice]:
            data = {"name": "t", "account": {"name": "a"}, **fragment}
            parsed = deal.validate(Document("t.yaml", data), knowledge.vocabulary)
            return advice.build(runner.run(parsed), knowledge, "en", explain=True)

        return advise

    return build


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read or write the user's own knowledge-base cache, nor load the user's own layer."""
    import os

    os.environ["DEALCOACH_CACHE"] = str(tmp_path_factory.mktemp("kbcache"))
    os.environ["DEALCOACH_KB_HOME"] = str(tmp_path_factory.mktemp("no-user-layer") / "kb")


SHOTS = Path(__file__).resolve().parent / "screenshots"  # saved by the browser tests (gitignored)
CHROMIUM = next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium: install Debian's chromium package (.ci/run does)"
)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (no browser download), one per test module."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()
