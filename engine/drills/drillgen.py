"""A drill made from any deal: practise on your own live deals.

The questions come from the playbook's conclusions on the deal: each "next move" step offers the
advice of a rule that fires (the right answer) beside the advice of rules that do not fire on
this deal (distractors, filled in with the deal's own people so they read as plausible). Identify
steps ask who plays the CUTE roles; a diagnose step asks for the red flags. Everything is chosen
deterministically from the deal, so the same deal always gives the same drill, which is what
``--resume`` needs.
"""

from __future__ import annotations

import random
import re
from typing import Any

from jinja2 import TemplateError

from dealcoach.engine.advising import advice as advice_mod
from dealcoach.engine.deals.deal import Deal
from dealcoach.engine.drills.drill import Drill, Option, Scenario, Step, Text
from dealcoach.engine.matching.runner import Advisor, Outcome
from dealcoach.engine.playbook.compiler import bound_name
from dealcoach.engine.playbook.kb import KnowledgeBase
from dealcoach.engine.playbook.rulelang import Pattern, Rule
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.render.templating import tidy

CUTE = ("economic_buyer", "coach", "technical_gatekeeper", "user")
MOVE_STEPS = 3
DISTRACTORS = 2


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[。！？]|.+?[.!?](?=\s|$))", text)
    return match.group(1) if match else text


def _render(rule: Rule, kb: KnowledgeBase, outcome: Outcome, deal: Deal, lang: str) -> str | None:
    """A rule's advice filled in with facts of this deal, whether or not the rule fires on it."""
    branch = rule.branches[0]
    context: dict[str, Any] = {"lang": lang, "deal": deal.model_dump()}
    for index, condition in enumerate(branch.conditions):
        if not isinstance(condition, Pattern):
            continue
        facts = outcome.facts.get(condition.fact_type, [])
        if not facts:
            return None
        context[bound_name(branch, index)] = {k: list(v) if isinstance(v, tuple) else v for k, v in facts[0].items()}
    try:
        return tidy(kb.template(rule, "advice", lang).render(context))  # type: ignore[union-attr]
    except (TemplateError, TypeError, ValueError, ArithmeticError):
        # Facts the rule never matched may lack what its template formats (a missing number):
        # such a rule cannot be phrased for this deal, so it is not offered.
        return None


def from_deal(deal: Deal, kb: KnowledgeBase, name: str) -> Drill:
    rng = random.Random(deal.name)
    outcome = Advisor(kb).run(deal, keep_facts=True)
    given = advice_mod.build(outcome, kb, "en")
    steps = _identify_steps(deal) + _move_steps(given, outcome, deal, kb, rng) + _diagnose_step(outcome, kb, rng)
    if not steps:
        raise InputError(
            [
                Problem(
                    name,
                    message="this deal gives nothing to practise on yet: add stakeholders with "
                    "their roles, attitudes and what we know",
                )
            ]
        )
    stage = {lang: kb.vocabulary.label("stage", deal.stage, lang) for lang in ("zh", "en")}
    people = {lang: _people(deal, lang) for lang in ("zh", "en")}
    scenario = Scenario(
        title=Text(zh=f"实战练习：{deal.name}", en=f"Practice: {deal.name}"),
        briefing=Text(
            zh=f"这是你手上的真实项目：{deal.account.name}，现在处于{stage['zh']}阶段。{people['zh']}"
            "先看清局面，再选下一步。",
            en=f"This is your own live deal with {deal.account.name}, at the {stage['en']} stage. {people['en']}"
            "Read the situation, then choose your next moves.",
        ),
        minutes=2 * len(steps),
        deal=deal.model_dump(mode="json", exclude_none=True),
        steps=steps,
    )
    return Drill(f"deal:{name}", scenario, deal)


def _people(deal: Deal, lang: str) -> str:
    """Who is in the deal, by name and title: enough to picture the room, without the roles the
    identify steps ask about."""
    if not deal.stakeholders:
        return ""
    if lang == "zh":
        named = "、".join(f"{p.name}（{p.title}）" if p.title else p.name for p in deal.stakeholders)
        return f"客户那边打交道的人有：{named}。"
    named = ", ".join(f"{p.name} ({p.title})" if p.title else p.name for p in deal.stakeholders)
    return f"The people on the customer's side: {named}. "


def _identify_steps(deal: Deal) -> list[Step]:
    steps = []
    for role in CUTE:
        if any(role in p.roles for p in deal.stakeholders) and len(deal.stakeholders) > 1:
            label = {
                "economic_buyer": ("决策者", "economic buyer (final say)"),
                "coach": ("教练", "coach"),
                "technical_gatekeeper": ("技术把关者", "technical gatekeeper"),
                "user": ("使用者", "user"),
            }[role]
            steps.append(
                Step(
                    id=f"who-{role.replace('_', '-')}",
                    kind="identify",
                    ask="role",
                    role=role,
                    prompt=Text(zh=f"在这单里，谁是{label[0]}？", en=f"In this deal, who is the {label[1]}?"),
                    concepts=["R5"],
                )
            )
    return steps[:2]


def _move_steps(
    given: list[advice_mod.Advice], outcome: Outcome, deal: Deal, kb: KnowledgeBase, rng: random.Random
) -> list[Step]:
    fired = {f.rule.id for f in outcome.firings}
    silent = [r for r in kb.rules if not r.derives and r.id not in fired]
    steps = []
    for item in list({a.rule: a for a in given}.values())[:MOVE_STEPS]:
        rule = kb.rule_by_id[item.rule]
        same = [r for r in silent if r.model.category == rule.model.category] or silent
        candidates = same[:]
        rng.shuffle(candidates)
        options = [_option(rule, kb, outcome, deal, good=True)]
        for other in candidates:
            option = _option(other, kb, outcome, deal, good=False)
            if option is not None and len(options) <= DISTRACTORS:
                options.append(option)
        if None in options or len(options) < 2:
            continue
        rng.shuffle(options)
        labelled = [o.model_copy(update={"id": "abc"[i]}) for i, o in enumerate(options)]
        steps.append(
            Step(
                id=f"move-{len(steps) + 1}",
                kind="move",
                options=labelled,
                prompt=Text(zh="下一步最该做哪一件？", en="Which of these should you do next?"),
                concepts=list(rule.model.concepts),
            )
        )
    return steps


def _option(rule: Rule, kb: KnowledgeBase, outcome: Outcome, deal: Deal, *, good: bool) -> Option | None:
    texts = {lang: _render(rule, kb, outcome, deal, lang) for lang in ("zh", "en")}
    if None in texts.values():
        return None
    return Option(
        id="x",
        good=good,
        rule=rule.id,
        text=Text(zh=_first_sentence(texts["zh"] or ""), en=_first_sentence(texts["en"] or "")),
    )


def _diagnose_step(outcome: Outcome, kb: KnowledgeBase, rng: random.Random) -> list[Step]:
    present = sorted({dict(v)["code"] for t, v in outcome.derivations if t == "red_flag"})
    absent = [c for c in kb.vocabulary.ids("red_flag") if c not in present]
    rng.shuffle(absent)
    choices = sorted(present + absent[: max(2, 4 - len(present))])
    concepts = sorted(
        {
            c
            for r in kb.rules
            for p in r.derive
            if p.fact_type == "red_flag" and any(t.field == "code" and t.value in choices for t in p.tests)
            for c in r.model.concepts
        }
    )
    return [
        Step(
            id="red-flags",
            kind="diagnose",
            ask="red_flags",
            choices=choices,
            concepts=concepts or ["P8"],
            prompt=Text(
                zh="这单有哪些危险信号？（可多选，逗号分隔；都没有输入 none）",
                en="Which red flags does this deal show? (comma-separated; none if there are none)",
            ),
        )
    ]
