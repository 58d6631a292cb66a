"""A deal from the editor, validated and advised on: what the advice panel shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dealcoach.engine.advising import advice as advice_mod
from dealcoach.engine.advising import assessment as assessment_mod
from dealcoach.engine.advising import whynot
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.web.app import Site
from dealcoach.engine.yamlsource import Document

FORM = "<form>"


@dataclass
class Evaluation:
    """Either the problems of the deal as typed, or its advice and assessment."""

    problems: list[Problem] = field(default_factory=list)
    deal: deal_mod.Deal | None = None
    advice: list[advice_mod.Advice] = field(default_factory=list)
    assessment: assessment_mod.Assessment | None = None
    unfired: list[str] = field(default_factory=list)  # rule ids a "why not" can be asked about


def validate(site: Site, data: Any) -> deal_mod.Deal:
    """The deal, or :class:`InputError` with one problem per invalid field."""
    return deal_mod.validate(Document(FORM, data), site.kb.vocabulary)


def evaluate(site: Site, data: Any, lang: Lang) -> Evaluation:
    """Validate, then advise with the reasoning chain of every item (shown on request)."""
    try:
        deal = validate(site, data)
        outcome = site.run(deal)
        advice = advice_mod.build(outcome, site.kb, lang, explain=True)
        health = assessment_mod.assess(outcome, site.kb, lang)
    except InputError as err:  # a company layer's template may fail on this deal: say so, as advise does
        return Evaluation(problems=list(err.problems))
    fired = {firing.rule.id for firing in outcome.firings}
    return Evaluation(
        deal=deal,
        advice=advice,
        assessment=health,
        unfired=sorted(rule.id for rule in site.kb.rules if rule.id not in fired),
    )


def why_not(site: Site, data: Any, rule_id: str, lang: Lang) -> list[str]:
    """Why ``rule_id`` gave no advice on this deal (the first condition that failed), one line each."""
    deal = validate(site, data)
    outcome = site.run(deal, keep_facts=True)
    return whynot.why_not(site.kb, outcome, rule_id, lang)
