"""The project's matcher (``engine/matching/rete.py``, ``engine/matching/agenda.py``) fires exactly as experta's own.

Both engines run the whole built-in playbook on the same deal; the test compares, in firing order,
every rule activation: the rule, the branch, and the facts bound to each name (bindings of
variables are read from those facts, so equal facts mean equal bindings). The reference is experta's
stock ``ReteMatcher`` with its ``DepthStrategy`` (ties among equal activations broken by rule name and
bound facts, which experta leaves to hash order: see ``engine/matching/agenda.py``),
built with ``Advisor(kb, stock=True)``.

Generated deals are derandomised, so CI always runs the same examples. ``DEALCOACH_MATCHER_EXAMPLES``
sets how many (300 by default); the long mode the issue asks for is
``DEALCOACH_MATCHER_EXAMPLES=1000 python -m pytest tests/test_matcher.py``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealcoach.engine.deals.deal import Deal, validate
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook import kb, strata
from dealcoach.engine.yamlsource import Document
from tests.conftest import SCENARIOS

EXAMPLES = int(os.environ.get("DEALCOACH_MATCHER_EXAMPLES", "300"))
TRISTATE = st.sampled_from([True, False, None])


@pytest.fixture(scope="module")
def stock(builtin: kb.KnowledgeBase) -> Advisor:
    return Advisor(builtin, stock=True)


Firing = tuple[int, str, int, dict[str, Any]]


def fired(advisor: Advisor, deal: Deal) -> list[Firing]:
    """Every activation the engine fired on ``deal``, in the order it fired them, with its salience."""
    level, _ = strata.levels(advisor.kb.rules)
    advisor.run(deal)
    return [(strata.salience(f.rule, level), f.rule.id, f.branch.index, f.facts) for f in advisor.engine.firings]


def same_firings(stock: Advisor, ours: Advisor, deal: Deal) -> None:
    expected = fired(stock, deal)
    actual = fired(ours, deal)
    assert expected, "the reference fired nothing: the comparison would prove nothing"
    for position, (want, got) in enumerate(zip(expected, actual, strict=False)):
        assert got == want, f"firing {position} differs: experta fired {want}, ours {got}"
    assert len(actual) == len(expected), f"experta fired {len(expected)} activations, ours {len(actual)}"


@pytest.mark.parametrize("path", kb.example_deals(SCENARIOS), ids=lambda p: p.stem)
def test_every_example_deal_fires_as_with_experta(path, builtin, advisor, stock):
    from dealcoach.engine.deals import deal as deal_module

    deal = deal_module.load(str(path), builtin.vocabulary)
    same_firings(stock, advisor, deal)


def test_one_rule_binding_the_same_people_both_ways_round_fires_for_each(builtin, advisor, stock):
    """Two people who are each economic buyer and gatekeeper: ``eb=A, tg=B`` and ``eb=B, tg=A``
    match the same facts, and each is an activation of its own (found by the long mode)."""
    both = {"roles": ["economic_buyer", "technical_gatekeeper"], "attitude": "accept", "contacted": True}
    raw = {
        "name": "both ways",
        "account": {"name": "Two Hats Corp"},
        "stage": "decision",
        "solution_fit": "full",
        "position": "leader",
        "stakeholders": [{"name": "A", **both}, {"name": "B", **both}],
    }
    same_firings(stock, advisor, validate(Document("both ways", raw), builtin.vocabulary))


@st.composite
def deals(draw: st.DrawFn, vocabulary: Any) -> dict[str, Any]:
    """A deal of 0 to 12 stakeholders, every enum drawn from the vocabulary, references that resolve."""

    def term(enum: str) -> st.SearchStrategy[str]:
        return st.sampled_from(vocabulary.ids(enum))

    people = draw(st.integers(0, 12))
    names = [f"P{i}" for i in range(people)]
    rivals = [f"R{i}" for i in range(draw(st.integers(0, 3)))]
    stakeholders = []
    for i, name in enumerate(names):
        person: dict[str, Any] = {
            "name": name,
            "roles": draw(st.lists(term("role"), max_size=3, unique=True)),
            "attitude": draw(term("attitude")),
            "style": draw(term("style")),
            "influence": draw(st.integers(1, 5)),
            "contacted": draw(st.booleans()),
            "org_need_met": draw(TRISTATE),
            "personal_need_met": draw(TRISTATE),
            "receptivity": draw(term("receptivity")),
        }
        if i and draw(st.booleans()):
            person["reports_to"] = draw(st.sampled_from(names[:i]))
        if rivals and draw(st.integers(0, 3)) == 0:
            person["favors"] = draw(st.sampled_from(rivals))
        if draw(st.booleans()):
            person["days_since_contact"] = draw(st.integers(0, 200))
        stakeholders.append(person)
    account = {
        "name": "Generated Corp",
        "tier": draw(term("tier")),
        "phase": draw(term("phase")),
        "procurement": draw(term("procurement")),
        "financial_health": draw(term("financial_health")),
        "restricted": draw(st.booleans()),
    }
    if draw(st.booleans()):
        account["loyalty"] = draw(term("loyalty"))
    if draw(st.booleans()):
        account["satisfaction"] = draw(st.integers(1, 5))
    return {
        "name": "generated",
        "account": account,
        "stage": draw(term("stage")),
        "solution_fit": draw(term("solution_fit")),
        "position": draw(term("position")),
        "offering": draw(term("offering")),
        "budget": {"status": draw(term("budget_status")), "funding": draw(term("funding"))},
        "decision": {"process_known": draw(TRISTATE), "criteria_known": draw(TRISTATE)},
        "competitors": [
            {"name": rival, "strength": draw(term("strength")), "incumbent": draw(st.booleans())} for rival in rivals
        ],
        "needs": [
            {"text": f"need {i}", "kind": draw(term("need_kind")), "owner": draw(st.sampled_from(names))}
            for i in range(draw(st.integers(0, 2)) if names else 0)
        ],
        "signals": draw(st.lists(term("signal"), max_size=4, unique=True)),
        "rep": {"style": draw(term("style"))},
        "stakeholders": stakeholders,
        **({"days_in_stage": draw(st.integers(0, 400))} if draw(st.booleans()) else {}),
    }


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_generated_deals_fire_as_with_experta(data, builtin, advisor, stock):
    raw = data.draw(deals(builtin.vocabulary))
    same_firings(stock, advisor, validate(Document("generated", raw), builtin.vocabulary))
