"""The rule language: playbook rules as YAML, parsed into a small syntax tree and checked.

A rule file is ``rules: [ ... ]``; each rule says *when* (a list of conditions, all of which must
hold) and *then* either gives ``advice`` (a Chinese and an English template) or ``derive``s facts
that other rules match. The grammar, in the spirit of CLIPS:

* pattern      ``- stakeholder: {as: eb, roles: economic_buyer, contacted: false}``
* negation     ``- not: {stakeholder: {roles: coach}}``  (no fact matches)
* existence    ``- exists: {competitor: {incumbent: true}}``
* alternatives ``- any: [ {stakeholder: {...}}, [cond, cond] ]``
* aggregate    ``- count: {stakeholder: {contacted: true}}`` with ``eq: 1`` (or ne/gt/gte/lt/lte)

Field tests: a plain value (equality; for a list field such as ``roles``, membership), a list
(one of), or a mapping of operators (``eq ne in not_in gt gte lt lte has has_any has_none known``).
``$name.field`` refers to a field of the fact bound with ``as: name`` (a join).

``docs/authoring.md`` (section 6) is the reference for trainers; this module is its implementation.
Parsing reports every problem with the file, line and column of the offending key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dealcoach.engine.problems import Path, Problem
from dealcoach.engine.yamlsource import Document

OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "has", "has_any", "has_none", "known")
COUNT_OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte")
BINDING = re.compile(r"^[a-z][a-z0-9_]*$")
REFERENCE = re.compile(r"^\$([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$")
RULE_ID = r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$"
MAX_BRANCHES = 32  # the most conjunctions the alternatives of one rule may expand to (README, "Limits")
RESERVED_BINDINGS = {"deal", "lang", "loop", "true", "false", "none"}


@dataclass(frozen=True)
class Ref:
    """``$binding.field``: the value of a field of another matched fact."""

    binding: str
    field: str

    def __str__(self) -> str:
        return f"${self.binding}.{self.field}"


@dataclass(frozen=True)
class FieldTest:
    field: str
    op: str
    value: Any  # a literal, a tuple of literals, or a Ref
    path: Path


@dataclass
class Pattern:
    fact_type: str
    binding: str | None
    tests: list[FieldTest]
    path: Path


@dataclass
class Negation:
    """``not`` (``exists=False``) or ``exists`` over a conjunction of patterns."""

    patterns: list[Pattern]
    exists: bool
    path: Path


@dataclass
class Count:
    pattern: Pattern
    op: str
    value: int
    path: Path


@dataclass
class Alternatives:
    branches: list[list[Condition]]
    path: Path


Condition = Pattern | Negation | Count | Alternatives


@dataclass
class Branch:
    """One conjunction of the rule's conditions after alternatives are expanded."""

    index: int
    conditions: list[Pattern | Negation | Count]

    @property
    def patterns(self) -> list[Pattern]:
        return [c for c in self.conditions if isinstance(c, Pattern)]

    @property
    def bindings(self) -> dict[str, Pattern]:
        return {p.binding: p for p in self.patterns if p.binding}


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Source(BaseModel):
    """Where the idea comes from: a section of the material (``seed``), or, for concepts beyond it
    (X1, X2, ...), the established ``method`` it applies. Never a seed section that does not say it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seed: str | None = None
    section: str = ""
    method: str | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> Source:
        if (self.seed is None) == (self.method is None):
            raise ValueError("give either seed (with section) or method, not both and not neither")
        if self.method is not None and self.section:
            raise ValueError("section belongs to a seed; a method has none")
        return self


class Examples(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    fires: list[dict[str, Any]] = Field(min_length=1)
    silent: list[dict[str, Any]] = Field(min_length=1)


class RuleModel(BaseModel):
    """The keys of one rule; ``when`` and ``derive`` are parsed further below."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=RULE_ID)
    category: str
    priority: Literal["high", "medium", "low"] | None = None
    concepts: list[str] = Field(min_length=1)
    source: Source | None = None
    when: list[Any] = Field(min_length=1)
    advice: Bilingual | None = None
    derive: dict[str, dict[str, Any]] | None = None
    because: Bilingual | None = None
    about: list[str] | None = None
    supersedes: list[str] = []
    excludes: list[str] = []
    topic: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    per_person: bool = False
    examples: Examples


@dataclass
class Rule:
    model: RuleModel
    branches: list[Branch]
    derive: list[Pattern]
    file: str
    path: Path
    document: Document = field(repr=False)

    @property
    def id(self) -> str:
        return self.model.id

    @property
    def derives(self) -> bool:
        return self.model.derive is not None

    def problem(self, path: Path, message: str) -> Problem:
        return self.document.problem(self.path + path, f"rule {self.id}: {message}", self.id)


class _Parser:
    """Turns the raw ``when`` list of one rule into conditions, collecting problems."""

    def __init__(self, document: Document, base: Path, rule_id: str):
        self.document = document
        self.base = base
        self.rule_id = rule_id
        self.problems: list[Problem] = []

    def fail(self, path: Path, message: str) -> None:
        self.problems.append(self.document.problem(self.base + path, f"rule {self.rule_id}: {message}", self.rule_id))

    def conditions(self, raw: list[Any], path: Path) -> list[Condition]:
        parsed = (self.condition(item, path + (i,)) for i, item in enumerate(raw))
        return [c for c in parsed if c is not None]

    def condition(self, raw: Any, path: Path) -> Condition | None:
        if not isinstance(raw, dict):
            self.fail(path, "a condition must be a mapping such as {stakeholder: {...}} or {not: ...}")
            return None
        keyword = next(iter(raw), None)
        if keyword == "count":
            return self.count(raw, path)
        if len(raw) != 1:
            self.fail(path, f"a condition has exactly one key; found {', '.join(map(str, raw))}")
            return None
        body = raw[keyword]
        if keyword in ("not", "exists"):
            if isinstance(body, list):
                # experta rewrites NOT(a AND b) as (NOT a) OR (NOT b), which is not "no combination
                # matches" once a and b share a variable; so the language offers one pattern only.
                self.fail(
                    path + (keyword,),
                    f"'{keyword}' takes one pattern; to negate a combination, derive a "
                    "fact for the combination and negate that",
                )
                return None
            pattern = self.pattern(body, path + (keyword,))
            return Negation([pattern], keyword == "exists", path + (keyword,)) if pattern else None
        if keyword == "any":
            return self.alternatives(body, path + ("any",))
        return self.pattern(raw, path)

    def alternatives(self, body: Any, path: Path) -> Alternatives | None:
        if not isinstance(body, list) or len(body) < 2:
            self.fail(path, "'any' takes a list of at least two alternatives")
            return None
        return Alternatives([self.conditions(_as_list(alt), path + (i,)) for i, alt in enumerate(body)], path)

    def count(self, raw: dict[str, Any], path: Path) -> Count | None:
        ops = [k for k in raw if k != "count"]
        if len(ops) != 1 or ops[0] not in COUNT_OPERATORS:
            self.fail(path, f"'count' needs exactly one comparison next to it: one of {', '.join(COUNT_OPERATORS)}")
            return None
        value = raw[ops[0]]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.fail(path + (ops[0],), f"the count must be compared with a whole number >= 0; got {value!r}")
            return None
        pattern = self.pattern(raw["count"], path + ("count",))
        return Count(pattern, ops[0], value, path) if pattern else None

    def pattern(self, raw: Any, path: Path) -> Pattern | None:
        if not isinstance(raw, dict) or len(raw) != 1:
            self.fail(path, "a pattern is one fact type with its field tests, such as {stakeholder: {roles: coach}}")
            return None
        fact_type, body = next(iter(raw.items()))
        path = path + (fact_type,)
        if fact_type == "signal" and isinstance(body, str):
            body = {"id": body}
        if body is None:
            body = {}
        if not isinstance(body, dict):
            self.fail(path, "field tests must be a mapping of field: test")
            return None
        body = dict(body)
        binding = body.pop("as", None)
        if binding is not None and (
            not isinstance(binding, str) or not BINDING.match(binding) or binding in RESERVED_BINDINGS
        ):
            self.fail(
                path + ("as",),
                f"{binding!r} is not a usable name; use lower-case letters, digits and _ "
                f"(not {', '.join(sorted(RESERVED_BINDINGS))})",
            )
            binding = None
        tests = [t for name, spec in body.items() for t in self.tests(str(name), spec, path + (name,))]
        return Pattern(str(fact_type), binding, tests, path)

    def tests(self, name: str, spec: Any, path: Path) -> list[FieldTest]:
        if isinstance(spec, list):
            return [FieldTest(name, "in", tuple(spec), path)]
        if not isinstance(spec, dict):
            return [FieldTest(name, "eq", self.value(spec), path)]
        found = []
        for op, operand in spec.items():
            if op not in OPERATORS:
                self.fail(path + (op,), f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
                continue
            value = tuple(operand) if isinstance(operand, list) else self.value(operand)
            found.append(FieldTest(name, op, value, path + (op,)))
        return found

    def value(self, raw: Any) -> Any:
        if isinstance(raw, str) and raw.startswith("$"):
            match = REFERENCE.match(raw)
            if match:
                return Ref(match.group(1), match.group(2))
        return raw


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def branch_count(conditions: list[Condition]) -> int:
    """How many conjunctions :func:`expand` would make, counted without making them: each is
    compiled into the engine, so a few nested ``any`` could otherwise cost minutes on every run."""
    total = 1
    for condition in conditions:
        if isinstance(condition, Alternatives):
            total *= sum(branch_count(branch) for branch in condition.branches)
    return total


def expand(conditions: list[Condition]) -> list[list[Pattern | Negation | Count]]:
    """Distribute alternatives: ``[a, any[b, c]]`` -> ``[[a, b], [a, c]]``."""
    options: list[list[list[Pattern | Negation | Count]]] = []
    for condition in conditions:
        if isinstance(condition, Alternatives):
            options.append([flat for branch in condition.branches for flat in expand(branch)])
        else:
            options.append([[condition]])
    return [[c for part in combo for c in part] for combo in product(*options)]


def parse_file(document: Document) -> tuple[list[Rule], list[Problem]]:
    """The rules of one rule file, and every syntax problem found in it."""
    data = document.data
    if not isinstance(data, dict) or set(data) - {"rules", "disable"}:
        return [], [document.problem((), "a rule file is a mapping with the key 'rules' (and optionally 'disable')")]
    rules, problems = [], []
    for index, raw in enumerate(_as_list(data.get("rules") or [])):
        path: Path = ("rules", index)
        try:
            model = RuleModel.model_validate(raw)
        except ValidationError as err:
            rule_id = raw.get("id") if isinstance(raw, dict) else None
            prefix = f"rule {rule_id}: " if isinstance(rule_id, str) else ""
            problems += [
                document.problem(
                    path + tuple(e["loc"]), prefix + _pydantic_message(e), rule_id if isinstance(rule_id, str) else ""
                )
                for e in err.errors(include_url=False)
            ]
            continue
        parser = _Parser(document, path, model.id)
        conditions = parser.conditions(model.when, ("when",))
        derive = [parser.pattern({t: v}, ("derive",)) for t, v in (model.derive or {}).items()]
        problems += parser.problems
        if parser.problems:
            continue
        if branch_count(conditions) > MAX_BRANCHES:
            message = (
                f"the 'any' alternatives expand to {branch_count(conditions)} combinations; at most {MAX_BRANCHES}"
            )
            problems.append(document.problem(path + ("when",), f"rule {model.id}: {message}", model.id))
            continue
        branches = [Branch(i, flat) for i, flat in enumerate(expand(conditions))]
        rules.append(Rule(model, branches, [p for p in derive if p], document.file, path, document))
    return rules, problems


def disabled_ids(document: Document) -> list[str]:
    data = document.data if isinstance(document.data, dict) else {}
    return [str(i) for i in _as_list(data.get("disable") or [])]


def _pydantic_message(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return f"unknown key {error['loc'][-1]!r}"
    if error["type"] == "missing":
        return f"required key {error['loc'][-1]!r} is missing"
    return f"{error['msg']}; got {error['input']!r}"
