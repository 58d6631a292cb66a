"""Stratified negation: the order in which rules must fire for ``not`` to mean "never".

The engine fires activations in agenda order, and a firing is final. A rule that says "no
red flag about this person" could therefore fire before the rule that derives that red flag has
had its turn. The cure, as in Datalog and CLIPS practice, is to give rules strata: a rule that
negates a derived fact type sits above every rule that produces that type, and every derive rule
sits above every advice rule (advice produces no facts, so it can always wait). The compiler turns
strata into experta salience. A type that depends on its own absence has no stratum: lint
reports that cycle.
"""

from __future__ import annotations

from dealcoach.engine.playbook.rulelang import Negation, Rule
from dealcoach.engine.problems import Problem

DERIVE_BASE_SALIENCE = 1000


def _negated_types(rule: Rule) -> set[str]:
    return {p.fact_type for b in rule.branches for c in b.conditions if isinstance(c, Negation) for p in c.patterns}


def levels(rules: list[Rule]) -> tuple[dict[str, int], list[Rule]]:
    """Each derive rule's stratum (0 = no negated derived input), and the rules caught in a cycle."""
    producers: dict[str, list[Rule]] = {}
    for rule in rules:
        for pattern in rule.derive:
            producers.setdefault(pattern.fact_type, []).append(rule)
    level = {rule.id: 0 for rule in rules if rule.derives}
    for _ in range(len(level) + 1):
        changed = False
        for rule in rules:
            if not rule.derives:
                continue
            needed = max((level[p.id] + 1 for t in _negated_types(rule) for p in producers.get(t, ())), default=0)
            if needed > level[rule.id]:
                level[rule.id], changed = needed, True
        if not changed:
            return level, []
    cyclic = [r for r in rules if r.derives and level[r.id] >= len(level)]
    return level, cyclic


def salience(rule: Rule, level: dict[str, int]) -> int:
    """Derive rules first, lower strata before higher ones; advice rules last."""
    return DERIVE_BASE_SALIENCE - level[rule.id] if rule.derives else 0


def cycle_problems(rules: list[Rule]) -> list[Problem]:
    _, cyclic = levels(rules)
    return [
        rule.problem(
            ("derive",),
            "this rule's derived facts depend, through a 'not', on their own absence; "
            "no order of firing can make it consistent",
        )
        for rule in cyclic
    ]
