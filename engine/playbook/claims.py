"""Claims: a template may say only what its rule's conditions establish.

A sentence such as "X认可我们的方案" states a fact about the deal (X's attitude). If the rule
never tested that fact, the sentence is false for some of the deals the rule fires on. Trainers
list such phrases in ``claims.yaml`` (each layer may add or replace claims), each with the fact
fields a rule must test before saying it; ``kb lint`` and loading then report every template that
claims what its conditions leave open. The check is lexical and conservative: it looks at the
template's text and at which fields each alternative of the rule tests, not at the values tested,
so "还没见过" and "见过" both require a test of ``contacted``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dealcoach.engine.deals.facts import Schema
from dealcoach.engine.deals.vocabulary import LANGS, Lang, Vocabulary
from dealcoach.engine.playbook.rulelang import Branch, Negation, Pattern, Ref, Rule
from dealcoach.engine.problems import Problem
from dealcoach.engine.yamlsource import Document

FIELD_REF = re.compile(r"^(\+?)([a-z_]+)\.([a-z_]+)(?:=([A-Za-z0-9_]+))?$")
EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
ANY_EXPRESSION = "{{}}"  # in a phrase: any {{ ... }} of the template, e.g. "{{}}说的" for "{{ p.name }}说的"


@dataclass(frozen=True)
class FieldRef:
    """``fact.field`` or ``fact.field=value``: what a condition must test. With a leading ``+``
    the test must require a matching fact (a pattern or ``exists``), not rule one out (``not``):
    "ask the coach" needs a coach, and ``not: {stakeholder: {roles: coach}}`` says there is none."""

    fact: str
    field: str
    value: str | None = None
    present: bool = False

    def __str__(self) -> str:
        return f"{self.fact}.{self.field}" + (f"={self.value}" if self.value else "")


@dataclass(frozen=True)
class Claim:
    """Saying any of ``phrases`` needs every requirement met; a requirement is met by testing
    any one of its alternatives."""

    id: str
    phrases: dict[Lang, tuple[str, ...]]
    requires: tuple[tuple[FieldRef, ...], ...]
    file: str

    def found_in(self, text: str, lang: Lang) -> str | None:
        """The first phrase of this claim that the template ``text`` says, if any. Whatever a
        ``{{ ... }}`` renders comes from the deal and claims nothing; a phrase may stand for it
        with ``{{}}``."""
        text = EXPRESSION.sub(ANY_EXPRESSION, text)
        for phrase in self.phrases.get(lang, ()):
            if _contains(text, phrase, lang):
                return phrase
        return None


def _contains(text: str, phrase: str, lang: Lang) -> bool:
    """Chinese has no word boundaries; English phrases match whole words, in any case."""
    if lang == "zh":
        return phrase in text
    return re.search(rf"(?<![A-Za-z]){re.escape(phrase)}(?![A-Za-z])", text, re.IGNORECASE) is not None


class _Phrases(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: list[str] = []
    en: list[str] = []

    @field_validator("zh", "en")
    @classmethod
    def _not_blank(cls, value: list[str]) -> list[str]:
        if any(not p.strip() for p in value):
            raise ValueError("a phrase may not be empty")
        return value


class _ClaimEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    phrases: _Phrases
    requires: list[str | list[str]] = Field(min_length=1)


class _ClaimsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    claims: dict[str, _ClaimEntry] = {}


def parse(document: Document, schema: Schema, vocabulary: Vocabulary) -> tuple[list[Claim], list[Problem]]:
    """The claims of one ``claims.yaml``, and every problem with them (unknown facts or fields)."""
    try:
        parsed = _ClaimsFile.model_validate(document.data or {})
    except ValidationError as err:
        return [], [document.problem(tuple(e["loc"]), e["msg"]) for e in err.errors(include_url=False)]
    claims, problems = [], []
    for claim_id, entry in parsed.claims.items():
        requires = []
        for index, raw in enumerate(entry.requires):
            alternatives = [raw] if isinstance(raw, str) else raw
            refs = []
            for alt_index, text in enumerate(alternatives):
                path = ("claims", claim_id, "requires", index) + (() if isinstance(raw, str) else (alt_index,))
                ref, message = _field_ref(text, schema, vocabulary)
                if message:
                    problems.append(document.problem(path, message))
                elif ref:
                    refs.append(ref)
            requires.append(tuple(refs))
        phrases = {lang: tuple(getattr(entry.phrases, lang)) for lang in LANGS}
        claims.append(Claim(claim_id, phrases, tuple(requires), document.file))
    return claims, problems


def _field_ref(text: str, schema: Schema, vocabulary: Vocabulary) -> tuple[FieldRef | None, str]:
    match = FIELD_REF.match(text)
    if not match:
        return None, f"{text!r} is not fact.field or fact.field=value (e.g. stakeholder.attitude)"
    plus, fact, field_name, value = match.groups()
    if fact not in schema.types:
        return None, f"unknown fact type {fact!r}; use one of: {', '.join(sorted(schema.types))}"
    fields = schema.types[fact].fields
    if field_name not in fields:
        return None, f"{fact} has no field {field_name!r} (fields: {', '.join(fields)})"
    spec = fields[field_name]
    if value is not None and spec.is_enum and vocabulary.normalise(spec.type, value) != value:
        return None, f"{value!r} is not a value of {spec.type}; use one of: {', '.join(vocabulary.ids(spec.type))}"
    return FieldRef(fact, field_name, value, present=bool(plus)), ""


def merge(layers: Iterable[list[Claim]]) -> list[Claim]:
    """Later layers add claims, or replace a claim by giving its id again."""
    by_id: dict[str, Claim] = {}
    for claims in layers:
        by_id.update({c.id: c for c in claims})
    return list(by_id.values())


def check(rule: Rule, claims: Iterable[Claim]) -> list[Problem]:
    """Every phrase a template of ``rule`` says that some alternative of its conditions does not
    establish: one problem per template, claim and alternative."""
    problems = []
    for kind in ("advice", "because"):
        text = getattr(rule.model, kind)
        for lang in LANGS if text is not None else ():
            source = getattr(text, lang)
            for claim in claims:
                phrase = claim.found_in(source, lang)
                if phrase is None:
                    continue
                for branch in rule.branches:
                    missing = _unmet(claim, _tested(branch))
                    if missing:
                        where = f" (alternative {branch.index + 1})" if len(rule.branches) > 1 else ""
                        wanted = " or ".join(map(str, missing))
                        verb = "require a fact with" if all(ref.present for ref in missing) else "test"
                        problems.append(
                            rule.problem(
                                (kind, lang),
                                f"the template says {phrase!r} but the conditions{where} do not {verb} {wanted}; "
                                f"test it in 'when' or reword (claim {claim.id!r} in {Path(claim.file).name})",
                            )
                        )
                        break
    return problems


Tested = set[tuple[str, str, Any, bool]]


def _tested(branch: Branch) -> Tested:
    """(fact, field, value, present) for every field test in the alternative: value None stands
    for any value, and present says the test sits in a pattern or ``exists`` rather than in ``not``
    or ``count`` (which may count none)."""
    patterns: list[tuple[Pattern, bool]] = []
    for condition in branch.conditions:
        if isinstance(condition, Pattern):
            patterns.append((condition, True))
        elif isinstance(condition, Negation):
            patterns += [(p, condition.exists) for p in condition.patterns]
        else:
            patterns.append((condition.pattern, False))
    found: Tested = set()
    for pattern, present in patterns:
        for test in pattern.tests:
            values = test.value if isinstance(test.value, tuple) else (test.value,)
            for value in (None, *(v for v in values if not isinstance(v, Ref))):
                found |= {
                    (pattern.fact_type, test.field, value, present),
                    (pattern.fact_type, test.field, value, False),
                }
    return found


def _unmet(claim: Claim, tested: Tested) -> tuple[FieldRef, ...]:
    """The first requirement of ``claim`` that nothing in ``tested`` meets (empty when all are)."""
    for requirement in claim.requires:
        if not any((ref.fact, ref.field, ref.value, ref.present) in tested for ref in requirement):
            return requirement
    return ()
