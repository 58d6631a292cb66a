"""A drill made from any deal: practise on your own live deals.

The questions come from the playbook's conclusions on the deal: each "next move" step states the
situation a firing rule describes and offers its move (the right answer) beside moves that are true
to the deal but wrong for this situation: the playbook's moves here for someone else, or moves of
rules that do not fire, phrased only with people who meet those rules' conditions. Identify
steps ask who plays the CUTE roles; a diagnose step asks for the red flags. Everything is chosen
deterministically from the deal, so the same deal always gives the same drill, which is what
``--resume`` needs.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from itertools import chain
from typing import Any

from jinja2 import TemplateError

from dealcoach.engine.advising import advice as advice_mod
from dealcoach.engine.advising.whynot import WhyNot
from dealcoach.engine.deals.deal import Deal, Stakeholder
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.drills.drill import LENGTH_SPREAD, Drill, Option, Scenario, Step, Text
from dealcoach.engine.drills.situation import weight
from dealcoach.engine.matching.runner import Advisor, Outcome
from dealcoach.engine.playbook.kb import KnowledgeBase
from dealcoach.engine.playbook.rulelang import Rule
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.render.templating import display_width, tidy

CUTE = ("economic_buyer", "coach", "technical_gatekeeper", "user")
MOVE_STEPS = 3
DISTRACTORS = 2


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[。！？]|.+?[.!?](?=\s|$))", text)
    return match.group(1) if match else text


def _render(rule: Rule, kb: KnowledgeBase, whynot: WhyNot, deal: Deal, lang: str) -> tuple[str, set[str]] | None:
    """A rule's advice filled in only with facts of this deal that meet the rule's own conditions on
    them, so every person it names really has the role, attitude and weight it speaks of; with the
    people it was filled in with. None when no branch of the rule can be phrased that way. The rule
    itself need not fire: what it lacks is the situation (a ``not``, ``exists`` or count), which
    the option leaves out by showing only the move."""
    names = {p.name for p in deal.stakeholders}
    for branch in rule.branches:
        states = whynot.holding(branch)
        if not states:
            continue
        state = states[0]
        context: dict[str, Any] = {"lang": lang, "deal": deal.model_dump()}
        context.update(
            {k: {f: list(v) if isinstance(v, tuple) else v for f, v in fact.items()} for k, fact in state.items()}
        )
        people = {fact.get(f) for fact in state.values() for f in ("name", "stakeholder")} & names
        try:
            return tidy(kb.template(rule, "advice", lang).render(context)), people  # type: ignore[union-attr]
        except (TemplateError, TypeError, ValueError, ArithmeticError):
            # A fact may lack what the template formats (a missing number): try the next branch.
            continue
    return None


def from_deal(deal: Deal, kb: KnowledgeBase, name: str) -> Drill:
    rng = random.Random(deal.name)
    outcome = Advisor(kb).run(deal, keep_facts=True)
    given = {lang: advice_mod.build(outcome, kb, lang) for lang in ("zh", "en")}
    steps = _identify_steps(deal, kb) + _move_steps(given, outcome, deal, kb, rng) + _diagnose_step(outcome, kb, rng)
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


def _identify_steps(deal: Deal, kb: KnowledgeBase) -> list[Step]:
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
                    cues=_role_cues([p for p in deal.stakeholders if role in p.roles], kb),
                    concepts=["R5"],
                )
            )
    return steps[:2]


def _role_cues(people: list[Stakeholder], kb: KnowledgeBase) -> Text:
    """The people who play the role as the briefing shows them (name and title), with their weight
    in the decision and their attitude to us when known: the cues a trainee could have gone by."""

    def told(person: Stakeholder, lang: Lang) -> str:
        title = (f"（{person.title}）" if lang == "zh" else f" ({person.title})") if person.title else ""
        said = [weight(person, [], lang, numbered=False)]
        if person.attitude != "unknown":
            attitude = kb.vocabulary.label("attitude", person.attitude, lang)
            said.append(f"态度{attitude}" if lang == "zh" else f"attitude {attitude}")
        return f"{person.name}{title}{'' if lang == 'zh' else ' '}" + ("，" if lang == "zh" else ", ").join(said)

    return Text(zh="；".join(told(p, "zh") for p in people) + "。", en="; ".join(told(p, "en") for p in people) + ".")


def _move_steps(
    given: dict[str, list[advice_mod.Advice]], outcome: Outcome, deal: Deal, kb: KnowledgeBase, rng: random.Random
) -> list[Step]:
    """One step per rule that fires: the prompt is the situation its advice describes, the answer
    is the move it advises. The wrong options are true to the deal: moves the playbook gives here
    for someone else (a step is about one person, so the examiner judges those wrong for them), then
    moves of rules that do not fire, phrased only with people who meet their conditions. A step
    with fewer such moves than wanted offers fewer options rather than a false one."""
    pairs = _first_per_rule(given)
    fired = {f.rule.id for f in outcome.firings}
    silent = [r for r in kb.rules if not r.derives and r.id not in fired]
    whynot = {lang: WhyNot(kb, outcome, lang) for lang in ("zh", "en")}  # type: ignore[arg-type]
    steps: list[Step] = []
    for zh, en in pairs:
        if len(steps) == MOVE_STEPS:
            break
        rule = kb.rule_by_id[en.rule]
        about = en.stakeholders[0] if en.stakeholders else None
        good = _option(rule.id, {"zh": zh.text, "en": en.text}, good=True)
        elsewhere = [
            _distractor(o_en.rule, {"zh": o_zh.text, "en": o_en.text}, set(o_en.stakeholders))
            for o_zh, o_en in pairs
            if about is not None
            and about not in _named(o_en.rule, given["en"])
            and (o_en.topic is None or o_en.topic != en.topic)
        ]
        same = [r for r in silent if r.model.category == rule.model.category]
        others = [r for r in silent if r.model.category != rule.model.category]
        for candidates in (elsewhere, same, others):
            rng.shuffle(candidates)
        unfired = (_unfired_option(r, kb, whynot, deal) for r in [*same, *others])  # phrased only as needed
        options = _balanced(good, chain(elsewhere, unfired))
        if len(options) < 2:
            continue
        rng.shuffle(options)
        situation = {lang: _first_sentence(item.text) for lang, item in (("zh", zh), ("en", en))}
        steps.append(
            Step(
                id=f"move-{len(steps) + 1}",
                kind="move",
                about=about,
                options=[o.model_copy(update={"id": "abc"[i]}) for i, o in enumerate(options)],
                prompt=Text(
                    zh=f"{situation['zh']}下一步最该做哪一件？",
                    en=f"{situation['en']} Which of these should you do next?",
                ),
                concepts=list(rule.model.concepts),
            )
        )
    return steps


def _balanced(good: Option, candidates: Iterable[Option | None]) -> list[Option]:
    """The right option and up to ``DISTRACTORS`` wrong ones, taken in the order given but only
    those about as long as the right one in both languages, so that picking the longest (or the
    shortest) finds the right move no more often than chance. When too few are, the rest are the
    ones nearest in length: a step with uneven options still beats one with a single option."""
    close: list[Option] = []
    spare: list[Option] = []
    for option in candidates:
        if len(close) == DISTRACTORS:
            break
        if option is None or option.text in [o.text for o in (good, *close, *spare)]:
            continue
        (close if _spread(good, option) <= LENGTH_SPREAD else spare).append(option)
    spare.sort(key=lambda option: _spread(good, option))
    return [good, *close, *spare][: DISTRACTORS + 1]


def _spread(one: Option, other: Option) -> float:
    """How many times longer the longer of two options is, in the language where they differ most."""
    widths = [sorted((display_width(one.text(lang)), display_width(other.text(lang)))) for lang in ("zh", "en")]
    return max(longer / max(shorter, 1) for shorter, longer in widths)


def _named(rule: str, given: list[advice_mod.Advice]) -> set[str]:
    """Everyone the playbook's advice from ``rule`` names on this deal, directly or folded into
    another item: for them that rule's move is a right answer."""
    return {n for item in given for n in (item.stakeholders if item.rule == rule else item.folded.get(rule, []))}


def _unfired_option(rule: Rule, kb: KnowledgeBase, whynot: dict[str, WhyNot], deal: Deal) -> Option | None:
    rendered = {lang: _render(rule, kb, whynot[lang], deal, lang) for lang in ("zh", "en")}
    if rendered["zh"] is None or rendered["en"] is None:
        return None
    return _distractor(rule.id, {lang: text for lang, (text, _) in rendered.items()}, rendered["en"][1])  # type: ignore[misc]


def _distractor(rule: str, texts: dict[str, str], people: set[str]) -> Option | None:
    """A wrong option, unless its move names none of the people its rule was matched with: read
    under a step about someone, "ask what they doubt" would speak of that person instead."""
    option = _option(rule, texts, good=False)
    if people and not all(any(p in option.text(lang) for p in people) for lang in ("zh", "en")):
        return None
    return option


def _first_per_rule(given: dict[str, list[advice_mod.Advice]]) -> list[tuple[advice_mod.Advice, advice_mod.Advice]]:
    """The first piece of advice of each rule, in both languages, paired by rule and people so the
    two texts speak of the same firing."""
    english = {(a.rule, tuple(a.stakeholders)): a for a in reversed(given["en"])}
    seen: set[str] = set()
    pairs = []
    for item in given["zh"]:
        other = english.get((item.rule, tuple(item.stakeholders)))
        if item.rule not in seen and other is not None:
            seen.add(item.rule)
            pairs.append((item, other))
    return pairs


def _option(rule: str, texts: dict[str, str], *, good: bool) -> Option:
    """An option is the move of a piece of advice: what follows the sentence that describes the
    situation (which the step's prompt gives for the right answer)."""
    return Option(id="x", good=good, rule=rule, text=Text(zh=_move(texts["zh"]), en=_move(texts["en"])))


def _move(text: str) -> str:
    return text[len(_first_sentence(text)) :].strip() or text


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
