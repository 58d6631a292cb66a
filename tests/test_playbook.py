"""The built-in playbook: it loads, and every rule's own examples hold (one test per example)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dealcoach.engine.playbook import examples, kb

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


def _knowledge_only() -> set[str]:
    return set(KB.knowledge_only)


def test_every_concept_is_cited_by_a_rule_or_listed_as_knowledge_only():
    cited = {c for rule in KB.rules for c in rule.model.concepts}
    assert sorted(set(KB.concepts) - cited - _knowledge_only()) == []


def test_knowledge_only_concepts_are_real_and_not_cited():
    only = _knowledge_only()
    assert only <= set(KB.concepts)
    assert not only & {c for rule in KB.rules for c in rule.model.concepts}


def test_every_signal_is_used_by_some_rule():
    used = {
        t.value
        for rule in KB.rules
        for branch in rule.branches
        for p in branch.patterns
        if p.fact_type == "signal"
        for t in p.tests
    }
    assert sorted(set(KB.vocabulary.ids("signal")) - used) == []


def test_every_category_has_advice_rules():
    categories = {rule.model.category for rule in KB.rules if not rule.derives}
    assert categories == set(KB.vocabulary.ids("category"))


def test_every_rule_fires_on_one_of_its_examples_or_an_example_deal():
    """No rule is unreachable: its own `fires` examples are run above; this checks none is empty."""
    assert all(rule.model.examples.fires for rule in KB.rules)


def _example_deals():
    from dealcoach.engine.deals import deal as deal_mod
    from tests.conftest import SCENARIOS

    deals = [deal_mod.load(str(p), KB.vocabulary) for p in kb.example_deals(SCENARIOS)]
    for rule in KB.rules:
        for index in range(len(rule.model.examples.fires)):
            deals.append(examples.example_deal(rule, "fires", index, KB).deal)
    return deals


def test_no_two_pieces_of_advice_contradict_each_other(advisor):
    """`excludes` declares that two rules' advice contradict; they must never be given together."""
    from dealcoach.engine.advising import advice

    exclusions = {(r.id, other) for r in KB.rules for other in r.model.excludes}
    assert exclusions, "the playbook declares no exclusions to check"
    for deal in _example_deals():
        given = {a.rule for a in advice.build(advisor.run(deal), KB, "en")}
        clashes = sorted((a, b) for a, b in exclusions if a in given and b in given)
        assert clashes == [], f"{deal.name}: {clashes}"


def _traceable(source) -> bool:
    return source is not None and bool(source.method or (source.seed and source.section))


def test_every_rule_is_traceable_to_a_seed_section_or_a_named_method():
    assert [r.id for r in KB.rules if not _traceable(r.model.source)] == []


def test_rules_applying_concepts_beyond_the_material_cite_a_method_not_a_seed():
    beyond = {c for c, concept in KB.concepts.items() if concept.method}
    citing = [r for r in KB.rules if beyond & set(r.model.concepts)]
    assert citing and all(r.model.source.method and r.model.source.seed is None for r in citing)


def test_the_playbook_has_at_least_120_rules_in_all_eleven_categories():
    assert len(KB.rules) >= 120
    assert {r.model.category for r in KB.rules} == set(KB.vocabulary.ids("category"))
