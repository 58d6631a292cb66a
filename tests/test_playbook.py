"""The built-in playbook: it loads, and every rule's own examples hold (one test per example)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine import examples, kb

KB = kb.load([kb.builtin_dir()])
CASES = [
    (rule.id, kind, index)
    for rule in KB.rules
    for kind in examples.KINDS
    for index in range(len(getattr(rule.model.examples, kind)))
]
SHARED_CONCEPTS = Path(__file__).resolve().parents[2] / "shared" / "spec" / "playbook-concepts.yaml"


@pytest.mark.parametrize(("rule_id", "kind", "index"), CASES, ids=[f"{r}::{k}[{i}]" for r, k, i in CASES])
def test_rule_example(advisor, rule_id, kind, index):
    result = examples.run_example(advisor, KB.rule_by_id[rule_id], kind, index)
    assert result.passed, f"{result.location()}: {result.failure}"


def test_playbook_has_every_category_the_issue_asks_for():
    assert len({rule.model.category for rule in KB.rules}) >= 6


@pytest.mark.skipif(not SHARED_CONCEPTS.exists(), reason="../shared is not beside the checkout")
def test_shipped_concept_map_matches_the_shared_spec():
    shipped = yaml.safe_load((kb.builtin_dir() / "concepts.yaml").read_text(encoding="utf-8"))
    assert shipped == yaml.safe_load(SHARED_CONCEPTS.read_text(encoding="utf-8"))
