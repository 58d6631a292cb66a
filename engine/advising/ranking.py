"""Situational ranking: how urgent a piece of advice is on this deal, from ``kb/ranking.yaml``.

An item's urgency is the sum of the points of everything it acts on: a signal its rule tests
(a crisis, a complaint, a live price objection), a red flag or a criterion at risk whose grounds
it touches, the category that carries the deal's stage, its priority, and the influence of the
people it names. What an item *acts on* is read from the facts, not declared per rule: the item
tests a field of a fact (this person's ``contacted``, the budget's ``status``) that the red flag or
the at-risk conclusion was drawn from, directly or through the facts derived on the way. Fields
that describe the situation rather than what is wrong (the stage, a person's roles) are listed
under ``context`` and do not count; a flag listed under ``direct_flags`` is acted on only by a rule
that matches the flag itself or tests the same count. Items are shown by urgency, highest first; the fixed category
order only breaks ties (README, "How advice is ranked").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from dealcoach.engine.playbook.compiler import COUNT_TYPE, Derivation, Firing, bound_name, derived_key
from dealcoach.engine.playbook.rulelang import Count, Negation, Pattern
from dealcoach.engine.problems import Problem
from dealcoach.engine.yamlsource import Document

Touch = tuple[tuple, str]  # (the fact's identity, "fact_type.field")


class Ranking(BaseModel):
    """The points of ``kb/ranking.yaml``; a later layer's file replaces the earlier one."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    priority: dict[str, int] = {"high": 30, "medium": 15, "low": 0}
    influence: int = 2
    signals: dict[str, int] = {}
    red_flags: dict[str, int] = {"default": 20}
    criterion_at_risk: int | dict[str, int] = 15  # one figure for all, or per criterion with a default
    stage: dict[str, dict[str, int]] = {}
    context: list[str] = []
    direct_flags: list[str] = []
    categories: list[str] = []

    def flag_points(self, code: str) -> int:
        return self.red_flags.get(code, self.red_flags.get("default", 0))

    def criterion_points(self, name: str) -> int:
        points = self.criterion_at_risk
        return points if isinstance(points, int) else points.get(name, points.get("default", 0))


def check(ranking: Ranking, document: Document, enums: dict[str, Iterable[str]], fields: set[str]) -> list[Problem]:
    """Every name in the file must be one the knowledge base knows, so a typo never silently scores 0."""
    problems = []

    def expect(path: tuple, names: Iterable[str], allowed: Iterable[str], what: str) -> None:
        allowed = sorted(allowed)
        for name in names:
            if name not in allowed:
                problems.append(document.problem(path, f"{name!r} is not a {what}; use one of: {', '.join(allowed)}"))

    expect(("priority",), ranking.priority, enums["priority"], "priority")
    expect(("signals",), ranking.signals, enums["signal"], "signal")
    expect(("red_flags",), ranking.red_flags, [*enums["red_flag"], "default"], "red flag")
    if isinstance(ranking.criterion_at_risk, dict):
        expect(("criterion_at_risk",), ranking.criterion_at_risk, [*enums["criterion"], "default"], "criterion")
    expect(("stage",), ranking.stage, enums["stage"], "stage")
    for stage, points in ranking.stage.items():
        expect(("stage", stage), points, enums["category"], "category")
    expect(("direct_flags",), ranking.direct_flags, enums["red_flag"], "red flag")
    expect(("categories",), ranking.categories, enums["category"], "category")
    expect(("context",), ranking.context, fields, "fact field")
    return problems


@dataclass
class Situation:
    """What is wrong on this deal, each with the facts it was concluded from (its grounds)."""

    ranking: Ranking
    stage: str
    problems: list[tuple[int, str, set[Touch]]] = field(default_factory=list)  # points, what, grounds
    signals: dict[tuple, str] = field(default_factory=dict)  # identity of a signal fact -> its id

    @classmethod
    def of(cls, ranking: Ranking, stage: str, derivations: dict[tuple, list[Derivation]]) -> Situation:
        """``derivations``: every derivation of each derived fact, so that a conclusion drawn by
        several rules is acted on through the grounds of any of them."""
        situation = cls(ranking, stage)
        grounds = _Grounds(ranking, derivations)
        for key in sorted(derivations):
            fact_type, values = key[0], dict(key[1])
            if fact_type == "red_flag":
                points, what = ranking.flag_points(values["code"]), f"red_flag:{values['code']}"
            elif fact_type == "criterion" and values["status"] == "at_risk":
                points, what = ranking.criterion_points(values["name"]), f"criterion:{values['name']}"
            else:
                continue
            situation.problems.append((points, what, grounds.of(key)))
        return situation

    def urgency(self, firing: Firing, category: str, priority: str, influence: int) -> tuple[int, list[str]]:
        """The item's points, and what earned them (for ``--explain``)."""
        ranking = self.ranking
        touched = touches(firing, ranking.context)
        reasons = []
        points = ranking.priority.get(priority, 0) + ranking.influence * influence
        for identity, where in sorted(touched):
            if where == "signal.id":
                signal = dict(identity[1])["id"]
                if ranking.signals.get(signal):
                    points += ranking.signals[signal]
                    reasons.append(f"signal:{signal}")
        for problem_points, what, grounds in self.problems:
            if touched & grounds:
                points += problem_points
                reasons.append(what)
        stage_points = ranking.stage.get(self.stage, {}).get(category, 0)
        if stage_points:
            points += stage_points
            reasons.append(f"stage:{self.stage}")
        return points, reasons


def touches(firing: Firing, context: Iterable[str]) -> set[Touch]:
    """The fields of the facts the firing tested, as (identity, "type.field"), minus the context;
    a count or an absence the firing tested, as the same thing counted or missing."""
    skip = set(context)
    found: set[Touch] = set()
    branch = firing.branch
    for index, condition in enumerate(branch.conditions):
        if isinstance(condition, Count):  # the same count in two rules: the same thing counted
            found.add(((COUNT_TYPE, *_what(condition.pattern)), "count.value"))
        if isinstance(condition, Negation) and not condition.exists:  # the same thing missing
            found |= {((ABSENT, *_what(p)), "absent") for p in condition.patterns}
        if not isinstance(condition, Pattern):
            continue
        values = firing.facts[bound_name(branch, index)]
        identity = derived_key(condition.fact_type, values)
        for test in condition.tests:
            where = f"{condition.fact_type}.{test.field}"
            if where not in skip:
                found.add((identity, where))
    return found


ABSENT = "absent"


def _what(pattern: Pattern) -> tuple:
    """A pattern without its bindings: the same in every rule that writes the same tests."""
    return pattern.fact_type, tuple(sorted((t.field, t.op, repr(t.value)) for t in pattern.tests))


class _Grounds:
    """A derived fact's grounds: what its rules tested, and the grounds of derived facts they used."""

    def __init__(self, ranking: Ranking, derivations: dict[tuple, list[Derivation]]):
        self.context, self.derivations = ranking.context, derivations
        self.direct = set(ranking.direct_flags)
        self.memo: dict[tuple, set[Touch]] = {}

    def of(self, key: tuple) -> set[Touch]:
        if key in self.memo:
            return self.memo[key]
        # the derived fact itself (a rule matching the red flag acts on it); a cycle adds nothing more
        self.memo[key] = found = {(key, f"{key[0]}.{name}") for name, _ in key[1]}
        for derivation in self.derivations.get(key, ()):
            tested = touches(derivation.firing, self.context)
            if key[0] == "red_flag" and dict(key[1]).get("code") in self.direct:
                tested = {t for t in tested if t[1] == "count.value"}
            found |= tested
        for identity, _ in list(found):
            if identity in self.derivations and identity != key:
                found |= self.of(identity)
        return found


def tie_break(categories: list[str], fallback: Iterable[str]) -> list[str]:
    """The category order: the file's, then any category it leaves out, in the fallback order."""
    return [*categories, *(c for c in fallback if c not in categories)]
