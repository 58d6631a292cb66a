"""The deal-level assessment: five qualification criteria, red flags, and a health score.

Rules conclude ``criterion`` and ``red_flag`` facts; this module only adds them up, with the
weights of ``kb/assessment.yaml``, and keeps every deduction with its reason so that the score
can be explained line by line.

How conclusions on one criterion combine (``PRECEDENCE``): any ``at_risk`` wins, because one
known risk is enough to need work whatever else is true; otherwise ``met`` replaces "nothing
known", because a rule that establishes the criterion is positive knowledge; a criterion on which
no rule concludes stays ``unknown``. With met costing nothing, unknown a little and at risk the
most, the health score cannot fall when a fact improves, as long as no rule concludes a risk from
an improvement (``tests/test_properties.py`` checks this on generated deals).

A person is one problem however many flags describe them: a saboteur who is also a gatekeeper
favouring a rival costs the heaviest of those flags once, and the others are listed at 0 points.
Taking a flag away can only lower that maximum, so the score stays monotonic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dealcoach.engine.advising.advice import Explainer
from dealcoach.engine.advising.scoring import CRITERIA
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.matching.runner import Outcome
from dealcoach.engine.playbook.kb import KnowledgeBase

PRECEDENCE = ("at_risk", "met", "unknown")  # the first that any rule concludes decides


@dataclass
class Assessment:
    health: int
    criteria: dict[str, str]
    red_flags: list[dict[str, Any]]
    deductions: list[dict[str, Any]] = field(default_factory=list)
    stage_focus: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "health": self.health,
            "criteria": self.criteria,
            "stage_focus": self.stage_focus,
            "red_flags": self.red_flags,
            "deductions": self.deductions,
        }


def assess(outcome: Outcome, kb: KnowledgeBase, lang: Lang) -> Assessment:
    explainer = Explainer(kb, outcome, lang)
    vocabulary = kb.vocabulary
    derived = [(fact_type, dict(values), d) for (fact_type, values), d in sorted(outcome.derivations.items())]
    criteria = {name: "unknown" for name in CRITERIA}
    reasons: dict[str, str] = {}
    for fact_type, values, derivation in derived:
        name, status = values.get("name"), values.get("status")
        if fact_type == "criterion" and PRECEDENCE.index(status) < PRECEDENCE.index(criteria[name]):
            criteria[name] = status
            reasons[name] = f"{derivation.rule.id}: {'; '.join(explainer.because(derivation.firing))}"
    deductions = []
    for name, status in criteria.items():
        points = kb.scoring.criterion_points(name, status)
        if points:
            label = (
                f"{vocabulary.label('criterion', name, lang)} = {vocabulary.label('criterion_status', status, lang)}"
            )
            deductions.append({"points": points, "reason": label, "because": reasons.get(name, "")})
    flags = []
    for fact_type, values, derivation in derived:
        if fact_type != "red_flag":
            continue
        code, who = values["code"], values.get("stakeholder") or None
        text = vocabulary.label("red_flag", code, lang)
        flags.append({"flag": code, "text": text, "stakeholder": who})
        because = f"{derivation.rule.id}: {'; '.join(explainer.because(derivation.firing))}"
        reason = f"{text}{f' ({who})' if who else ''}"
        deductions.append({"points": kb.scoring.flag_points(code), "reason": reason, "because": because, "who": who})
    deductions = _once_per_person(deductions, lang)
    health = max(0, kb.scoring.start - sum(d["points"] for d in deductions))
    return Assessment(health, criteria, flags, deductions, _stage_focus(derived, kb, lang))


def _once_per_person(deductions: list[dict[str, Any]], lang: Lang) -> list[dict[str, Any]]:
    """Each person's heaviest flag counts; their other flags stay listed, at 0 points, saying so."""
    heaviest: dict[str, dict[str, Any]] = {}
    for item in deductions:
        who = item.get("who")
        if who and item["points"] > heaviest.get(who, {"points": -1})["points"]:
            heaviest[who] = item
    counted = []
    for item in deductions:
        who = item.pop("who", None)
        lead = heaviest.get(who) if who else None
        if lead is not None and lead is not item:
            note = "，同一人只计一次" if lang == "zh" else "; one person counts once"
            item = {**item, "points": 0, "reason": f"{item['reason']}{note}"}
        counted.append(item)
    return counted


def _stage_focus(derived: list[tuple[str, dict[str, Any], Any]], kb: KnowledgeBase, lang: Lang) -> list[dict[str, Any]]:
    """The roles that matter at this stage, in vocabulary order, and whether we have met someone in each."""
    focus = {v["role"] for t, v, _ in derived if t == "focus_role"}
    uncovered = {v["role"] for t, v, _ in derived if t == "focus_uncovered"}
    return [
        {"role": role, "text": kb.vocabulary.label("role", role, lang), "covered": role not in uncovered}
        for role in kb.vocabulary.ids("role")
        if role in focus
    ]
