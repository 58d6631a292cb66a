"""Situational ranking (kb/ranking.yaml): what the situation makes urgent comes before any fixed order."""

from __future__ import annotations

import textwrap

import pytest

from dealcoach.engine.advising import advice
from dealcoach.engine.deals import deal
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook import kb
from dealcoach.engine.problems import InputError
from dealcoach.engine.yamlsource import Document
from tests.conftest import SCENARIOS


def _ranked(builtin, advisor, data: dict) -> list[advice.Advice]:
    parsed = deal.validate(Document("t.yaml", {"name": "t", "account": {"name": "a"}, **data}), builtin.vocabulary)
    return advice.build(advisor.run(parsed), builtin, "en")


def _example(builtin, advisor, name: str) -> list[str]:
    parsed = deal.load(str(SCENARIOS / f"{name}.yaml"), builtin.vocabulary)
    return [a.rule for a in advice.build(advisor.run(parsed), builtin, "en")]


def test_during_a_crisis_the_outage_response_comes_first(builtin, advisor):
    assert (
        _example(builtin, advisor, "dairy-coldchain-crisis-renewal")[0] == "retention.stabilise-earn-credit-in-crisis"
    )


def test_a_live_price_objection_ranks_above_contract_hygiene(builtin, advisor):
    rules = _example(builtin, advisor, "price-objection-renewal")
    assert rules.index("negotiation.existing-customer-price-check") < rules.index(
        "negotiation.contract-hygiene-at-decision"
    )
    assert rules[0] == "negotiation.existing-customer-price-check"


def test_a_generic_head_office_item_is_never_first_for_a_customer_who_is_leaving(builtin, advisor):
    leaving = {
        "account": {"name": "a", "procurement": "centralized", "tier": "national", "satisfaction": 2},
        "stage": "use",
        "signals": ["complaint", "orders_declining"],
        "stakeholders": [{"name": "王总", "roles": ["economic_buyer"], "contacted": True}],
    }
    items = _ranked(builtin, advisor, leaving)
    assert "qualification.centralised-win-hq-standard" in [a.rule for a in items]
    assert items[0].rule != "qualification.centralised-win-hq-standard"
    assert "signal: complaint" in items[0].acts_on


def test_an_item_acting_on_a_red_flag_names_the_flag(builtin, advisor):
    items = _ranked(
        builtin, advisor, {"stage": "decision", "stakeholders": [{"name": "王总", "roles": ["economic_buyer"]}]}
    )
    acting = [a for a in items if any("decision maker never met" in r for r in a.acts_on)]
    assert acting and all(a.urgency > 0 for a in acting)


def test_an_item_testing_the_same_absence_acts_on_the_flag_drawn_from_it(builtin, advisor):
    """No coach is an absence; the rules that look for a coach act on the no-coach flag and the relationship."""
    items = _ranked(
        builtin,
        advisor,
        {
            "stage": "preselection",
            "stakeholders": [
                {"name": "王总", "roles": ["economic_buyer"], "attitude": "accept", "contacted": True},
                {"name": "小周", "roles": ["user"], "contacted": True},
            ],
        },
    )
    intel = next(a for a in items if a.rule in ("coverage.find-a-coach", "information.build-intel-network"))
    assert "red flag: no coach" in intel.acts_on
    assert "relationship at risk" in intel.acts_on


def test_a_conclusion_drawn_by_several_rules_is_acted_on_through_any_of_them(builtin, advisor):
    """The relationship is at risk both because the decision maker is indifferent and because nobody
    has seen them for two months; reconnecting (days since contact) acts on it as much as winning them over."""
    items = _ranked(
        builtin,
        advisor,
        {
            "stage": "evaluation",
            "stakeholders": [
                {
                    "name": "王总",
                    "roles": ["economic_buyer"],
                    "attitude": "indifferent",
                    "influence": 5,
                    "contacted": True,
                    "days_since_contact": 60,
                },
                {"name": "小李", "roles": ["coach"], "attitude": "accept", "contacted": True},
            ],
        },
    )
    cold = next(a for a in items if a.rule == "stage.key-person-gone-cold")
    assert "relationship at risk" in cold.acts_on


def test_walking_away_comes_first_when_the_deal_is_not_worth_winning(builtin, advisor):
    assert _example(builtin, advisor, "textile-compressor-walk-away")[0] == "qualification.walk-away"


def test_for_an_account_that_stopped_ordering_reactivation_comes_first(builtin, advisor):
    assert _example(builtin, advisor, "hotpot-chain-dormant")[0] == "retention.reactivate-dormant-account"


def test_each_criterion_at_risk_may_weigh_differently(builtin):
    from dealcoach.engine.advising.ranking import Ranking

    ranking = Ranking(criterion_at_risk={"default": 15, "worth": 50})
    assert (ranking.criterion_points("worth"), ranking.criterion_points("budget")) == (50, 15)
    assert Ranking(criterion_at_risk=20).criterion_points("worth") == 20


RULES = """
rules:
  - id: team.plain
    category: qualification
    priority: high
    concepts: [R7]
    source: {seed: "003", section: 贰}
    when: [{deal: {stage: decision}}]
    advice: {zh: 先做, en: first in the fixed order}
    examples: {fires: [{stage: decision}], silent: [{stage: use}]}
  - id: team.urgent
    category: team
    priority: high
    concepts: [R7]
    source: {seed: "003", section: 贰}
    when: [{signal: crisis}]
    advice: {zh: 救火, en: answers the crisis}
    examples: {fires: [{signals: [crisis]}], silent: [{}]}
"""


def _layer(write_rules, ranking: str):
    layer = write_rules(RULES)
    (layer / "ranking.yaml").write_text(textwrap.dedent(ranking), encoding="utf-8")
    return layer


def _rank_in(layer) -> list[str]:
    knowledge = kb.load([layer])
    parsed = deal.validate(
        Document("t.yaml", {"name": "t", "account": {"name": "a"}, "stage": "decision", "signals": ["crisis"]}),
        knowledge.vocabulary,
    )
    return [a.rule for a in advice.build(Advisor(knowledge).run(parsed), knowledge, "en")]


def test_urgency_from_the_situation_ranks_before_the_category_order(write_rules):
    assert _rank_in(_layer(write_rules, "signals: {crisis: 50}\n")) == ["team.urgent", "team.plain"]


def test_without_urgency_the_category_order_decides(write_rules):
    assert _rank_in(_layer(write_rules, "signals: {}\n")) == ["team.plain", "team.urgent"]


def test_a_layer_may_reorder_the_categories_that_break_ties(write_rules):
    assert _rank_in(_layer(write_rules, "categories: [team, qualification]\n")) == ["team.urgent", "team.plain"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("signals: {outage: 50}\n", "'outage' is not a signal"),
        ("stage: {decision: {sales: 5}}\n", "'sales' is not a category"),
        ("context: [deal.stagee]\n", "'deal.stagee' is not a fact field"),
        ("sigals: {}\n", "sigals"),
        ("criterion_at_risk: {wealth: 5}\n", "'wealth' is not a criterion"),
    ],
)
def test_a_name_the_knowledge_base_does_not_know_is_a_problem_with_its_place(write_rules, text, message):
    layer = _layer(write_rules, text)
    with pytest.raises(InputError) as err:
        kb.load([layer])
    assert any("ranking.yaml" in str(p) and message in str(p) for p in err.value.problems)


def test_the_readme_documents_every_key_of_ranking_yaml():
    from dealcoach.engine.advising.ranking import Ranking
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### How advice is ranked") :]
    assert [key for key in Ranking.model_fields if f"| `{key}` |" not in section] == []
