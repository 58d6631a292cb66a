"""Realistic generated deals: for the property tests and for the co-firing review of ``kb coverage``.

Every enumerated value is drawn from the vocabulary, so a value a knowledge base adds (a signal, a
need kind) is generated too. Facts that depend on each other stay consistent the way a rep's file
would: only someone we have met has days since last contact; a need's owner, a reporting line and
a favoured competitor name someone listed; at most one competitor is the incumbent.

Every choice goes through a :class:`Chooser`, whose one primitive is a whole number in a range, so
the same generator serves a seeded random source (the command line) and hypothesis (the tests),
which can then shrink a failing deal to a small one. Choices are ordered so that the smallest
number is the plainest deal: fewer people, unknown values, no signals.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from dealcoach.engine.deals.deal import Info
from dealcoach.engine.deals.vocabulary import Vocabulary

T = TypeVar("T")

# Names without prefix relations among them, so that renaming them in a test is unambiguous.
NAMES = (
    "王建国",
    "李卫东",
    "张晓梅",
    "陈志强",
    "刘芳芳",
    "赵海涛",
    "周思远",
    "孙丽华",
    "Anna Berg",
    "Tom Okafor",
)
COMPETITORS = ("华拓通信", "国信云图", "Northwind")
NEEDS = ("全省网点统一办公", "少录一遍数据", "年底前上线", "降低停机时间")
TRISTATE = (None, True, False)
INFO_FIELDS = tuple(Info.model_fields)  # the nine information points, as the deal model has them


class Chooser(Protocol):
    def integer(self, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``, both included."""


class RandomChooser:
    """Choices from a seeded random source: the same seed gives the same deals."""

    def __init__(self, seed: int):
        self.random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self.random.randint(low, high)


class _Draw:
    """The generator's vocabulary of choices, on top of the one primitive."""

    def __init__(self, chooser: Chooser, vocabulary: Vocabulary):
        self.chooser, self.vocabulary = chooser, vocabulary

    def integer(self, low: int, high: int) -> int:
        return self.chooser.integer(low, high)

    def one(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def chance(self, percent: int) -> bool:
        """True in about ``percent`` of draws; shrinks to False."""
        return self.integer(0, 99) >= 100 - percent

    def enum(self, name: str, *, first: str = "unknown") -> str:
        """A value of an enum, with ``first`` (when it is one) as the plainest choice."""
        ids = self.vocabulary.ids(name)
        return self.one(sorted(ids, key=lambda v: v != first))

    def subset(self, options: Sequence[T], most: int) -> list[T]:
        picked = [o for o in options if self.chance(100 * most // (len(options) * 2) or 1)]
        return picked[:most]

    def maybe(self, percent: int, value: Any) -> Any:
        return value if self.chance(percent) else None


def deal(chooser: Chooser, vocabulary: Vocabulary) -> dict[str, Any]:
    """One realistic deal as the mapping a deal file holds."""
    draw = _Draw(chooser, vocabulary)
    competitors = _competitors(draw)
    people = _stakeholders(draw, [c["name"] for c in competitors])
    value = draw.one((None, 300_000, 1_000_000, 2_600_000, 9_000_000))
    data: dict[str, Any] = {
        "name": "generated deal",
        "account": _account(draw),
        "stage": draw.enum("stage"),
        "value": value,
        "solution_fit": draw.enum("solution_fit"),
        "position": draw.enum("position"),
        "budget": _budget(draw, value),
        "decision": {f: draw.one(TRISTATE) for f in ("process_known", "timeframe_known", "criteria_known")},
        "info": {f: draw.one(TRISTATE) for f in INFO_FIELDS},
        "competitors": competitors,
        "stakeholders": people,
        "needs": _needs(draw, [p["name"] for p in people]),
        "rep": {"style": draw.enum("style")},
        "signals": draw.subset(vocabulary.ids("signal"), 4),
        "days_in_stage": draw.maybe(50, draw.one((5, 30, 60, 120))),
    }
    return _without_none(data)


def _budget(draw: _Draw, value: int | None) -> dict[str, Any]:
    """An amount only where there is a budget to know the size of."""
    status = draw.enum("budget_status")
    amount = int((value or 1_000_000) * draw.one((1.0, 0.8, 1.2)))
    known = status in ("confirmed", "estimated") and draw.chance(70)
    return {"status": status, "amount": amount if known else None, "funding": draw.enum("funding")}


def _account(draw: _Draw) -> dict[str, Any]:
    return {
        "name": "客户",
        "tier": draw.enum("tier", first="other"),
        "procurement": draw.enum("procurement"),
        "purchase_pattern": draw.enum("purchase_pattern"),
        "financial_health": draw.enum("financial_health"),
        "phase": draw.enum("phase", first="establish"),
        "loyalty": draw.maybe(60, draw.enum("loyalty", first="prospect")),
        "satisfaction": draw.maybe(50, draw.integer(1, 5)),
        "months_since_last_order": draw.maybe(40, draw.one((0, 2, 5, 12))),
        "restricted": draw.chance(5),
        "market_share": draw.maybe(20, draw.one((5, 20, 45))),
        "our_share": draw.maybe(20, draw.one((10, 40, 80))),
    }


def _competitors(draw: _Draw) -> list[dict[str, Any]]:
    names = COMPETITORS[: draw.integer(0, len(COMPETITORS))]
    incumbent = draw.integer(-1, len(names) - 1) if names else -1
    return [
        {"name": name, "strength": draw.enum("strength"), "incumbent": index == incumbent}
        for index, name in enumerate(names)
    ]


def _stakeholders(draw: _Draw, competitors: list[str]) -> list[dict[str, Any]]:
    count = draw.integer(0, 7)
    names = sorted(NAMES, key=lambda _: draw.integer(0, 1000))[:count] if count else []
    roles = draw.vocabulary.ids("role")
    people = []
    for index, name in enumerate(names):
        contacted = draw.chance(55)
        person = {
            "name": name,
            "roles": draw.subset(roles, 2),
            "attitude": draw.enum("attitude"),
            "style": draw.enum("style"),
            "influence": draw.integer(1, 5),
            "contacted": contacted,
            "org_need_met": draw.one(TRISTATE),
            "personal_need_met": draw.one(TRISTATE),
            "receptivity": draw.enum("receptivity"),
            "days_since_contact": draw.maybe(50, draw.one((3, 25, 60))) if contacted else None,
            "reports_to": draw.maybe(40, draw.one(names[:index])) if index else None,
            "favors": draw.maybe(15, draw.one(competitors)) if competitors else None,
        }
        people.append(person)
    return people


def _needs(draw: _Draw, people: list[str]) -> list[dict[str, Any]]:
    return [
        {"text": text, "kind": draw.enum("need_kind", first="explicit"), "owner": draw.maybe(70, draw.one(people))}
        if people
        else {"text": text, "kind": draw.enum("need_kind", first="explicit")}
        for text in NEEDS[: draw.integer(0, 2)]
    ]


def _without_none(value: Any) -> Any:
    """Leave out what the rep would leave out: a missing value, not an explicit null."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value
