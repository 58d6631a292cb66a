"""A drill made from a deal offers only options true to that deal: every person an option names
meets the conditions of the rule whose advice the option is, so no option gives anyone a role,
attitude or weight the deal contradicts. Each move step keeps a wrong option that the examiner
judges wrong, and the right one right, in both languages, on every example deal."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from dealcoach.engine.advising.whynot import WhyNot
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.drills import drill, drillgen
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook import kb as kb_mod

DEALS = kb_mod.example_deals()


@pytest.fixture(scope="module")
def made(builtin: kb_mod.KnowledgeBase) -> Callable[[Path], drill.Drill]:
    """The drill made from a deal, built once for all the tests that read it."""

    @cache
    def build(path: Path) -> drill.Drill:
        return drillgen.from_deal(deal_mod.load(str(path), builtin.vocabulary), builtin, path.stem)

    return build


def moves(made_drill: drill.Drill) -> list[drill.Step]:
    return [s for s in made_drill.scenario.steps if s.kind == "move"]


def people_the_rule_can_name(
    rule_id: str, deal: deal_mod.Deal, whynot: WhyNot, knowledge: kb_mod.KnowledgeBase
) -> set[str]:
    """Everyone who, with some facts of the deal, meets every pattern of a branch of the rule:
    the only people its advice may name. The people listed in the deal's own data, which a template
    may enumerate (those met so far), are not the rule's subjects and are not counted here."""
    names = {p.name for p in deal.stakeholders}
    return {
        fact.get(field)
        for branch in knowledge.rule_by_id[rule_id].branches
        for state in whynot.holding(branch)
        for fact in state.values()
        for field in ("name", "stakeholder")
    } & names


def bound_people(rule_id: str, knowledge: kb_mod.KnowledgeBase) -> bool:
    """Whether the rule's conditions are about people at all (a pattern on a person's facts)."""
    person_types = {"stakeholder", "relationship"}
    return any(
        p.fact_type in person_types or any(t.field == "stakeholder" for t in p.tests)
        for branch in knowledge.rule_by_id[rule_id].branches
        for p in branch.patterns
    )


@pytest.mark.parametrize("path", DEALS, ids=lambda p: p.stem)
def test_no_option_names_a_person_the_rule_does_not_hold_for(path, builtin, made):
    made_drill = made(path)
    deal = made_drill.deal
    names = {p.name for p in deal.stakeholders}
    whynot = WhyNot(builtin, Advisor(builtin).run(deal, keep_facts=True), "en")
    found = []
    for step in moves(made_drill):
        for option in step.options:
            if not bound_people(option.rule, builtin):
                continue
            allowed = people_the_rule_can_name(option.rule, deal, whynot, builtin)
            for lang in ("zh", "en"):
                named = {n for n in names if n in option.text(lang)}
                found += [f"{step.id} {option.rule} [{lang}] names {n}" for n in sorted(named - allowed)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", DEALS, ids=lambda p: p.stem)
def test_every_move_step_has_a_wrong_option_the_examiner_judges_wrong(path, builtin, made):
    made_drill = made(path)
    examiner = drill.Examiner(builtin)
    assert moves(made_drill), "the deal gives no move step"
    for step in moves(made_drill):
        for lang in ("zh", "en"):
            examiner.choices(step, made_drill.deal, lang)
            verdicts = {o.id: examiner.judge(step, made_drill.deal, [o.id], lang).score for o in step.options}
            assert verdicts == {o.id: float(o.good) for o in step.options}, (step.id, lang)
        assert any(not o.good for o in step.options)


@pytest.mark.parametrize("path", DEALS, ids=lambda p: p.stem)
def test_options_of_a_step_are_different_moves(path, made):
    for step in moves(made(path)):
        for lang in ("zh", "en"):
            texts = [o.text(lang) for o in step.options]
            assert len(set(texts)) == len(texts), (step.id, lang)


def sized(rule: str, width: int, *, good: bool = False) -> drill.Option:
    """An option whose text is ``width`` columns in both languages."""
    return drill.Option(id="x", good=good, rule=rule, text=drill.Text(zh="字" * (width // 2), en="w" * width))


def test_wrong_options_about_as_long_as_the_right_one_come_before_earlier_ones_that_are_not():
    good = sized("right", 100, good=True)
    candidates = [sized("short", 20), sized("close-longer", 110), sized("close-shorter", 90), sized("close", 95)]
    assert [o.rule for o in drillgen._balanced(good, candidates)] == ["right", "close-longer", "close-shorter"]


def test_when_too_few_wrong_options_are_about_as_long_the_nearest_in_length_make_up_the_rest():
    good = sized("right", 100, good=True)
    candidates = [sized("tiny", 20), None, sized("same-text", 100), sized("long", 200), sized("close", 120)]
    assert [o.rule for o in drillgen._balanced(good, candidates)] == ["right", "close", "long"]
