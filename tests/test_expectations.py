"""Meaning tests: every example deal's advice says what a coach would say, and not what a coach never would.

Beside each example deal ``scenarios/NAME.yaml`` sits ``scenarios/NAME.expect.yaml``, written by hand
from the deal's story (before reading the output): advice that must appear and must not appear (by
rule id, concept or category, and the people it names), what the top three must include, each
qualification criterion's status, the red flags, and phrases that must never be said. Each
expectation is one test, run against the JSON advice in both languages, so a failure names the
deal, the expectation and what the advice said instead. An expectation the engine cannot meet yet
carries ``xfail_reason``; it is a strict expected failure, so it turns into an error the day it
passes and the reason can be deleted. The format is documented in docs/authoring.md.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dealcoach.cli import main
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.playbook import kb
from tests.conftest import SCENARIOS

LANGS = ("zh", "en")
Status = Literal["met", "at_risk", "unknown"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(Strict):
    """Which advice items an expectation is about: all given keys must hold for one item. ``rule`` may
    list alternatives (a specific rule that supersedes a generic one says the same thing)."""

    rule: str | tuple[str, ...] | None = None
    concept: str | None = None
    category: str | None = None
    says: str | None = None
    people: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _says_what(self) -> Match:
        if not (self.rule or self.concept or self.category):
            raise ValueError("give at least one of rule, concept, category")
        return self

    def selects(self, item: dict[str, Any], *, covered: bool = False) -> bool:
        """``covered``: a rule folded into the item (its ``covers``) counts as given, as for a must."""
        rules = {item["rule"]} | ({c["rule"] for c in item.get("covers", ())} if covered else set())
        return (
            (self.rule is None or bool(rules & set(self.rules)))
            and (self.concept is None or self.concept in item["concepts"])
            and (self.category is None or item["category"] == self.category)
            and (self.says is None or self.says in item["text"])
        )

    @property
    def rules(self) -> tuple[str, ...]:
        return (self.rule,) if isinstance(self.rule, str) else self.rule or ()

    def describe(self) -> str:
        parts = [f"rule={'|'.join(self.rules)}"] if self.rules else []
        parts += [f"{key}={value}" for key in ("concept", "category", "says") if (value := getattr(self, key))]
        if self.people:
            parts.append(f"people={list(self.people)}")
        return " ".join(parts)


class Item(Match):
    why: str = ""
    xfail_reason: str | None = None


class TopEntry(Strict):
    """One of the top three items must match one of these alternatives (each naming all its people)."""

    any: tuple[Match, ...] = Field(min_length=1)
    why: str = ""
    xfail_reason: str | None = None


class Criterion(Strict):
    status: Status
    why: str = ""
    xfail_reason: str | None = None


class Flag(Strict):
    flag: str
    person: str | None = None
    why: str = ""
    xfail_reason: str | None = None


class RedFlags(Strict):
    present: tuple[Flag, ...] = ()
    absent: tuple[Flag, ...] = ()


class Phrase(Strict):
    zh: str | None = None
    en: str | None = None
    why: str = ""
    xfail_reason: str | None = None


class Expectations(Strict):
    must: tuple[Item, ...] = ()
    must_not: tuple[Item, ...] = ()
    top3: tuple[TopEntry, ...] = Field(default=(), max_length=3)
    criteria: dict[Literal["need", "process", "budget", "relationship", "worth"], Status | Criterion] = {}
    red_flags: RedFlags = RedFlags()
    never_says: tuple[Phrase, ...] = ()


EXPECT_FILES = sorted(SCENARIOS.glob("*" + kb.EXPECT_SUFFIX))
DEALS = kb.example_deals(SCENARIOS)


@cache
def knowledge() -> kb.KnowledgeBase:
    return kb.load([kb.builtin_dir()])


@cache
def load(path: Path) -> Expectations:
    """The expectation file, checked: a typo in a rule id or a name must not make a test pass vacuously."""
    try:
        expectations = Expectations.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except ValidationError as error:
        raise AssertionError(f"{path.name}: {error}") from None
    problems = list(_unknown_references(expectations, _deal_path(path)))
    assert not problems, f"{path.name}: " + "; ".join(problems)
    return expectations


def _deal_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".expect.yaml") + ".yaml")


def _unknown_references(expectations: Expectations, deal_path: Path) -> list[str]:
    knowledge_base = knowledge()
    rules = {rule.id for rule in knowledge_base.rules}
    concepts = set(knowledge_base.concepts)
    categories = set(knowledge_base.vocabulary.ids("category"))
    flags = set(knowledge_base.vocabulary.ids("red_flag"))
    people = {s.name for s in deal_mod.load(str(deal_path), knowledge_base.vocabulary).stakeholders}
    matches = [*expectations.must, *expectations.must_not, *(m for t in expectations.top3 for m in t.any)]
    found = []
    for match in matches:
        found += [f"no rule {rule!r}" for rule in match.rules if rule not in rules]
        if match.concept and match.concept not in concepts:
            found.append(f"no concept {match.concept!r}")
        if match.category and match.category not in categories:
            found.append(f"no category {match.category!r}")
        found += [f"no stakeholder {name!r} in {deal_path.name}" for name in match.people if name not in people]
    for flag in (*expectations.red_flags.present, *expectations.red_flags.absent):
        if flag.flag not in flags:
            found.append(f"no red flag {flag.flag!r}")
        if flag.person and flag.person not in people:
            found.append(f"no stakeholder {flag.person!r} in {deal_path.name}")
    return found


@cache
def advice_json(deal_path: Path, lang: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["advise", str(deal_path), "--format", "json", "--lang", lang])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- the checks: each returns the problems it finds in one language's output -----------------------


def _named(items: list[dict[str, Any]]) -> set[str]:
    return {name for item in items for name in item["stakeholders"]}


def check_must(item: Item, output: dict[str, Any]) -> list[str]:
    found = [a for a in output["advice"] if item.selects(a, covered=True)]
    if not found:
        return [f"no advice matches {item.describe()}; rules given: {_rules(output)}"]
    missing = [name for name in item.people if name not in _named(found)]
    return [f"{item.describe()} fired but does not name {missing}; it names {sorted(_named(found))}"] if missing else []


def check_must_not(item: Item, output: dict[str, Any]) -> list[str]:
    found = [a for a in output["advice"] if item.selects(a)]
    if item.people:
        found = [a for a in found if set(item.people) & set(a["stakeholders"])]
    return [f"advice matches {item.describe()}: {_brief(a)}" for a in found]


def check_top3(entry: TopEntry, output: dict[str, Any]) -> list[str]:
    top = output["advice"][:3]
    for match in entry.any:
        if any(match.selects(a) and set(match.people) <= set(a["stakeholders"]) for a in top):
            return []
    wanted = " | ".join(m.describe() for m in entry.any)
    return [f"top three lack {wanted}; they are: " + "; ".join(_brief(a) for a in top)]


def check_criterion(name: str, criterion: Criterion, output: dict[str, Any]) -> list[str]:
    actual = output["assessment"]["criteria"].get(name)
    return [] if actual == criterion.status else [f"criterion {name} is {actual}, expected {criterion.status}"]


def check_flag(flag: Flag, output: dict[str, Any], present: bool) -> list[str]:
    flags = output["assessment"]["red_flags"]
    hits = [f for f in flags if f["flag"] == flag.flag and (flag.person is None or f["stakeholder"] == flag.person)]
    who = f" ({flag.person})" if flag.person else ""
    listed = [f"{f['flag']}({f['stakeholder'] or ''})" for f in flags]
    if present and not hits:
        return [f"red flag {flag.flag}{who} missing; flags: {listed}"]
    if not present and hits:
        return [f"red flag {flag.flag}{who} raised, expected absent"]
    return []


def check_phrase(phrase: Phrase, output: dict[str, Any]) -> list[str]:
    said = getattr(phrase, output["lang"])
    if said is None:
        return []
    return [f"says {said!r}: {_brief(a)}" for a in output["advice"] if said in a["text"]]


def _rules(output: dict[str, Any]) -> list[str]:
    return sorted({a["rule"] for a in output["advice"]})


def _brief(item: dict[str, Any]) -> str:
    return f"{item['rule']} {item['stakeholders']} {item['text'][:80]!r}"


# --- collecting one test per expectation -----------------------------------------------------------


def _cases() -> list[Any]:
    cases = []
    for path in EXPECT_FILES:
        deal = path.name.removesuffix(".expect.yaml")
        try:
            expectations = load(path)
        except AssertionError as error:
            cases.append(pytest.param(path, "file", None, str(error), id=f"{deal}::file"))
            continue
        entries: list[tuple[str, Any, Any]] = []
        entries += [(f"must[{i}] {e.describe()}", e, check_must) for i, e in enumerate(expectations.must)]
        entries += [(f"must_not[{i}] {e.describe()}", e, check_must_not) for i, e in enumerate(expectations.must_not)]
        entries += [(f"top3[{i}]", e, check_top3) for i, e in enumerate(expectations.top3)]
        for name, value in expectations.criteria.items():
            criterion = value if isinstance(value, Criterion) else Criterion(status=value)
            entries.append((f"criteria.{name}={criterion.status}", criterion, _criterion_check(name)))
        for i, flag in enumerate(expectations.red_flags.present):
            entries.append((f"red_flags.present[{i}] {flag.flag}", flag, _flag_check(present=True)))
        for i, flag in enumerate(expectations.red_flags.absent):
            entries.append((f"red_flags.absent[{i}] {flag.flag}", flag, _flag_check(present=False)))
        entries += [(f"never_says[{i}]", e, check_phrase) for i, e in enumerate(expectations.never_says)]
        for label, entry, check in entries:
            marks = [pytest.mark.xfail(reason=entry.xfail_reason, strict=True)] if entry.xfail_reason else []
            cases.append(pytest.param(path, label, entry, check, id=f"{deal}::{label}", marks=marks))
    return cases


def _criterion_check(name: str):
    return lambda criterion, output: check_criterion(name, criterion, output)


def _flag_check(present: bool):
    return lambda flag, output: check_flag(flag, output, present)


@pytest.mark.parametrize(("path", "label", "entry", "check"), _cases())
def test_the_advice_meets_the_expectation(path: Path, label: str, entry: Any, check: Any) -> None:
    if label == "file":
        pytest.fail(check)
    problems = [f"[{lang}] {p}" for lang in LANGS for p in check(entry, advice_json(_deal_path(path), lang))]
    why = f"\n  why: {entry.why}" if entry.why else ""
    assert not problems, f"{path.name} {label}{why}\n  " + "\n  ".join(problems)


def test_every_example_deal_has_an_expectation_file() -> None:
    missing = [d.name for d in DEALS if not _expect_path(d).exists()]
    assert not missing, f"example deals without an expectation file: {missing}"


def test_every_expectation_file_belongs_to_an_example_deal() -> None:
    orphans = [p.name for p in EXPECT_FILES if not _deal_path(p).exists()]
    assert not orphans, f"expectation files without a deal: {orphans}"


def test_an_expectation_naming_an_unknown_rule_is_rejected(tmp_path: Path) -> None:
    deal = tmp_path / "d.yaml"
    deal.write_text("name: d\naccount: {name: a}\nstakeholders: [{name: 甲}]\n", encoding="utf-8")
    expect = tmp_path / "d.expect.yaml"
    expect.write_text("must_not:\n  - {rule: coverage.no-such-rule, people: [乙]}\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"no rule 'coverage.no-such-rule'.*no stakeholder '乙'"):
        load(expect)


def test_a_must_expectation_fails_when_the_person_is_not_named() -> None:
    output = {"advice": [{"rule": "r.x", "category": "coverage", "concepts": ["R7"], "stakeholders": ["甲"]}]}
    assert check_must(Item(concept="R7", people=("甲",)), output) == []
    assert check_must(Item(concept="R7", people=("乙",)), output)


def _expect_path(deal: Path) -> Path:
    return deal.with_name(deal.stem + ".expect.yaml")
