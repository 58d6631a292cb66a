"""Before a question the playbook decides from the deal's facts, the trainee is told those facts:
every field the deciding rules test, for the people they test it on, in a rep's words, with the
line the playbook draws."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals.deal import Deal, Stakeholder
from dealcoach.engine.drills import drill, drillgen
from dealcoach.engine.drills.situation import deciding_facts
from tests.conftest import SCENARIOS

DRILLS = sorted((SCENARIOS / "drills").glob("*.yaml"))


def evidence(person: Stakeholder, field: str, kb: Any, lang: str) -> str | None:
    """What the trainee must read to know ``field`` of ``person``; None where it is not known."""
    value = getattr(person, field, None)
    if field == "influence":
        return f"{value}/5" if lang == "zh" else f"{value} of 5"
    if field == "attitude" and value != "unknown":
        return kb.vocabulary.label("attitude", value, lang)
    if field == "contacted":
        return {("zh", True): "见过面", ("zh", False): "还没见过", ("en", True): "met", ("en", False): "not met"}[
            lang, value
        ]
    if field in ("org_need_met", "personal_need_met") and value is not None:
        return (
            ("没满足" if lang == "zh" else "not met") if value is False else ("满足了" if lang == "zh" else "met by us")
        )
    if field == "favors" and value:
        return value
    if field == "days_since_contact" and value is not None:
        return str(value)
    return None


def deciding_fields(kb, step: drill.Step) -> set[str]:
    """The stakeholder fields the rules deciding this step test (the needs grid rests on both needs)."""
    derived = {"red_flags": "red_flag", "criteria_at_risk": "criterion", "relationship": "relationship"}[step.ask]
    fields, _ = deciding_facts(kb, derived)
    return {f for t, f in fields if t == "stakeholder"} | {"org_need_met", "personal_need_met"}


def person_line(lines: list[str], name: str, lang: str) -> str:
    head = name + ("：" if lang == "zh" else ": ")
    return next(line for line in lines if line.startswith(head))


def asked(loaded: drill.Drill, examiner: drill.Examiner) -> list[tuple[drill.Step, Deal]]:
    """Every red-flag, criteria and needs-grid step, in each state some path reaches it in."""
    points, _ = drill.walk(loaded, examiner)
    found = {}
    for point in points:
        if point.step.ask in ("red_flags", "criteria_at_risk", "relationship"):
            found.setdefault((point.step.id, point.deal.model_dump_json()), (point.step, point.deal))
    return list(found.values())


@pytest.fixture(scope="module")
def examiner(builtin):
    return drill.Examiner(builtin)


@pytest.mark.parametrize("path", DRILLS, ids=lambda p: p.stem)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_fact_a_deciding_rule_tests_is_told_before_the_question(path, lang, builtin, examiner):
    loaded = drill.load(path, builtin)
    for step, deal in asked(loaded, examiner):
        told = examiner.situation(step, deal, lang)
        people = [p for p in deal.stakeholders if step.stakeholder in (None, p.name)]
        for person in people:
            line = person_line(told, person.name, lang)
            for field in sorted(deciding_fields(builtin, step)):
                shown = evidence(person, field, builtin, lang)
                assert shown is None or shown in line, f"{loaded.name} {step.id}: {field} of {person.name}: {line}"
        if step.ask == "red_flags":
            assert any("≥ 4" in line for line in told)  # the playbook's line for real weight is shown


@pytest.mark.parametrize(("influence", "words"), [(5, "has real weight in the decision"), (2, "carries little weight")])
def test_weight_is_told_in_words_with_the_number(influence, words, builtin, examiner):
    loaded = drill.load(SCENARIOS / "drills" / "bank-oa-decision-maker.yaml", builtin)
    step = loaded.step("red-flags")
    people = [
        p.model_copy(update={"influence": influence}) if p.name == "周建国" else p for p in loaded.deal.stakeholders
    ]
    deal = loaded.deal.model_copy(update={"stakeholders": people})
    line = person_line(examiner.situation(step, deal, "en"), "周建国", "en")
    assert f"{words} (influence {influence} of 5)" in line


def test_a_question_the_prompt_answers_tells_no_facts(builtin, examiner):
    loaded = drill.load(SCENARIOS / "drills" / "bank-oa-decision-maker.yaml", builtin)
    assert examiner.situation(loaded.step("liu-style"), loaded.deal, "zh") == []
    assert examiner.situation(loaded.step("reach-decider"), loaded.deal, "zh") == []


def test_the_terminal_shows_what_you_know_before_the_red_flags(tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("王敏\nopponent\nanalytical\nthrough-coach\nnone\nanswer-doubts\n", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["drill", "run", "bank-oa-decision-maker", "--db", str(tmp_path / "d.db"), "--answers", str(answers)],
    )
    assert result.exit_code == 0, result.output
    flags = result.output.split("Step 5:", 1)[1].split("> none", 1)[0]
    assert "What you know:" in flags
    assert "赵国栋: user, attitude resistant, has real weight in the decision (influence 4 of 5)" in " ".join(
        flags.split()
    )


def test_a_drill_from_a_deal_names_the_people_in_its_briefing(builtin):
    path = SCENARIOS / "bank-oa-network.yaml"
    made = drillgen.from_deal(deal_mod.load(str(path), builtin.vocabulary), builtin, path.stem)
    for lang in ("zh", "en"):
        assert all(p.name in made.scenario.briefing(lang) for p in made.deal.stakeholders)
