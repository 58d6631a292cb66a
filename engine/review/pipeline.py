"""One deal's review record, the risk that orders the pipeline, and the pipeline's summary.

Risk (README, "Pipeline review") puts health, value and stage together:

    risk = (100 - health) x stage weight x value weight
    value weight = 1 + log10(1 + value / 100,000)      (1 when the value is unknown)

A deal in decision with health 40 worth 2M outranks one in research with health 30 worth 200K:
the money and the nearness of the decision make the same weakness more urgent. Ties go to the
lower health, then to the file name, so the order never depends on how the run was split.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from dealcoach.engine.deals.vocabulary import Lang, Vocabulary

REVIEW_SCHEMA_ID = "dealcoach.review/1"
STAGE_WEIGHTS = {
    "intent": 0.5,
    "research": 0.6,
    "preselection": 0.7,
    "evaluation": 0.85,
    "decision": 1.0,
    "use": 0.6,
    "unknown": 0.8,
}
VALUE_UNIT = 100_000
STEPS = 3  # steps shown per deal
THEME_MIN = 2  # a pattern across deals needs at least two of them
THEMES = 10


def risk(health: int, stage: str, value: float | None) -> float:
    """The pipeline's ordering key (see the module's docstring), rounded so that it prints stably."""
    value_weight = 1 + math.log10(1 + value / VALUE_UNIT) if value else 1.0
    return round((100 - health) * STAGE_WEIGHTS.get(stage, STAGE_WEIGHTS["unknown"]) * value_weight, 2)


def record(file: str, deal: Any, document: dict[str, Any]) -> dict[str, Any]:
    """The line a review keeps for a deal: the advise document plus where it came from, its owner
    and what the pipeline needs (stage, value, currency, risk)."""
    health = document["assessment"]["health"]
    return {
        **document,
        "file": file,
        "owner": deal.owner,
        "stage": deal.stage,
        "value": deal.value,
        "currency": deal.currency,
        "risk": risk(health, deal.stage, deal.value),
    }


def order_key(line: dict[str, Any]) -> tuple[float, int, str]:
    return (-line["risk"], line["assessment"]["health"], line["file"])


def flag_ids(line: dict[str, Any]) -> list[str]:
    """A deal's red flags as stable ids (``code`` or ``code:person``), to compare week over week."""
    return sorted({f"{f['flag']}:{f['stakeholder']}" if f["stakeholder"] else f["flag"] for f in _flags(line)})


def _flags(line: dict[str, Any]) -> list[dict[str, Any]]:
    return line["assessment"]["red_flags"]


@dataclass
class Tally:
    deals: int = 0
    value: float = 0.0
    health: int = 0
    at_risk: int = 0  # health below AT_RISK

    def add(self, line: dict[str, Any]) -> None:
        self.deals += 1
        self.value += line["value"] or 0
        self.health += line["assessment"]["health"]
        self.at_risk += line["assessment"]["health"] < AT_RISK

    def as_json(self) -> dict[str, Any]:
        return {
            "deals": self.deals,
            "value": round(self.value, 2),
            "average_health": round(self.health / self.deals) if self.deals else None,
            "below_50": self.at_risk,
        }


AT_RISK = 50


@dataclass
class Summary:
    """The pipeline added up deal by deal: constant memory per stage, owner, flag and role,
    never per deal, so it stays small for 100,000 deals."""

    total: Tally = field(default_factory=Tally)
    stages: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    owners: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    flags: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    unmet: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    focus: Counter[tuple[str, str]] = field(default_factory=Counter)
    currencies: set[str] = field(default_factory=set)
    health_by_stage: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0, 0]))

    def add(self, line: dict[str, Any]) -> None:
        self.total.add(line)
        self.stages[line["stage"]].add(line)
        self.owners[line["owner"] or ""].add(line)
        self.currencies.add(line["currency"])
        self.health_by_stage[line["stage"]][min(4, line["assessment"]["health"] // 20)] += 1
        for code in sorted({f["flag"] for f in _flags(line)}):
            self.flags[code].add(line)
        for focus in line["assessment"]["stage_focus"]:
            key = (line["stage"], focus["role"])
            self.focus[key] += 1
            if not focus["covered"]:
                self.unmet[key].add(line)

    def as_json(self, vocabulary: Vocabulary, lang: Lang) -> dict[str, Any]:
        return {
            "deals": self.total.as_json(),
            "currency": sorted(self.currencies)[0] if len(self.currencies) == 1 else None,
            "themes": self.themes(vocabulary, lang),
            "stages": {stage: self.stages[stage].as_json() for stage in self._stage_order(vocabulary)},
            "health_by_stage": {stage: self.health_by_stage[stage] for stage in self._stage_order(vocabulary)},
            "owners": {owner: tally.as_json() for owner, tally in sorted(self.owners.items())},
            "red_flags": {code: tally.as_json() for code, tally in self._frequent_flags()},
        }

    def _stage_order(self, vocabulary: Vocabulary) -> list[str]:
        return [stage for stage in vocabulary.ids("stage") if stage in self.stages]

    def _frequent_flags(self) -> list[tuple[str, Tally]]:
        return sorted(self.flags.items(), key=lambda kv: (-kv[1].deals, -kv[1].value, kv[0]))

    def themes(self, vocabulary: Vocabulary, lang: Lang) -> list[dict[str, Any]]:
        """Patterns across deals, most frequent first: a red flag in several deals (with the
        value at stake), and a role the stage calls for that several deals have not met."""
        found = []
        for code, tally in self._frequent_flags():
            if tally.deals >= THEME_MIN:
                label = vocabulary.label("red_flag", code, lang)
                found.append((tally.deals, tally.value, {"kind": "red_flag", "id": code, **tally.as_json()}, label))
        for (stage, role), tally in sorted(self.unmet.items()):
            if tally.deals >= THEME_MIN:
                of = self.focus[(stage, role)]
                item = {"kind": "role_not_met", "id": role, "stage": stage, "of": of, **tally.as_json()}
                found.append((tally.deals, tally.value, item, ""))
        found.sort(key=lambda t: (-t[0], -t[1], t[2]["kind"], t[2]["id"], t[2].get("stage", "")))
        currency = sorted(self.currencies)[0] if len(self.currencies) == 1 else ""
        return [
            {**item, "text": theme_text(item, label, vocabulary, lang, currency)}
            for _, _, item, label in found[:THEMES]
        ]


def theme_text(item: dict[str, Any], label: str, vocabulary: Vocabulary, lang: Lang, currency: str) -> str:
    deals, worth = item["deals"], money(item["value"], lang, currency)
    if item["kind"] == "red_flag":
        if lang == "zh":
            return f"{deals} 个项目出现“{label}”" + (f"，涉及金额 {worth}" if item["value"] else "")
        return f"{label}: {deals} deals" + (f" worth {worth}" if item["value"] else "")  # deals >= THEME_MIN
    role = vocabulary.label("role", item["id"], lang)
    stage = vocabulary.label("stage", item["stage"], lang)
    if lang == "zh":
        return f"处于“{stage}”阶段的 {item['of']} 个项目中，有 {deals} 个还没见过{role}"
    return f"{role} not met in {deals} of {item['of']} {stage}-stage deals"


def money(value: float, lang: Lang, currency: str = "") -> str:
    """A sum as a manager reads it: 3.2M or 320万; the currency when the pipeline has one."""
    units = ((1e8, "亿"), (1e4, "万")) if lang == "zh" else ((1e9, "B"), (1e6, "M"), (1e3, "K"))
    text = next((f"{value / unit:.1f}".removesuffix(".0") + suffix for unit, suffix in units if value >= unit), None)
    text = text or f"{value:.0f}"
    return f"{text} {currency}".strip()


def movement(line: dict[str, Any], previous: dict[str, dict[str, Any]] | None) -> dict[str, Any] | None:
    """What changed since the previous review (``--since``): health, flags raised and cleared, the
    stage; a deal that was not in it is ``new``. None when there is nothing to compare with."""
    if previous is None:
        return None
    before = previous.get(line["file"])
    if before is None:
        return {"new": True}
    now, then = set(flag_ids(line)), set(before["flags"])
    return {
        "new": False,
        "health": line["assessment"]["health"] - before["health"],
        "flags_raised": sorted(now - then),
        "flags_cleared": sorted(then - now),
        "stage": None if before["stage"] == line["stage"] else [before["stage"], line["stage"]],
    }


def previous_review(text: str) -> dict[str, dict[str, Any]]:
    """The deals of an earlier review (its ``--format json`` or ``jsonl``), by file; ValueError
    with what is wrong otherwise."""
    stripped = text.lstrip()
    try:
        if stripped.startswith("{") and "\n{" not in stripped:
            data = json.loads(text)
            lines = data["deals"] if isinstance(data, dict) and "deals" in data else [data]
        else:
            lines = [json.loads(row) for row in text.splitlines() if row.strip()]
        return {
            line["file"]: {"health": line["assessment"]["health"], "flags": flag_ids(line), "stage": line["stage"]}
            for line in lines
        }
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"not a dealcoach review (review --format json or jsonl): {err.__class__.__name__} {err}"
        ) from None
