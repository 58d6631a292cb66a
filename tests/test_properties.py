"""Properties of the advice on generated deals (hypothesis), beyond what any example deal shows.

The deals come from ``engine/deals/synthetic.py``: realistic, consistent, every enumerated value from the
vocabulary. By default each property sees 100 deals in a fixed (derandomized) sequence, so CI is
deterministic and quick; ``DEALCOACH_PROPERTIES=long`` explores 2,000 fresh random deals per
property (README, "Property tests").
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealcoach.engine.advising import advice, assessment
from dealcoach.engine.deals import synthetic
from dealcoach.engine.deals.deal import validate
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook import kb
from dealcoach.engine.render import report
from dealcoach.engine.yamlsource import Document

KB = kb.load([kb.builtin_dir()])
ADVISOR = Advisor(KB)
LONG = os.environ.get("DEALCOACH_PROPERTIES") == "long"
PROPERTY = settings(
    max_examples=2000 if LONG else 100,
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class _Hypothesis:
    """A synthetic.Chooser drawing from hypothesis, so that a failing deal shrinks."""

    def __init__(self, draw: Callable[[st.SearchStrategy[int]], int]):
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))


@st.composite
def deals(draw: Callable[[st.SearchStrategy[int]], int]) -> dict[str, Any]:
    return synthetic.deal(_Hypothesis(draw), KB.vocabulary)


def _run(data: dict[str, Any]):
    return ADVISOR.run(validate(Document("generated.yaml", data), KB.vocabulary))


def _document(data: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    outcome = _run(data)
    items = advice.build(outcome, KB, lang, explain=True)
    return report.document(outcome.deal, items, assessment.assess(outcome, KB, lang), lang, explain=True)


def _assess(data: dict[str, Any]) -> assessment.Assessment:
    return assessment.assess(_run(data), KB, "en")


def _flags(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(f["flag"], f["stakeholder"]) for f in _assess(data).red_flags}


def _rules(data: dict[str, Any]) -> set[str]:
    return {a.rule for a in advice.build(_run(data), KB, "en")}


def _json(document: dict) -> str:
    return report.serialise([("deal.yaml", document)], "json", several=False)


@PROPERTY
@given(deals())
def test_advice_on_any_deal_is_deterministic_in_both_languages(data):
    for lang in ("en", "zh"):
        first = _json(_document(data, lang))
        assert _json(_document(copy.deepcopy(data), lang)) == first


@PROPERTY
@given(deals())
def test_chinese_and_english_give_the_same_items(data):
    def skeleton(lang: str) -> list[tuple[str, list[str]]]:
        return [(a["rule"], a["stakeholders"]) for a in _document(data, lang)["advice"]]

    assert skeleton("zh") == skeleton("en")


def _renamed(data: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(data, ensure_ascii=False)
    for old, new in names.items():
        text = text.replace(json.dumps(old, ensure_ascii=False), json.dumps(new, ensure_ascii=False))
    return json.loads(text)


@PROPERTY
@given(deals(), st.randoms(use_true_random=False))
def test_stakeholder_order_and_names_change_nothing_but_the_names(data, rng):
    """Names are renamed keeping their sort order (ties among equals are broken by name)."""
    people = sorted(p["name"] for p in data.get("stakeholders", []))
    names = {old: f"Q{index:02d}" for index, old in enumerate(people)}
    changed = _renamed(data, names)
    rng.shuffle(changed.get("stakeholders", []))
    back = _json(_document(changed))
    for old, new in names.items():
        back = back.replace(new, old)
    assert back == _json(_document(data))


def _economic_buyers(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in data.get("stakeholders", []) if "economic_buyer" in p["roles"]]


@PROPERTY
@given(deals())
def test_meeting_the_economic_buyer_removes_the_unmet_decision_maker_flag(data):
    met = copy.deepcopy(data)
    for person in _economic_buyers(met):
        person["contacted"] = True
    assert not {f for f in _flags(met) if f[0] == "economic_buyer_unmet_late"}


@PROPERTY
@given(deals(), st.integers(0, 7))
def test_an_accepting_contacted_coach_removes_find_a_coach(data, pick):
    people = data.get("stakeholders", [])
    if not people:
        people.append({"name": "Coach"})
        data["stakeholders"] = people
    coach = people[pick % len(people)]
    coach.update(contacted=True, attitude="accept", roles=sorted({*coach.get("roles", []), "coach"}))
    assert "coverage.find-a-coach" not in _rules(data)
    assert not {f for f in _flags(data) if f[0] == "no_coach"}


# --- improving one fact never lowers health ---------------------------------------------------------

_BETTER = {
    # field: each value and the better value it may become, one step at a time
    "attitude": {v: "accept" for v in ("sabotage", "resist", "indifferent", "doubt", "unknown")},
    "budget_status": {"none": "unknown", "unknown": "estimated", "estimated": "confirmed"},
    "solution_fit": {"none": "partial", "partial": "full", "unknown": "full"},
    "position": {"follower": "challenger", "challenger": "leader", "unknown": "leader"},
    "strength": {"stronger": "equal", "equal": "weaker", "unknown": "weaker"},
    "financial_health": {"poor": "fair", "fair": "good", "unknown": "good"},
    "loyalty": {"prospect": "customer", "customer": "client", "client": "supporter", "supporter": "advocate"},
    "receptivity": {v: "growth" for v in ("even_keel", "overconfident", "unknown")},
}
NEUTRAL_SIGNALS = {"tender"}  # a published tender is a fact of the deal, not a problem to go away


def improvements(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every deal that differs from ``data`` in one fact, made better; with what changed."""

    def changed(what: str, edit: Callable[[dict[str, Any]], None]) -> tuple[str, dict[str, Any]]:
        copied = copy.deepcopy(data)
        edit(copied)
        return what, copied

    def step(holder_path: tuple, field: str, enum: str, default: str) -> Iterator[tuple[str, dict[str, Any]]]:
        holder = _at(data, holder_path)
        better = _BETTER[enum].get(holder.get(field, default))
        if better is not None:
            yield changed(
                f"{holder_path}.{field} -> {better}", lambda d: _at(d, holder_path).__setitem__(field, better)
            )

    yield from step((), "solution_fit", "solution_fit", "unknown")
    yield from step((), "position", "position", "unknown")
    yield from step(("budget",), "status", "budget_status", "unknown")
    yield from step(("account",), "financial_health", "financial_health", "unknown")
    if "loyalty" in data["account"]:
        yield from step(("account",), "loyalty", "loyalty", "prospect")
    budget = data.get("budget", {})
    if budget.get("amount") is not None:
        yield changed("budget amount doubled", lambda d: d["budget"].update(amount=budget["amount"] * 2))
    for field in ("process_known", "timeframe_known", "criteria_known"):
        if data.get("decision", {}).get(field) is not True:
            yield changed(f"decision.{field}", lambda d, f=field: d.setdefault("decision", {}).__setitem__(f, True))
    account = data["account"]
    if account.get("restricted"):
        yield changed("account not restricted", lambda d: d["account"].update(restricted=False))
    if account.get("satisfaction", 5) < 5:
        yield changed("satisfaction + 1", lambda d: d["account"].update(satisfaction=account["satisfaction"] + 1))
    if account.get("months_since_last_order"):
        yield changed("ordered this month", lambda d: d["account"].update(months_since_last_order=0))
    if data.get("days_in_stage"):
        yield changed("moved recently", lambda d: d.update(days_in_stage=0))
    for signal in data.get("signals", []):
        if signal not in NEUTRAL_SIGNALS:
            yield changed(f"no {signal}", lambda d, s=signal: d["signals"].remove(s))
    for index, _ in enumerate(data.get("competitors", [])):
        yield from step(("competitors", index), "strength", "strength", "unknown")
    for index, person in enumerate(data.get("stakeholders", [])):
        at = ("stakeholders", index)
        yield from step(at, "attitude", "attitude", "unknown")
        yield from step(at, "receptivity", "receptivity", "unknown")
        if not person.get("contacted"):
            yield changed(f"{person['name']} met", lambda d, i=index: d["stakeholders"][i].update(contacted=True))
        if person.get("days_since_contact"):
            yield changed(
                f"{person['name']} seen today", lambda d, i=index: d["stakeholders"][i].update(days_since_contact=0)
            )
        for field in ("org_need_met", "personal_need_met"):
            if person.get(field) is not True:
                yield changed(
                    f"{person['name']}.{field}", lambda d, i=index, f=field: d["stakeholders"][i].update({f: True})
                )
        if person.get("favors"):
            yield changed(f"{person['name']} favours nobody", lambda d, i=index: d["stakeholders"][i].pop("favors"))


def _at(data: dict[str, Any], path: tuple) -> Any:
    for part in path:
        data = data.setdefault(part, {}) if isinstance(part, str) else data[part]
    return data


@PROPERTY
@given(deals(), st.integers(0, 10_000))
def test_improving_one_fact_never_lowers_health(data, pick):
    options = list(improvements(data))
    if not options:
        return
    what, better = options[pick % len(options)]
    before, after = _assess(data), _assess(better)
    assert after.health >= before.health, (what, before.deductions, after.deductions)


# --- declared contradictions ------------------------------------------------------------------------

EXCLUSIONS = sorted({tuple(sorted((r.id, other))) for r in KB.rules for other in r.model.excludes})
MANY = settings(PROPERTY, max_examples=20_000 if LONG else 1000)


def _given(data: dict[str, Any]) -> set[str]:
    """The rules whose advice is given, folded into another item or not (a folded item is still
    listed in the reasons of the item that speaks for it): cheaper than rendering every template."""
    outcome = _run(data)
    firings = [(f, advice.people(f, KB)) for f in outcome.firings if not f.rule.derives]
    return {f.rule.id for f, _ in advice.without_superseded(firings)}


@MANY
@given(deals())
def test_no_declared_contradiction_is_ever_given_together(data):
    assert EXCLUSIONS, "the playbook declares no exclusions to check"
    given = _given(data)
    assert [pair for pair in EXCLUSIONS if set(pair) <= given] == []
