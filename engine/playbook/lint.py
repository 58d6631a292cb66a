"""Checks across rules that a single rule's check cannot see.

* conditions that can never hold together (``stage`` must be intent and decision at once);
* derived fact types that no rule produces, or that no rule uses.

Both mean a rule can never matter, which is almost always a trainer's mistake, so they are
problems like any other: ``kb lint`` reports them and ``advise`` refuses a knowledge base that has them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dealcoach.engine.deals.facts import FieldSpec, Schema
from dealcoach.engine.deals.vocabulary import Vocabulary
from dealcoach.engine.playbook.compiler import effective_op, literal
from dealcoach.engine.playbook.rulelang import Branch, FieldTest, Negation, Pattern, Ref, Rule
from dealcoach.engine.problems import Problem

# Fact types of which a deal has exactly one: all patterns on them match the same fact.
SINGLETONS = ("deal", "account", "budget", "decision", "info", "rep")
OPTIONAL_ENUMS = {("account", "loyalty")}  # enum fields a deal may leave empty (None)


@dataclass
class _Domain:
    """What a field may still be after some tests: a finite set, or a numeric interval."""

    values: set[Any] | None = None
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    required: set[Any] = field(default_factory=set)
    forbidden: set[Any] = field(default_factory=set)
    any_of: list[set[Any]] = field(default_factory=list)

    def empty(self) -> bool:
        if self.values is not None and not self.values:
            return True
        if self.low > self.high or (self.low == self.high and (self.low_open or self.high_open)):
            return True
        return bool(self.required & self.forbidden) or any(options <= self.forbidden for options in self.any_of)


def _finite(spec: FieldSpec, fact_type: str, field_name: str, vocabulary: Vocabulary) -> set[Any] | None:
    if spec.type == "bool":
        return {True, False}
    if spec.type == "tristate":
        return {True, False, None}
    if spec.is_enum and not spec.many:
        values: set[Any] = set(vocabulary.enums.get(spec.type, {}))
        return values | {None} if (fact_type, field_name) in OPTIONAL_ENUMS else values
    return None


def _narrow(domain: _Domain, test: FieldTest, spec: FieldSpec) -> None:
    op = effective_op(test, spec)
    value = tuple(literal(v, spec) for v in test.value) if isinstance(test.value, tuple) else literal(test.value, spec)
    if not _hashable(value):
        return  # a list or mapping where a value belongs: the rule check reports it
    if spec.many:
        if op == "has":
            domain.required.add(value)
        elif op == "has_none":
            domain.forbidden |= set(value)
        elif op == "has_any":
            domain.any_of.append(set(value))
        return
    if domain.values is not None:
        keep = {
            "eq": lambda v: v == value,
            "ne": lambda v: v != value,
            "in": lambda v: v in value,
            "not_in": lambda v: v not in value,
            "known": lambda v: (v is not None and v != "unknown") == value,
        }.get(op)
        if keep:
            domain.values = {v for v in domain.values if keep(v)}
    if spec.is_number and isinstance(value, int | float) and not isinstance(value, bool):
        if op in ("eq", "gt", "gte") and (value > domain.low or (value == domain.low and op == "gt")):
            domain.low, domain.low_open = value, op == "gt"
        if op in ("eq", "lt", "lte") and (value < domain.high or (value == domain.high and op == "lt")):
            domain.high, domain.high_open = value, op == "lt"


def _contradictions(rule: Rule, branch: Branch, schema: Schema, vocabulary: Vocabulary) -> list[Problem]:
    domains: dict[tuple[Any, str], _Domain] = {}
    first_test: dict[tuple[Any, str], FieldTest] = {}
    problems = []
    for index, pattern in enumerate(branch.patterns):
        fact_type = schema.types.get(pattern.fact_type)
        if fact_type is None:
            continue
        owner = pattern.fact_type if pattern.fact_type in SINGLETONS else index
        for test in pattern.tests:
            spec = fact_type.fields.get(test.field)
            if spec is None or isinstance(test.value, Ref):
                continue
            key = (owner, test.field)
            finite = _finite(spec, pattern.fact_type, test.field, vocabulary)
            values = test.value if isinstance(test.value, tuple) else (test.value,)
            if finite is not None and test.op != "known" and not all(_member(literal(v, spec), finite) for v in values):
                continue  # a value outside the field's domain: the rule check reports it
            domain = domains.setdefault(key, _Domain(finite))
            was_empty = domain.empty()
            _narrow(domain, test, spec)
            first_test.setdefault(key, test)
            if domain.empty() and not was_empty:
                problems.append(
                    rule.problem(
                        test.path,
                        f"this test on {pattern.fact_type}.{test.field} can never hold "
                        f"together with the one at {_where(rule, first_test[key])}",
                    )
                )
    return problems


def _member(value: Any, domain: set[Any]) -> bool:
    """``value in domain``, false for a value that cannot be in a set (a list where a rule's author
    wrote ``[[accept]]``): the rule check reports that value."""
    return _hashable(value) and value in domain


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _where(rule: Rule, test: FieldTest) -> str:
    line, column = rule.document.locate(rule.path + test.path)
    return f"line {line}, column {column}"


def contradictions(rules: Iterable[Rule], schema: Schema, vocabulary: Vocabulary) -> list[Problem]:
    return [p for rule in rules for branch in rule.branches for p in _contradictions(rule, branch, schema, vocabulary)]


def _consumed(rule: Rule) -> set[str]:
    used = set()
    for branch in rule.branches:
        for condition in branch.conditions:
            if isinstance(condition, Pattern):
                used.add(condition.fact_type)
            elif isinstance(condition, Negation):
                used |= {p.fact_type for p in condition.patterns}
    return used


def derived_flow(rules: list[Rule], schema: Schema, consumed_elsewhere: Iterable[str] = ()) -> list[Problem]:
    """Derived types that nothing produces or nothing consumes (rules, or the assessment)."""
    produced = {p.fact_type for rule in rules for p in rule.derive}
    consumed = set(consumed_elsewhere).union(*(_consumed(rule) for rule in rules))
    problems = []
    for name, fact_type in schema.types.items():
        if not fact_type.derived:
            continue
        file, line, column = schema.declared_at.get(name, ("derived.yaml", 0, 0))
        if name not in produced:
            problems.append(
                Problem(file, line, column, name, f"no rule derives {name!r}; rules that match it can never fire")
            )
        elif name not in consumed:
            producers = ", ".join(sorted(r.id for r in rules if any(p.fact_type == name for p in r.derive)))
            problems.append(
                Problem(file, line, column, name, f"no rule uses {name!r}, so deriving it ({producers}) has no effect")
            )
    return problems
