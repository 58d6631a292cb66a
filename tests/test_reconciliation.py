"""Reconciliation: each move is read once, however many people or rules it comes from."""

from __future__ import annotations

import pytest

from dealcoach.engine.playbook import kb, trainer
from dealcoach.engine.problems import InputError

RULES = """
rules:
  - id: relationship.ask-about-doubts
    category: relationship
    priority: medium
    concepts: [A1]
    source: {seed: "001", section: 四.4}
    topic: doubts
    {extra}
    when:
      - stakeholder: {as: p, attitude: doubt}
    advice: {zh: "问清{{ p.name }}的疑虑。", en: "Ask {{ p.name }} what they doubt."}
    examples: {fires: [{stakeholders: [{name: 甲, attitude: doubt}]}], silent: [{}]}
  - id: negotiation.hear-doubts-at-the-table
    category: negotiation
    priority: medium
    concepts: [A1]
    source: {seed: "001", section: 四.4}
    topic: doubts
    when:
      - deal: {stage: decision}
      - stakeholder: {as: p, attitude: doubt, contacted: true}
    advice: {zh: "谈判桌上先听{{ p.name }}说完。", en: "At the table, hear {{ p.name }} out first."}
    examples: {fires: [{stage: decision, stakeholders: [{name: 甲, attitude: doubt, contacted: true}]}], silent: [{}]}
  - id: needs.put-it-in-the-spec
    category: needs
    priority: medium
    concepts: [N5]
    source: {seed: "001", section: 四.4}
    when:
      - need: {as: n, owner: {known: true}}
      - stakeholder: {as: p, name: $n.owner}
    advice: {zh: "把{{ n.text }}写进规格。", en: "Write {{ n.text }} into the specification."}
    examples: {fires: [{stakeholders: [{name: 甲}], needs: [{text: x, owner: 甲}]}], silent: [{}]}
"""

DOUBTERS = {
    "stakeholders": [
        {"name": "甲", "attitude": "doubt", "influence": 4},
        {"name": "乙", "attitude": "doubt", "influence": 2},
    ]
}


def _rules(extra: str = "") -> str:
    return RULES.replace("{extra}", extra)


def test_one_rule_for_several_people_is_one_item_naming_them_all(playbook):
    [item] = playbook(_rules())(DOUBTERS)
    assert item.stakeholders == ["甲", "乙"]
    assert item.text == "Ask 甲 what they doubt. The same applies to 乙."


def test_a_per_person_rule_keeps_one_item_per_person(playbook):
    items = playbook(_rules("per_person: true"))(DOUBTERS)
    assert [i.stakeholders for i in items] == [["甲"], ["乙"]]


def test_advice_that_differs_in_substance_stays_apart(playbook):
    needs = [{"text": "uptime", "owner": "甲"}, {"text": "audit trail", "owner": "乙"}]
    items = playbook(_rules())({**DOUBTERS, "needs": needs})
    spec = [i for i in items if i.rule == "needs.put-it-in-the-spec"]
    assert sorted(i.text for i in spec) == [
        "Write audit trail into the specification.",
        "Write uptime into the specification.",
    ]


def test_the_most_specific_item_of_a_topic_speaks_and_lists_the_one_it_folds(playbook):
    people = {"stage": "decision", "stakeholders": [{"name": "甲", "attitude": "doubt", "contacted": True}]}
    [item] = playbook(_rules())(people)
    assert item.rule == "negotiation.hear-doubts-at-the-table"
    assert "Also covers: relationship.ask-about-doubts (甲)" in item.because


def test_a_folded_item_keeps_its_own_words_for_its_own_people(playbook):
    people = {"stage": "decision", "stakeholders": [{"name": "甲", "attitude": "doubt", "contacted": True}]}
    [item] = playbook(_rules())(people)
    [folded] = item.folded_items
    assert (folded.rule, folded.stakeholders, folded.text) == (
        "relationship.ask-about-doubts",
        ["甲"],
        "Ask 甲 what they doubt.",
    )


def test_a_topic_folds_only_items_about_the_same_people(playbook):
    people = {
        "stage": "decision",
        "stakeholders": [{"name": "甲", "attitude": "doubt", "contacted": True}, {"name": "乙", "attitude": "doubt"}],
    }
    items = playbook(_rules())(people)
    assert sorted((i.rule, tuple(i.stakeholders)) for i in items) == [
        ("negotiation.hear-doubts-at-the-table", ("甲",)),
        ("relationship.ask-about-doubts", ("乙",)),
    ]


def test_the_folded_item_lends_its_urgency_to_the_one_that_speaks(playbook):
    people = {"stage": "decision", "stakeholders": [{"name": "甲", "attitude": "doubt", "contacted": True}]}
    [item] = playbook(_rules())(people)
    assert item.urgency >= 15  # medium priority, the most either item earned


@pytest.mark.parametrize(("bad", "key"), [("topic: Doubts Here", "topic"), ("per_person: maybe", "per_person")])
def test_a_malformed_topic_or_per_person_is_a_problem_at_its_key(write_rules, bad, key):
    with pytest.raises(InputError) as err:
        kb.load([write_rules(RULES.replace("topic: doubts\n    {extra}", bad, 1))])
    assert any(key in str(p) for p in err.value.problems)


def test_coverage_lists_the_pairs_given_together_most_often(builtin):
    given = [{"coverage.find-a-coach", "stage.no-next-step"}] * 2 + [
        {"coverage.find-a-coach", "team.assemble-virtual-team"}
    ]
    lines = trainer.cofiring(builtin, given)
    assert lines[0].startswith("rules given together most often, over 3 deal(s)")
    assert lines[1:] == [
        "     2  coverage.find-a-coach + stage.no-next-step",
        "     1  coverage.find-a-coach + team.assemble-virtual-team",
    ]


def test_why_not_says_where_a_folded_rule_went(write_rules):
    from dealcoach.engine.advising.whynot import WhyNot
    from dealcoach.engine.deals import deal
    from dealcoach.engine.matching.runner import Advisor
    from dealcoach.engine.yamlsource import Document

    knowledge = kb.load([write_rules(_rules())])
    data = {"name": "t", "account": {"name": "a"}, "stage": "decision"}
    data["stakeholders"] = [{"name": "甲", "attitude": "doubt", "contacted": True}]
    outcome = Advisor(knowledge).run(deal.validate(Document("t.yaml", data), knowledge.vocabulary))
    assert WhyNot(knowledge, outcome, "en").explain(knowledge.rule_by_id["relationship.ask-about-doubts"]) == [
        "Rule relationship.ask-about-doubts fired; its advice is folded, by topic doubts, into the more specific "
        "negotiation.hear-doubts-at-the-table."
    ]


ACCOUNT_RULES = """
rules:
  - id: retention.visit-the-account
    category: retention
    priority: medium
    concepts: [Y1]
    source: {seed: "001", section: 四.4}
    topic: account-plan
    when:
      - account: {phase: stabilize}
    advice: {zh: "拜访{{ deal.account.name }}。", en: "Visit {{ deal.account.name }}."}
    examples: {fires: [{account: {name: a, phase: stabilize}}], silent: [{}]}
  - id: retention.visit-the-declining-account
    category: retention
    priority: medium
    concepts: [Y1]
    source: {seed: "001", section: 四.4}
    topic: account-plan
    when:
      - account: {phase: stabilize}
      - signal: {id: orders_declining}
    advice:
      zh: "订单在降，马上拜访{{ deal.account.name }}。"
      en: "Orders are falling: visit {{ deal.account.name }} now."
    examples: {fires: [{account: {name: a, phase: stabilize}, signals: [orders_declining]}], silent: [{}]}
"""


def test_an_account_level_item_folds_without_naming_anyone(playbook):
    deal = {"account": {"name": "a", "phase": "stabilize"}, "signals": ["orders_declining"]}
    [item] = playbook(ACCOUNT_RULES)(deal)
    assert (item.rule, item.stakeholders) == ("retention.visit-the-declining-account", [])
    assert "Also covers: retention.visit-the-account" in item.because
