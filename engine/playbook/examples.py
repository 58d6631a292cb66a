"""Rule examples: every rule ships deals on which it must fire and deals on which it must not.

Like semgrep's rule tests, the examples live next to the rule, so a trainer who changes a
condition sees at once which of its own cases broke. An example is a fragment of a deal file;
``name`` and ``account`` may be left out. ``expect: {stakeholders: [...]}`` also checks whom the
advice names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from dealcoach.engine.advising import advice as advice_mod
from dealcoach.engine.advising.whynot import WhyNot
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals.vocabulary import LANGS
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook.kb import KnowledgeBase
from dealcoach.engine.playbook.rulelang import Rule
from dealcoach.engine.problems import InputError, Path
from dealcoach.engine.yamlsource import Document

KINDS = ("fires", "silent")


@dataclass
class Result:
    rule: Rule
    kind: str
    index: int
    failure: str | None

    @property
    def passed(self) -> bool:
        return self.failure is None

    @property
    def name(self) -> str:
        return f"{self.rule.id}::{self.kind}[{self.index}]"

    def location(self) -> str:
        line, column = self.rule.document.locate(self.rule.path + ("examples", self.kind, self.index))
        return f"{self.rule.file}:{line}:{column}"


class Example(NamedTuple):
    deal: deal_mod.Deal
    stakeholders: list[str] | None  # whom the advice must name, if the example says
    moves: tuple[str, ...]  # drill moves to declare with the deal, for reaction rules


def example_deal(rule: Rule, kind: str, index: int, kb: KnowledgeBase) -> Example:
    """The deal an example describes, validated like a user's deal file."""
    raw = dict(rule.model.examples.model_dump()[kind][index])
    expect = raw.pop("expect", None) or {}
    moves = tuple(raw.pop("moves", None) or ())
    raw.setdefault("name", f"example {rule.id}")
    raw.setdefault("account", {"name": "example account"})
    prefix: Path = rule.path + ("examples", kind, index)
    positions = {
        path[len(prefix) :]: where for path, where in rule.document.positions.items() if path[: len(prefix)] == prefix
    }
    deal = deal_mod.validate(Document(rule.file, raw, positions), kb.vocabulary)
    return Example(deal, expect.get("stakeholders"), moves)


def run_example(advisor: Advisor, rule: Rule, kind: str, index: int) -> Result:
    kb = advisor.kb
    try:
        deal, wanted, moves = example_deal(rule, kind, index, kb)
    except InputError as err:
        where = "; ".join(f"{p.path}: {p.message}" for p in err.problems)
        return Result(rule, kind, index, f"the example is not a valid deal: {where}")
    unknown = [m for m in moves if m not in kb.vocabulary.enums.get("move", {})]
    if unknown:
        return Result(
            rule, kind, index, f"unknown move(s) {unknown}; use one of: {', '.join(kb.vocabulary.ids('move'))}"
        )
    outcome = advisor.run(deal, keep_facts=True, moves=moves)
    fired = [f for f in outcome.firings if f.rule.id == rule.id]
    if kind == "silent":
        return Result(rule, kind, index, _fired_message(fired) if fired else None)
    if not fired:
        reasons = WhyNot(kb, outcome, "en").explain(rule)[1:]
        return Result(rule, kind, index, "the rule did not fire: " + "; ".join(line.strip() for line in reasons))
    if rule.derives:
        return Result(rule, kind, index, None)
    try:
        given = [a for lang in LANGS for a in advice_mod.build(outcome, kb, lang)]
    except InputError as err:  # a template that fails on the example deal fails the example
        return Result(rule, kind, index, "; ".join(str(p) for p in err.problems))
    advice = [a for a in given if a.rule == rule.id or rule.id in a.folded]  # folded: listed under its topic
    named = [a.stakeholders if a.rule == rule.id else a.folded[rule.id] for a in advice]
    if wanted is not None and wanted not in named:
        return Result(rule, kind, index, f"the advice should name {wanted}, but it names {named}")
    if not advice:
        return Result(rule, kind, index, "the rule fired but its advice gave way to a more specific rule")
    return Result(rule, kind, index, None)


def _fired_message(fired: list) -> str:
    facts = "; ".join(sorted({", ".join(f"{k}={v.get('name', v)}" for k, v in f.facts.items()) for f in fired}))
    return f"the rule fired but should not have (matched: {facts})"


def run_all(advisor: Advisor, rule_ids: set[str] | None = None) -> list[Result]:
    results = []
    for rule in advisor.kb.rules:
        if rule_ids and rule.id not in rule_ids:
            continue
        for kind in KINDS:
            for index in range(len(getattr(rule.model.examples, kind))):
                results.append(run_example(advisor, rule, kind, index))
    return results
