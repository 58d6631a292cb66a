"""The rule compiler: checks parsed rules against the fact schema and turns them into experta.

Checking and compiling are one walk over the same tree, so a rule that passes the check is a
rule the compiler can build. Each branch of a rule (its alternatives expanded) becomes one
experta rule; every positive pattern is bound (named or not) so that the engine hands back the
exact facts that matched, which is what ``because`` and ``--explain`` are built from.

Aggregates (``count``) have no counterpart in experta's RETE; they count base facts, which are
all known before the run, so the runner counts them once per deal and declares the results as
``count`` facts that the compiled rule matches like any other.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from dealcoach.engine.deals.facts import FactType, FieldSpec, Schema
from dealcoach.engine.deals.vocabulary import Vocabulary
from dealcoach.engine.matching.agenda import DepthStrategy
from dealcoach.engine.matching.compat import AS, EXISTS, MATCH, NOT, TEST, Fact, KnowledgeEngine, P
from dealcoach.engine.matching.compat import Rule as ExpertaRule
from dealcoach.engine.matching.rete import TypeIndexedMatcher
from dealcoach.engine.playbook import strata
from dealcoach.engine.playbook.rulelang import Branch, Count, FieldTest, Negation, Pattern, Ref, Rule
from dealcoach.engine.problems import Problem, quote

COUNT_TYPE = "count"
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "gte": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "lte": lambda a, b: a is not None and b is not None and a <= b,
}


def effective_op(test: FieldTest, spec: FieldSpec) -> str:
    """On a list field (roles) a plain value means membership and a list means any of them."""
    if spec.many:
        return {"eq": "has", "in": "has_any", "not_in": "has_none"}.get(test.op, test.op)
    return test.op


def literal(value: Any, spec: FieldSpec) -> Any:
    """The fact value a literal in a rule stands for: ``unknown`` on a true/false field is None."""
    if spec.type == "tristate" and value == "unknown":
        return None
    return value


@cache
def predicate(op: str, expected: Any, spec: FieldSpec) -> Callable[[Any], bool]:
    """A test of one field's value against a literal.

    Cached so that equal tests are the same object: experta shares an alpha node between rules
    only when their checks compare equal, and a shared node is visited once per fact, not once
    per rule. Tests that can only pass for a known set of values say so in ``test.index``, so that
    the matcher can look them up by value instead of trying each (see ``engine/matching/rete.py``).
    """
    expected = tuple(literal(v, spec) for v in expected) if isinstance(expected, tuple) else literal(expected, spec)
    if op in COMPARISONS:
        compare = COMPARISONS[op]
        test: Any = lambda value: compare(value, expected)  # noqa: E731
    else:
        test = {
            "in": lambda value: value in expected,
            "not_in": lambda value: value not in expected,
            "has": lambda value: expected in value,
            "has_any": lambda value: any(v in value for v in expected),
            "has_none": lambda value: not any(v in value for v in expected),
            "known": lambda value: (value is not None and value != "unknown") == expected,
        }[op]
    test.index = _index(op, expected)
    return test


def _index(op: str, expected: Any) -> tuple[str, frozenset[Any]] | None:
    """("value", V): passes only if the field's value is in V; ("member", V): only if the list shares one with V."""
    index = {
        "eq": ("value", (expected,)),
        "in": ("value", expected),
        "has": ("member", (expected,)),
        "has_any": ("member", expected),
    }.get(op)
    if index is None:
        return None
    kind, values = index
    return kind, frozenset(values)


class _RefTest:
    """A TEST over two bound variables; experta reads the variable names from the signature."""

    def __init__(self, op: str, mine: str, theirs: str):
        self.compare = COMPARISONS[op]
        self.mine, self.theirs = mine, theirs
        kind = inspect.Parameter.KEYWORD_ONLY
        self.__signature__ = inspect.Signature([inspect.Parameter(mine, kind), inspect.Parameter(theirs, kind)])

    def __call__(self, **values: Any) -> bool:
        return self.compare(values[self.mine], values[self.theirs])


@dataclass
class CountSpec:
    """One ``count`` condition: counted per deal over the base facts before the run."""

    key: str
    fact_type: FactType
    tests: list[tuple[str, Callable[[Any], bool]]]

    def count(self, facts: Iterable[Fact]) -> int:
        cls = self.fact_type.fact_class
        return sum(1 for f in facts if isinstance(f, cls) and all(test(f[name]) for name, test in self.tests))


def bound_name(branch: Branch, index: int) -> str:
    """The engine variable holding the fact matched by condition ``index`` of ``branch``."""
    condition = branch.conditions[index]
    if isinstance(condition, Pattern) and condition.binding:
        return condition.binding
    return f"_c{index}"


class Checker:
    """Finds what is wrong with a rule: names, fields, values, operators, references."""

    def __init__(self, schema: Schema, vocabulary: Vocabulary):
        self.schema = schema
        self.vocabulary = vocabulary

    def check(self, rule: Rule) -> list[Problem]:
        problems: list[Problem] = []
        for branch in rule.branches:
            problems += self._branch(rule, branch)
        scope = {b: p.fact_type for br in rule.branches for b, p in br.bindings.items()}
        for pattern in rule.derive:
            problems += self._derive(rule, pattern, scope)
        if rule.derives == (rule.model.advice is not None):
            problems.append(
                rule.problem(
                    (), "give either 'advice' (what to tell the rep) or 'derive' (facts for other rules), not both"
                )
            )
        if rule.model.advice is not None and rule.model.priority is None:
            problems.append(rule.problem(("priority",), "an advice rule needs a priority: high, medium or low"))
        return sorted(set(problems))

    def _branch(self, rule: Rule, branch: Branch) -> list[Problem]:
        problems = []
        seen: dict[str, Pattern] = {}
        for pattern in branch.patterns:
            if pattern.binding in seen:
                problems.append(rule.problem(pattern.path + ("as",), f"the name {pattern.binding!r} is bound twice"))
            if pattern.binding:
                seen[pattern.binding] = pattern
        scope = {b: p.fact_type for b, p in seen.items()}
        for condition in branch.conditions:
            if isinstance(condition, Pattern):
                problems += self._pattern(rule, condition, scope, refs="any")
            elif isinstance(condition, Negation):
                for pattern in condition.patterns:
                    problems += self._pattern(rule, pattern, scope, refs="eq", bindable=False)
            else:
                problems += self._count(rule, condition)
        return problems

    def _count(self, rule: Rule, count: Count) -> list[Problem]:
        problems = self._pattern(rule, count.pattern, {}, refs="none", bindable=False)
        fact_type = self.schema.types.get(count.pattern.fact_type)
        if fact_type and fact_type.derived:
            problems.append(rule.problem(count.pattern.path, "count works on facts of the deal, not on derived facts"))
        return problems

    def _pattern(
        self, rule: Rule, pattern: Pattern, scope: dict[str, str], *, refs: str, bindable: bool = True
    ) -> list[Problem]:
        fact_type = self.schema.types.get(pattern.fact_type)
        if fact_type is None or pattern.fact_type == COUNT_TYPE:
            known = ", ".join(t for t in self.schema.types if t != COUNT_TYPE)
            return [rule.problem(pattern.path, f"unknown fact type {pattern.fact_type!r}; use one of: {known}")]
        problems = []
        if pattern.binding and not bindable:
            problems.append(
                rule.problem(
                    pattern.path + ("as",), "a name bound inside not/exists/count is never visible; remove 'as'"
                )
            )
        for test in pattern.tests:
            problems += [rule.problem(test.path, m) for m in self._test(fact_type, test, scope, refs)]
        return problems

    def _test(self, fact_type: FactType, test: FieldTest, scope: dict[str, str], refs: str) -> list[str]:
        spec = fact_type.fields.get(test.field)
        if spec is None:
            return [f"{fact_type.name} has no field {test.field!r}; fields: {', '.join(fact_type.fields)}"]
        op = effective_op(test, spec)
        if op in ("gt", "gte", "lt", "lte") and not spec.is_number:
            return [f"{op} compares numbers, but {test.field} is {spec.type}"]
        if op in ("gt", "gte", "lt", "lte", "eq", "ne", "has") and isinstance(test.value, tuple):
            return [f"{op} takes one value, not a list; got {quote(list(test.value))}"]
        if op in ("has", "has_any", "has_none") and not spec.many:
            return [f"{op} tests a list field, but {test.field} holds one value"]
        if isinstance(test.value, Ref):
            return self._ref(test, op, spec, scope, refs)
        if op == "known":
            return [] if isinstance(test.value, bool) else [f"known takes true or false; got {quote(test.value)}"]
        values = test.value if isinstance(test.value, tuple) else (test.value,)
        if op in ("in", "not_in", "has_any", "has_none") and not isinstance(test.value, tuple):
            return [f"{op} takes a list of values; got {quote(test.value)}"]
        return [m for v in values for m in self._value(test.field, spec, v)]

    def _ref(self, test: FieldTest, op: str, spec: FieldSpec, scope: dict[str, str], refs: str) -> list[str]:
        ref: Ref = test.value
        if refs == "none":
            return [f"{ref} cannot be used in a count; counts look at one fact at a time"]
        if refs == "eq" and op != "eq":
            return [f"inside not/exists a reference can only be tested for equality, not with {op}"]
        if op not in COMPARISONS:
            return [f"{op} cannot compare with a reference; use eq, ne, gt, gte, lt or lte"]
        if ref.binding not in scope:
            names = ", ".join(sorted(scope)) or "none"
            return [f"{ref} refers to {ref.binding!r}, which no pattern binds with 'as' (bound: {names})"]
        other = self.schema.types[scope[ref.binding]]
        if ref.field not in other.fields:
            return [f"{ref}: {other.name} has no field {ref.field!r}; fields: {', '.join(other.fields)}"]
        return []

    def _value(self, name: str, spec: FieldSpec, value: Any) -> list[str]:
        if spec.type == "tristate":
            ok = isinstance(value, bool) or value == "unknown"
            return [] if ok else [f"{name} is true, false or unknown; got {quote(value)}"]
        if spec.type == "bool":
            return [] if isinstance(value, bool) else [f"{name} is true or false; got {quote(value)}"]
        if spec.type == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return [] if ok else [f"{name} is a number; got {quote(value)}"]
        if spec.is_enum:
            if isinstance(value, str) and value in self.vocabulary.enums.get(spec.type, {}):
                return []
            return [f"{quote(value)} is not a value of {name}; use one of: {', '.join(self.vocabulary.ids(spec.type))}"]
        return [] if isinstance(value, str) else [f"{name} is text; got {quote(value)}"]

    def _derive(self, rule: Rule, pattern: Pattern, scope: dict[str, str]) -> list[Problem]:
        fact_type = self.schema.types.get(pattern.fact_type)
        if fact_type is None or not fact_type.derived:
            derived = ", ".join(t.name for t in self.schema.types.values() if t.derived)
            return [
                rule.problem(
                    pattern.path,
                    f"{pattern.fact_type!r} is not a derived fact type; declare it in derived.yaml "
                    f"(declared: {derived})",
                )
            ]
        problems = self._pattern(rule, pattern, scope, refs="eq", bindable=False)
        for test in pattern.tests:
            if test.op != "eq":
                problems.append(rule.problem(test.path, "derive sets values; write field: value or field: $name.field"))
        missing = set(fact_type.fields) - {t.field for t in pattern.tests}
        if missing:
            problems.append(
                rule.problem(
                    pattern.path,
                    f"derive must set every field of {fact_type.name}; missing: {', '.join(sorted(missing))}",
                )
            )
        return problems


@dataclass
class Firing:
    """One activation of one branch of a rule: the facts it matched, by bound name."""

    rule: Rule
    branch: Branch
    facts: dict[str, dict[str, Any]]


@dataclass
class Derivation:
    rule: Rule
    firing: Firing


def fact_values(fact: Fact) -> dict[str, Any]:
    """A fact's fields as a plain dict. Our values are scalars and tuples, which experta stores
    unchanged, so the generic (and slow) ``Fact.as_dict`` unfreezing is not needed."""
    return {k: v for k, v in fact.items() if not (isinstance(k, str) and k.startswith("__"))}


DerivedKey = tuple[str, tuple[tuple[str, Any], ...]]


def derived_key(fact_type: str, values: dict[str, Any]) -> DerivedKey:
    return fact_type, tuple(sorted(values.items()))


class PlaybookEngine(KnowledgeEngine):
    """The experta engine; compiled rules are attached to a subclass per knowledge base."""

    __matcher__ = TypeIndexedMatcher
    __strategy__ = DepthStrategy

    def __init__(self) -> None:
        super().__init__()
        self.firings: list[Firing] = []
        self.derived_by: dict[int, list[DerivedKey]] = {}

    def reset(self, **kwargs: Any) -> None:
        super().reset(**kwargs)
        self.firings = []
        self.derived_by = {}


@dataclass
class Compiler:
    schema: Schema
    counts: list[CountSpec] = field(default_factory=list)

    def engine_class(self, rules: list[Rule], *, stock: bool = False) -> type[PlaybookEngine]:
        """The engine for ``rules``; ``stock`` builds it on experta's own matcher and agenda, the
        reference ``tests/test_matcher.py`` compares the project's matcher with."""
        level, _ = strata.levels(rules)
        members: dict[str, Any] = {}
        if stock:
            from experta.matchers import ReteMatcher

            from dealcoach.engine.matching.agenda import TieBrokenDepthStrategy

            members.update(__matcher__=ReteMatcher, __strategy__=TieBrokenDepthStrategy)
        for number, rule in enumerate(rules):
            salience = strata.salience(rule, level)
            for branch in rule.branches:
                lhs = self._lhs(rule, branch)
                name = f"r{number}_{branch.index}"  # the agenda breaks ties by it (engine/matching/agenda.py)
                members[name] = ExpertaRule(*lhs, salience=salience)(self._action(rule, branch, name))
        return type("CompiledPlaybook", (PlaybookEngine,), members)

    def _lhs(self, rule: Rule, branch: Branch) -> list[Any]:
        referenced = {
            (t.value.binding, t.value.field)
            for c in branch.conditions
            for p in _patterns_of(c)
            for t in p.tests
            if isinstance(t.value, Ref)
        }
        positives, negatives, tests = [], [], []
        for index, condition in enumerate(branch.conditions):
            name = bound_name(branch, index)
            if isinstance(condition, Pattern):
                pattern, ref_tests = self._pattern(condition, name, referenced)
                positives.append(getattr(AS, name) << pattern)
                tests += ref_tests
            elif isinstance(condition, Negation):
                negatives.append(self._negation(condition, referenced))
            else:
                positives.append(getattr(AS, name) << self._count(rule, branch, index, condition))
        return positives + tests + negatives

    def _pattern(self, pattern: Pattern, name: str, referenced: set[tuple[str, str]]) -> tuple[Fact, list[Any]]:
        fact_type = self.schema.types[pattern.fact_type]
        constraints: dict[str, Any] = {}
        ref_tests = []

        def add(field_name: str, constraint: Any) -> None:
            constraints[field_name] = constraints[field_name] & constraint if field_name in constraints else constraint

        for test in pattern.tests:
            spec = fact_type.fields[test.field]
            op = effective_op(test, spec)
            if isinstance(test.value, Ref):
                theirs = f"v_{test.value.binding}_{test.value.field}"
                if op == "eq":
                    add(test.field, getattr(MATCH, theirs))
                else:
                    mine = f"w_{name}_{test.field}"
                    add(test.field, getattr(MATCH, mine))
                    ref_tests.append(TEST(_RefTest(op, mine, theirs)))
            else:
                add(test.field, P(predicate(op, test.value, spec)))
        for binding, field_name in sorted(referenced):
            if binding == pattern.binding:
                add(field_name, getattr(MATCH, f"v_{binding}_{field_name}"))
        return fact_type.make(**constraints), ref_tests

    def _negation(self, negation: Negation, referenced: set[tuple[str, str]]) -> Any:
        [pattern] = negation.patterns  # the parser allows one (see rulelang: experta's De Morgan rewrite)
        inner = self._pattern(pattern, "", referenced)[0]
        return EXISTS(inner) if negation.exists else NOT(inner)

    def _count(self, rule: Rule, branch: Branch, index: int, count: Count) -> Fact:
        fact_type = self.schema.types[count.pattern.fact_type]
        tests = [
            (t.field, predicate(effective_op(t, fact_type.fields[t.field]), t.value, fact_type.fields[t.field]))
            for t in count.pattern.tests
        ]
        key = f"{rule.id}#{branch.index}#{index}"
        self.counts.append(CountSpec(key, fact_type, tests))
        compare = COMPARISONS[count.op]
        return self.schema.types[COUNT_TYPE].make(key=key, value=P(lambda n: compare(n, count.value)))

    def _action(self, rule: Rule, branch: Branch, name: str) -> Callable[..., None]:
        names = [
            bound_name(branch, i)
            for i in range(len(branch.conditions))
            if not isinstance(branch.conditions[i], Negation)
        ]
        derived = [(self.schema.types[p.fact_type], p.tests) for p in rule.derive]

        def action(engine: PlaybookEngine, **context: Any) -> None:
            facts = {name: fact_values(context[name]) for name in names}
            firing = Firing(rule, branch, facts)
            engine.firings.append(firing)
            for fact_type, tests in derived:
                values = {
                    t.field: facts[t.value.binding][t.value.field]
                    if isinstance(t.value, Ref)
                    else literal(t.value, fact_type.fields[t.field])
                    for t in tests
                }
                engine.derived_by.setdefault(id(firing), []).append(derived_key(fact_type.name, values))
                engine.declare(fact_type.make(**values))

        # experta inspects the action's signature each time it copies a rule while building the
        # network; a ready-made signature saves that work at every start-up.
        action.__signature__ = _ACTION_SIGNATURE  # type: ignore[attr-defined]
        action.__name__ = action.__qualname__ = name
        return action


_ACTION_SIGNATURE = inspect.Signature(
    [
        inspect.Parameter("engine", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("context", inspect.Parameter.VAR_KEYWORD),
    ]
)


def _patterns_of(condition: Any) -> list[Pattern]:
    if isinstance(condition, Pattern):
        return [condition]
    if isinstance(condition, Negation):
        return condition.patterns
    return []
