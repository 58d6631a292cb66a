"""The deal-level assessment: how criteria combine, what establishes each one, and the health score."""

from __future__ import annotations

import pytest

from dealcoach.engine.advising import assessment
from dealcoach.engine.deals.deal import validate
from dealcoach.engine.yamlsource import Document

QUALIFIED = {
    "name": "qualified",
    "account": {"name": "客户", "financial_health": "good"},
    "stage": "evaluation",
    "value": 1_000_000,
    "solution_fit": "full",
    "position": "leader",
    "budget": {"status": "confirmed", "amount": 1_200_000},
    "decision": {"process_known": True, "timeframe_known": True},
    "needs": [{"text": "全省网点统一办公", "owner": "王总"}],
    "stakeholders": [
        {"name": "王总", "roles": ["economic_buyer"], "attitude": "accept", "contacted": True, "influence": 5},
        {"name": "小李", "roles": ["coach"], "attitude": "accept", "contacted": True},
    ],
}


def _assess(builtin, advisor, **changes) -> assessment.Assessment:
    deal = validate(Document("t.yaml", {**QUALIFIED, **changes}), builtin.vocabulary)
    return assessment.assess(advisor.run(deal), builtin, "en")


def _flags(result: assessment.Assessment) -> set[str]:
    return {f["flag"] for f in result.red_flags}


def test_a_well_qualified_deal_reads_met_on_every_criterion_and_scores_full_health(builtin, advisor):
    result = _assess(builtin, advisor)
    assert result.criteria == dict.fromkeys(assessment.CRITERIA, "met")
    assert result.health == builtin.scoring.start
    assert result.deductions == []


def test_a_risk_beats_a_met_conclusion_on_the_same_criterion(builtin, advisor):
    saboteur = {"name": "赵工", "attitude": "sabotage", "influence": 5, "contacted": True}
    result = _assess(builtin, advisor, stakeholders=[*QUALIFIED["stakeholders"], saboteur])
    assert result.criteria["relationship"] == "at_risk"


def test_a_met_conclusion_replaces_unknown(builtin, advisor):
    assert _assess(builtin, advisor, solution_fit="unknown").criteria["need"] == "unknown"
    assert _assess(builtin, advisor).criteria["need"] == "met"


def test_need_is_not_met_by_a_full_fit_alone(builtin, advisor):
    result = _assess(builtin, advisor, needs=[{"text": "少录一遍数据", "owner": "小李"}])
    assert result.criteria["need"] == "unknown"


def test_process_needs_both_the_process_and_the_timeframe(builtin, advisor):
    result = _assess(builtin, advisor, decision={"process_known": True})
    assert result.criteria["process"] == "unknown"


@pytest.mark.parametrize(
    ("budget", "status"),
    [
        ({"status": "confirmed", "amount": 1_000_000}, "met"),
        ({"status": "confirmed"}, "unknown"),
        ({"status": "confirmed", "amount": 800_000}, "at_risk"),
        ({"status": "estimated", "amount": 1_200_000}, "unknown"),
        ({"status": "none"}, "at_risk"),
    ],
)
def test_budget_is_met_only_when_confirmed_and_covering_the_value(builtin, advisor, budget, status):
    assert _assess(builtin, advisor, budget=budget).criteria["budget"] == status


def test_a_doubtful_decision_maker_we_have_met_still_meets_the_relationship(builtin, advisor):
    doubtful = [{**QUALIFIED["stakeholders"][0], "attitude": "doubt"}, QUALIFIED["stakeholders"][1]]
    assert _assess(builtin, advisor, stakeholders=doubtful).criteria["relationship"] == "met"


def test_relationship_needs_a_decision_maker_we_have_met(builtin, advisor):
    unmet = [{**QUALIFIED["stakeholders"][0], "contacted": False}, QUALIFIED["stakeholders"][1]]
    assert _assess(builtin, advisor, stage="research", stakeholders=unmet).criteria["relationship"] == "unknown"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"attitude": "indifferent"}, "an indifferent decision maker will not back us"),
        ({"days_since_contact": 45}, "a decision maker unseen for over a month while the deal is decided"),
    ],
)
def test_a_disengaged_decision_maker_puts_the_relationship_at_risk(builtin, advisor, changes, why):
    people = [{**QUALIFIED["stakeholders"][0], **changes}, QUALIFIED["stakeholders"][1]]
    assert _assess(builtin, advisor, stakeholders=people).criteria["relationship"] == "at_risk", why


def test_a_silent_coach_puts_the_relationship_at_risk(builtin, advisor):
    people = [QUALIFIED["stakeholders"][0], {**QUALIFIED["stakeholders"][1], "days_since_contact": 40}]
    assert _assess(builtin, advisor, stakeholders=people).criteria["relationship"] == "at_risk"


def test_a_key_contact_leaving_during_the_deal_puts_the_relationship_at_risk(builtin, advisor):
    assert _assess(builtin, advisor, signals=["contact_left"]).criteria["relationship"] == "at_risk"
    assert _assess(builtin, advisor, stage="intent", signals=["contact_left"]).criteria["relationship"] == "met"


def test_a_weighty_friend_of_a_rival_puts_the_relationship_at_risk_only_without_a_coach(builtin, advisor):
    rival_friend = {"name": "赵经理", "roles": ["recommender"], "influence": 4, "contacted": True, "favors": "对手"}
    with_coach = _assess(builtin, advisor, stage="use", stakeholders=[*QUALIFIED["stakeholders"], rival_friend])
    without = _assess(builtin, advisor, stage="use", stakeholders=[QUALIFIED["stakeholders"][0], rival_friend])
    assert with_coach.criteria["relationship"] == "met"
    assert without.criteria["relationship"] == "at_risk"


def test_relationship_needs_a_coach(builtin, advisor):
    result = _assess(builtin, advisor, stage="research", stakeholders=QUALIFIED["stakeholders"][:1])
    assert result.criteria["relationship"] == "unknown"


def test_competing_without_a_coach_puts_the_relationship_at_risk(builtin, advisor):
    result = _assess(builtin, advisor, stage="evaluation", stakeholders=QUALIFIED["stakeholders"][:1])
    assert result.criteria["relationship"] == "at_risk"


def test_a_resisting_decision_maker_puts_the_relationship_at_risk(builtin, advisor):
    resisting = [{**QUALIFIED["stakeholders"][0], "attitude": "resist"}, QUALIFIED["stakeholders"][1]]
    assert _assess(builtin, advisor, stakeholders=resisting).criteria["relationship"] == "at_risk"


def test_worth_is_at_risk_for_an_account_in_poor_financial_health(builtin, advisor):
    result = _assess(builtin, advisor, account={"name": "客户", "financial_health": "poor"})
    assert result.criteria["worth"] == "at_risk"


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"signals": ["complaint"]}, "open_complaint"),
        ({"account": {"name": "客户", "financial_health": "good", "satisfaction": 2}}, "low_satisfaction"),
        (
            {"position": "challenger", "competitors": [{"name": "对手", "strength": "stronger", "incumbent": True}]},
            "stronger_incumbent",
        ),
        ({"signals": ["orders_declining"]}, "orders_declining"),
        ({"account": {"name": "客户", "financial_health": "good", "months_since_last_order": 8}}, "dormant_account"),
        ({"stakeholders": [{"name": "王总", "roles": ["economic_buyer"]}]}, "no_contact"),
    ],
)
def test_health_reflects_each_red_flag(builtin, advisor, changes, flag):
    result = _assess(builtin, advisor, **changes)
    assert flag in _flags(result)
    assert result.health <= builtin.scoring.start - builtin.scoring.flag_points(flag)


def test_a_stronger_incumbent_is_no_red_flag_when_we_lead(builtin, advisor):
    competitors = [{"name": "对手", "strength": "stronger", "incumbent": True}]
    assert "stronger_incumbent" not in _flags(_assess(builtin, advisor, competitors=competitors))


def test_a_loyal_account_with_falling_orders_is_flagged_once(builtin, advisor):
    account = {"name": "客户", "financial_health": "good", "loyalty": "supporter"}
    flags = _flags(_assess(builtin, advisor, account=account, signals=["orders_declining"]))
    assert {"loyal_account_declining", "orders_declining"} & flags == {"loyal_account_declining"}


def test_meeting_the_first_of_three_people_never_lowers_health(builtin, advisor):
    people = [{"name": n} for n in ("甲", "乙", "丙")]
    before = _assess(builtin, advisor, stakeholders=people, needs=[])
    after = _assess(builtin, advisor, stakeholders=[{**people[0], "contacted": True}, *people[1:]], needs=[])
    assert after.health >= before.health


def test_health_is_the_start_less_every_deduction(builtin, advisor):
    result = _assess(builtin, advisor, signals=["complaint"], solution_fit="partial")
    assert result.health == builtin.scoring.start - sum(d["points"] for d in result.deductions)
    assert all(d["points"] > 0 for d in result.deductions)


def test_a_person_behind_several_flags_costs_their_heaviest_flag_once(builtin, advisor):
    saboteur = {
        "name": "雷工",
        "roles": ["technical_gatekeeper"],
        "attitude": "sabotage",
        "influence": 5,
        "contacted": True,
        "favors": "对手",
    }
    result = _assess(builtin, advisor, stakeholders=[*QUALIFIED["stakeholders"], saboteur])
    theirs = [d for d in result.deductions if "雷工" in d["reason"]]
    assert {f["flag"] for f in result.red_flags} >= {"influential_saboteur", "gatekeeper_favours_rival"}
    assert sorted(d["points"] for d in theirs)[:-1] == [0] * (len(theirs) - 1)
    assert max(d["points"] for d in theirs) == builtin.scoring.flag_points("influential_saboteur")
    assert result.health == builtin.scoring.start - sum(d["points"] for d in result.deductions)


def test_a_deal_not_worth_winning_costs_more_than_any_other_criterion_at_risk(builtin, advisor):
    poor = _assess(builtin, advisor, account={"name": "客户", "financial_health": "poor"})
    no_budget = _assess(builtin, advisor, budget={"status": "none"})
    assert poor.criteria["worth"] == no_budget.criteria["budget"] == "at_risk"
    assert poor.health < no_budget.health


def test_a_criterion_weight_for_an_unknown_criterion_is_refused():
    from pydantic import ValidationError

    from dealcoach.engine.advising.scoring import Scoring

    with pytest.raises(ValidationError, match="wealth is not a criterion"):
        Scoring(criterion_at_risk={"wealth": 20})


def test_no_example_deal_floors_at_zero_health(builtin, advisor):
    """The crisis renewal has the most wrong with it, and is still worth fighting for: not 0."""
    from dealcoach.engine.deals.deal import load
    from tests.conftest import SCENARIOS

    parsed = load(str(SCENARIOS / "dairy-coldchain-crisis-renewal.yaml"), builtin.vocabulary)
    assert assessment.assess(advisor.run(parsed), builtin, "en").health > 0
