"""Role-play drills: step kinds, consequences, consistency checks, persistence and the terminal."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.drills import drill, drillgen, storage
from dealcoach.engine.drills.drillsession import Play, attempt_seed, practice, shuffled
from dealcoach.engine.playbook import kb as kb_mod
from dealcoach.engine.problems import InputError
from dealcoach.engine.render.templating import display_width, wrap
from tests.conftest import ROOT, SCENARIOS

DRILLS = sorted((SCENARIOS / "drills").glob("*.yaml"))
BANK = SCENARIOS / "drills" / "bank-oa-decision-maker.yaml"

MINI = """\
title: {zh: 小练习, en: Mini drill}
briefing: {zh: 一个小项目。, en: A small deal.}
deal:
  name: 小项目
  account: {name: 某公司}
  stage: evaluation
  rep: {style: analytical}
  stakeholders:
    - {name: 王总, roles: [economic_buyer], influence: 5, style: controller, attitude: doubt}
    - {name: 小李, roles: [coach], contacted: true, attitude: accept, org_need_met: true, personal_need_met: true}
    - {name: 周工, roles: [technical_gatekeeper], contacted: true, attitude: doubt}
steps:
  - id: who-decides
    kind: identify
    ask: role
    role: economic_buyer
    prompt: {zh: 谁拍板？, en: Who decides?}
    concepts: [R5]
  - id: li-class
    kind: identify
    ask: relationship
    stakeholder: 小李
    prompt: {zh: 小李属于哪类？, en: Where is 小李 on the grid?}
    concepts: [A2]
  - id: zhou-attitude
    kind: identify
    ask: attitude
    stakeholder: 周工
    prompt: {zh: 周工的态度？, en: 周工's attitude?}
    concepts: [A1]
  - id: boss-style
    kind: identify
    ask: style
    stakeholder: 王总
    prompt: {zh: 王总说话快、只要结论。他是？, en: 王总 talks fast and wants the bottom line. He is?}
    concepts: [S2]
  - id: reach
    kind: move
    prompt: {zh: 怎么见王总？, en: How do you reach 王总?}
    concepts: [R7]
    options:
      - id: coach
        text: {zh: 请小李引荐, en: Ask 小李 to introduce you}
        good: true
        rule: coverage.coach-arranges-economic-buyer
        move: ask_coach_intro
      - id: bypass
        text: {zh: 绕过周工, en: Go over 周工's head}
        good: false
        move: bypass_gatekeeper
  - id: flags
    kind: diagnose
    ask: red_flags
    prompt: {zh: 危险信号？, en: Red flags?}
    concepts: [R7]
    choices: [economic_buyer_unmet_late, no_coach]
"""


@pytest.fixture(scope="module")
def examiner(builtin):
    return drill.Examiner(builtin)


def write(tmp_path: Path, text: str, name: str = "mini.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def mini(tmp_path, builtin) -> drill.Drill:
    return drill.load(write(tmp_path, MINI), builtin)


def judge(examiner, d: drill.Drill, step_id: str, answer: list[str], deal=None):
    return examiner.judge(d.step(step_id), deal or d.deal, answer, "en")


def test_identify_role_scores_the_stakeholder_who_plays_it(tmp_path, builtin, examiner):
    d = mini(tmp_path, builtin)
    assert judge(examiner, d, "who-decides", ["王总"]).score == 1
    wrong = judge(examiner, d, "who-decides", ["小李"])
    assert (wrong.score, wrong.feedback[0]) == (0, "Not quite. The answer: 王总")


def test_identify_relationship_uses_the_needs_grid_the_rules_derive(tmp_path, builtin, examiner):
    d = mini(tmp_path, builtin)
    assert judge(examiner, d, "li-class", ["partner"]).score == 1
    assert judge(examiner, d, "li-class", ["friend"]).score == 0


def test_identify_attitude_and_style(tmp_path, builtin, examiner):
    d = mini(tmp_path, builtin)
    assert judge(examiner, d, "zhou-attitude", ["doubt"]).score == 1
    assert judge(examiner, d, "boss-style", ["controller"]).score == 1
    assert judge(examiner, d, "boss-style", ["amiable"]).score == 0


def test_a_good_move_quotes_the_rule_that_backs_it(tmp_path, builtin, examiner):
    verdict = judge(examiner, mini(tmp_path, builtin), "reach", ["coach"])
    assert verdict.score == 1
    assert verdict.feedback[0].startswith("Good move. The playbook says: 王总 makes the final call")
    assert "R13" in verdict.concepts


def test_a_poor_move_names_the_better_one(tmp_path, builtin, examiner):
    verdict = judge(examiner, mini(tmp_path, builtin), "reach", ["bypass"])
    assert verdict.score == 0
    assert verdict.summary == "Better: Ask 小李 to introduce you"


@pytest.mark.parametrize("answer", ["one-page-cutover", "every-test-record"])
def test_a_step_about_a_person_is_judged_and_explained_for_that_person(answer, builtin, examiner):
    d = drill.load(ROOT / "scenarios" / "drills" / "styles-in-the-room.yaml", builtin)
    verdict = examiner.judge(d.step("meet-cai"), d.deal, [answer], "zh")
    advice = "\n".join(verdict.feedback)
    assert "蔡文博" in advice


def test_a_move_whose_rule_was_folded_by_topic_is_quoted_in_its_own_words(builtin, examiner):
    """Speeding up for 蔡文博 folds into the rep's own style item, which speaks of 邵振东 first."""
    d = drill.load(ROOT / "scenarios" / "drills" / "styles-in-the-room.yaml", builtin)
    verdict = examiner.judge(d.step("meet-cai"), d.deal, ["one-page-cutover"], "en")
    assert verdict.feedback[0] == (
        "Good move. The playbook says: 蔡文博 is a controller and moves faster than you. Lead with the conclusion "
        "and your position, bring one page of detail at most, settle on the spot whatever can be settled, and "
        "save the long argument for another meeting."
    )


def test_a_step_about_someone_outside_the_deal_is_refused(tmp_path, builtin):
    path = write(tmp_path, MINI.replace("    kind: move\n", "    kind: move\n    about: 张三\n"))
    with pytest.raises(InputError, match="'张三' is not a stakeholder of the deal"):
        drill.load(path, builtin)


def test_diagnose_scores_the_flags_the_assessment_derives(tmp_path, builtin, examiner):
    d = mini(tmp_path, builtin)
    assert judge(examiner, d, "flags", ["economic_buyer_unmet_late"]).score == 1
    assert judge(examiner, d, "flags", []).score == 0
    assert judge(examiner, d, "flags", ["economic_buyer_unmet_late", "no_coach"]).score == 0


FLAGS = "    choices: [economic_buyer_unmet_late, no_coach]"


def flags_drill(tmp_path, builtin, choices: str) -> drill.Drill:
    return drill.load(write(tmp_path, MINI.replace(FLAGS, choices)), builtin)


@pytest.mark.parametrize(
    ("answer", "score"),
    [
        (["economic_buyer_unmet_late"], 1.0),
        (["economic_buyer_unmet_late", "single_contact"], 1.0),  # defensible: costs nothing
        (["economic_buyer_unmet_late", "no_coach"], 0.0),  # wrong: takes the right one's share back
        (["single_contact"], 0.0),
    ],
)
def test_red_flags_are_scored_by_the_rubric_right_defensible_wrong(answer, score, tmp_path, builtin, examiner):
    d = flags_drill(
        tmp_path,
        builtin,
        "    choices: [economic_buyer_unmet_late, no_coach, single_contact]\n    defensible: [single_contact]",
    )
    assert examiner.expected(d.step("flags"), d.deal, examiner.advisor.run(d.deal, keep_facts=True)) == {
        "economic_buyer_unmet_late"
    }
    assert judge(examiner, d, "flags", answer).score == score


def test_a_defensible_flag_is_acknowledged_in_the_feedback(tmp_path, builtin, examiner):
    d = flags_drill(
        tmp_path, builtin, "    choices: [economic_buyer_unmet_late, single_contact]\n    defensible: [single_contact]"
    )
    feedback = judge(examiner, d, "flags", ["economic_buyer_unmet_late", "single_contact"]).feedback
    assert "Spotted: decision maker never met late in the cycle (王总)" in feedback
    assert "Defensible, though the playbook does not count it here: a single contact carries the deal" in feedback


def test_a_red_flag_the_deal_shows_is_offered_even_when_the_author_left_it_out(tmp_path, builtin, examiner):
    d = flags_drill(tmp_path, builtin, "    choices: [no_coach, single_contact]")
    offered = [c for c, _ in examiner.choices(d.step("flags"), d.deal, "en")]
    assert offered == ["no_coach", "single_contact", "economic_buyer_unmet_late"]
    assert judge(examiner, d, "flags", ["economic_buyer_unmet_late"]).score == 1.0


def test_defensible_flags_must_be_among_the_choices(tmp_path, builtin):
    with pytest.raises(InputError, match="'defensible' may list only the step's own choices"):
        flags_drill(tmp_path, builtin, FLAGS + "\n    defensible: [single_contact]")


def test_feedback_on_a_miss_speaks_as_a_coach_and_names_rules_only_when_asked(tmp_path, builtin):
    d = mini(tmp_path, builtin)
    plain = drill.Examiner(builtin).judge(d.step("reach"), d.deal, ["bypass"], "en").feedback
    explained = drill.Examiner(builtin, explain=True).judge(d.step("reach"), d.deal, ["bypass"], "en").feedback
    assert "Better: Ask 小李 to introduce you" in plain
    assert any(line.startswith("The playbook says: ") for line in plain)
    assert not any("coverage." in line or "condition" in line for line in plain)
    assert "Rule: coverage.coach-arranges-economic-buyer" in explained


def test_a_move_changes_the_deal_and_later_answers(tmp_path, builtin, examiner):
    d = mini(tmp_path, builtin)
    after_coach, changes = examiner.consequences(d.deal, "ask_coach_intro", "en")
    assert changes == ["you got to meet 王总"]
    assert judge(examiner, d, "flags", [], deal=after_coach).score == 1  # the flag is gone once we met him
    after_bypass, changes = examiner.consequences(d.deal, "bypass_gatekeeper", "en")
    assert changes == ["周工 is now resistant"]
    assert judge(examiner, d, "zhou-attitude", ["resist"], deal=after_bypass).score == 1


def test_an_earlier_choice_changes_which_later_move_is_right(builtin):
    d = drill.load(BANK, builtin)
    good_path = Play.begin(builtin, d, "en")
    bad_path = Play.begin(builtin, d, "en")
    for answers, play in (
        (["王敏", "opponent", "analytical", "through-coach"], good_path),
        (["王敏", "opponent", "analytical", "over-the-head"], bad_path),
    ):
        for answer in answers:
            play.answer([answer])
        play.answer(["influential_opponent"])
    assert good_path.answer(["answer-doubts"])[0].score == 1
    assert bad_path.answer(["defuse"])[0].score == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_question_about_people_explains_the_cues_that_give_the_answer(lang, examiner, every_drill):
    for d in every_drill:
        for step in (s for s in d.scenario.steps if s.kind == "identify"):
            assert step.cues is not None, f"{d.name}: {step.id} has no cues"
            right = examiner.expected(step, d.deal, examiner.advisor.run(d.deal, keep_facts=True))
            labels = dict(examiner.choices(step, d.deal, lang))
            assert any(labels[r] in step.cues(lang) for r in right), f"{d.name}: {step.id} cues miss {right}"


def test_drill_check_passes_the_bundled_drills():
    result = CliRunner().invoke(main, ["drill", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"{len(DRILLS)} drill(s) checked, 0 problem(s)"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (
                "        good: true\n        rule: coverage.coach-arranges-economic-buyer",
                "        good: true\n        rule: coverage.find-a-coach",
            ),
            "option 'coach' is marked good, but rule coverage.find-a-coach gives no advice at this point",
        ),
        (
            (
                "        good: false\n        move: bypass_gatekeeper",
                "        good: false\n        rule: coverage.coach-arranges-economic-buyer\n"
                "        move: bypass_gatekeeper",
            ),
            "option 'bypass' is marked poor, but rule coverage.coach-arranges-economic-buyer gives advice",
        ),
        (
            ("    role: economic_buyer", "    role: purchaser"),
            "on the main path nobody or nothing answers this step (role)",
        ),
        (
            (
                "text: {zh: 绕过周工, en: Go over 周工's head}",
                "text: {zh: 绕过周工, en: Go over 周工's head and straight to the top}",
            ),
            "the options differ too much in length (en: 'bypass' is",
        ),
        (
            ("    role: economic_buyer\n", "    role: economic_buyer\n    next: reach\n"),
            "step 'li-class' can never be reached",
        ),
    ],
)
def test_drill_check_catches_an_inconsistent_scenario(tmp_path, change, message):
    path = write(tmp_path, MINI.replace(*change))
    result = CliRunner().invoke(main, ["drill", "check", str(path)])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("title: {zh: 小练习, en: Mini drill}", "title: {zh: 小练习"), "invalid YAML"),
        (("briefing: {zh: 一个小项目。, en: A small deal.}\n", ""), "briefing: required key 'briefing' is missing"),
        (
            ("    kind: identify\n    ask: role\n", "    kind: identify\n    ask: role\n    colour: red\n"),
            "unknown key 'colour'",
        ),
        (
            ("    kind: diagnose", "    kind: guess"),
            "steps[5].kind: Input should be 'identify', 'move', 'negotiate' or 'diagnose'",
        ),
        (
            ("    ask: relationship", "    ask: mood"),
            "steps[1]: 'ask' must be one of role, attitude, relationship, style",
        ),
        (
            ("    stakeholder: 小李", "    stakeholder: 老王"),
            "steps[1].stakeholder: '老王' is not a stakeholder of the deal",
        ),
        (
            ("rule: coverage.coach-arranges-economic-buyer", "rule: coverage.nope"),
            "no rule 'coverage.nope' in the playbook",
        ),
        (("    concepts: [A2]", "    concepts: [Z1]"), "steps[1].concepts[0]: unknown concept id 'Z1'"),
        (
            ("        good: true\n        rule: coverage.coach-arranges-economic-buyer\n", "        good: true\n"),
            "a good option must name the rule that makes it good",
        ),
        (("move: ask_coach_intro", "move: teleport"), "unknown move 'teleport'"),
        (("    - {name: 王总, roles: [economic_buyer]", "    - {name: 王总, roles: [boss]"), "'boss' is not allowed"),
    ],
)
def test_invalid_scenario_files_are_rejected_with_a_located_message(tmp_path, change, message):
    path = write(tmp_path, MINI.replace(*change))
    result = CliRunner().invoke(
        main, ["drill", "run", str(path), "--db", str(tmp_path / "d.db"), "--answers", str(path)]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert f"{path}:" in result.output
    assert "Traceback" not in result.output


def perfect_answers(play: Play) -> list[list[str]]:
    """The right answer at every step, as the knowledge base sees it, following the drill."""
    answers = []
    while not play.finished:
        outcome = play.examiner.advisor.run(play.deal, keep_facts=True)
        right = sorted(play.examiner.expected(play.step, play.deal, outcome))
        answer = right if play.step.kind == "diagnose" else right[:1]
        answers.append(answer)
        play.answer(answer)
    return answers


@pytest.mark.parametrize("path", DRILLS, ids=[p.stem for p in DRILLS])
def test_each_drill_scores_full_marks_for_the_right_answers(path, builtin):
    play = Play.begin(builtin, drill.load(path, builtin), "en")
    perfect_answers(play)
    debrief = play.debrief()
    assert debrief.score == debrief.max_score > 0


@pytest.mark.parametrize("path", DRILLS, ids=[p.stem for p in DRILLS])
def test_each_drill_scores_low_for_poor_answers_and_plans_at_most_three_concepts_to_practise(path, builtin):
    play = Play.begin(builtin, drill.load(path, builtin), "en")
    while not play.finished:
        outcome = play.examiner.advisor.run(play.deal, keep_facts=True)
        right = play.examiner.expected(play.step, play.deal, outcome)
        wrong = [c for c, _ in play.choices() if c not in right]
        play.answer(wrong[:1] if play.step.kind != "diagnose" else wrong)
    debrief = play.debrief()
    assert debrief.score <= debrief.max_score / 3
    bundled = practice(SCENARIOS / "drills")
    lines = debrief.lines(builtin, bundled, path.stem)
    plan = lines[lines.index("Study plan:") + 1 :]
    concepts = [line.split()[1] for line in plan if line.startswith("  - ")]
    assert 1 <= len(concepts) <= 3
    assert concepts == debrief.plan(bundled)
    assert len([line for line in plan if line.startswith("    Practise: dealcoach drill run ")]) == len(concepts)


def chance(play: Play) -> tuple[float, float]:
    """The score a trainee picking one choice at random expects at the current step, and its variance."""
    choices = [c for c, _ in play.choices()]
    if play.step.kind == "diagnose":
        scores = [play.examiner.judge(play.step, play.deal, [c], "en").score for c in choices]
    else:
        right = play.examiner.expected(play.step, play.deal, play.examiner.advisor.run(play.deal, keep_facts=True))
        scores = [1.0 if c in right else 0.0 for c in choices]
    mean = sum(scores) / len(scores)
    return mean, sum((x - mean) ** 2 for x in scores) / len(scores)


@pytest.fixture(scope="module")
def every_drill(builtin) -> list[drill.Drill]:
    """The authored drills and the drills made from every example deal: the ones a trainee can run."""
    made = [
        drillgen.from_deal(deal_mod.load(str(path), builtin.vocabulary), builtin, path.stem)
        for path in kb_mod.example_deals()
    ]
    return _bundled(builtin) + made


@pytest.mark.parametrize("number", [1, 2, 3])
def test_answering_the_same_number_everywhere_scores_no_better_than_chance(number, builtin, examiner, every_drill):
    scored = expected = variance = 0.0
    for loaded in every_drill:
        play = Play.begin(builtin, loaded, "en", examiner, seed=attempt_seed("trainee", loaded.name, 0))
        while not play.finished:
            mean, spread = chance(play)
            expected, variance = expected + mean, variance + spread
            choices = play.choices()
            verdict, _ = play.answer([choices[min(number, len(choices)) - 1][0]])
            scored += verdict.score
    assert scored <= expected + 2 * variance**0.5, (scored, expected)


@pytest.mark.parametrize("pick", [max, min], ids=["longest", "shortest"])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("made", [False, True], ids=["authored", "from-deal"])
def test_picking_the_longest_or_shortest_option_finds_the_good_move_no_more_often_than_chance(
    made, lang, pick, every_drill
):
    drills = [d for d in every_drill if d.name.startswith("deal:") == made]
    steps = [s for d in drills for s in d.scenario.steps if s.kind in ("move", "negotiate")]
    picked = [pick(s.options, key=lambda o: drill.display_width(o.text(lang))) for s in steps]
    chance = sum(sum(o.good for o in s.options) / len(s.options) for s in steps)
    assert sum(o.good for o in picked) <= chance + 2 * (chance * (1 - chance / len(steps))) ** 0.5


def test_each_attempt_shows_the_choices_in_a_new_order_and_a_resume_keeps_it(tmp_path):
    db = str(tmp_path / "d.db")
    run = ["drill", "run", "bank-oa-decision-maker", "--db", db, "--trainee", "eve", "--lang", "en"]
    first = CliRunner().invoke(main, run, input="王敏\n")
    second = CliRunner().invoke(main, run, input="王敏\n")
    resumed = CliRunner().invoke(main, [*run[:2], "--resume", *run[3:]], input="")
    order = [menu(result.output) for result in (first, second, resumed)]
    assert order[0] != order[1]
    assert [s.spec["seed"] for s in storage.Store(Path(db)).sessions("eve")] == [
        attempt_seed("eve", "bank-oa-decision-maker", 0),
        attempt_seed("eve", "bank-oa-decision-maker", 1),
    ]
    assert "(resuming at step 2)" in resumed.output
    second_step = CliRunner().invoke(main, [*run[:2], "--resume", *run[3:]], input="")
    assert menu(second_step.output) == menu(resumed.output)


@pytest.mark.parametrize("typed", ["1,2", "1，2", "1、2", "1 2"])
def test_several_flags_may_be_separated_the_way_chinese_and_english_typists_do(typed, builtin):
    play = Play.begin(builtin, drill.load(ROOT / "scenarios" / "drills" / "bank-oa-decision-maker.yaml", builtin), "zh")
    play.step = play.drill.step("red-flags")
    assert play.parse(typed) == [c for c, _ in play.choices()[:2]]


def test_a_seed_fixes_the_order_of_the_choices(tmp_path):
    run = ["drill", "run", "bank-oa-decision-maker", "--db", str(tmp_path / "d.db"), "--lang", "en", "--seed", "7"]
    outputs = {CliRunner().invoke(main, [*run, "--trainee", who], input="").output for who in ("a", "b")}
    assert len(outputs) == 1


def test_the_good_option_sits_in_every_position_equally_often(builtin, examiner):
    """Over many attempts, the good option of a move step is number 1, 2 or 3 about equally often."""
    d = drill.load(ROOT / "scenarios" / "drills" / "price-concession.yaml", builtin)
    step = d.step("the-concession")
    choices = examiner.choices(step, d.deal, "en")
    positions = [[c for c, _ in shuffled(choices, seed, step.id)].index("trade-it") for seed in range(300)]
    assert all(80 <= positions.count(i) <= 120 for i in range(3))


PERFECT_BANK = "王敏\nopponent\nanalytical\nthrough-coach\ninfluential_opponent,stronger_incumbent\nanswer-doubts\n"


def test_scripted_answers_on_stdin_play_a_whole_drill(tmp_path):
    answers = "王敏\nopponent\nanalytical\nthrough-coach\ninfluential_opponent,stronger_incumbent\nanswer-doubts\n"
    result = CliRunner().invoke(
        main,
        ["drill", "run", "bank-oa-decision-maker", "--db", str(tmp_path / "d.db"), "--lang", "en", "--trainee", "amy"],
        input=answers,
    )
    assert result.exit_code == 0, result.output
    assert "Score: 6/6 (100%)" in result.output


@pytest.mark.parametrize(
    ("answers", "verdict"),
    [
        (PERFECT_BANK, "Certified (pass mark 80%)"),
        (PERFECT_BANK.replace("through-coach", "over-the-head"), "Not yet certified (pass mark 80%)"),
    ],
)
def test_the_debrief_certifies_a_trainee_who_reaches_the_drills_pass_mark(answers, verdict, tmp_path):
    result = CliRunner().invoke(
        main, ["drill", "run", "bank-oa-decision-maker", "--db", str(tmp_path / "d.db"), "--lang", "en"], input=answers
    )
    assert verdict in result.output.splitlines()


def test_a_drill_sets_its_own_pass_mark(tmp_path, builtin):
    d = drill.load(write(tmp_path, MINI.replace("briefing:", "pass_mark: 50\nbriefing:")), builtin)
    play = Play.begin(builtin, d, "zh")
    while not play.finished:
        play.answer([play.choices()[0][0]] if play.step.kind != "diagnose" else [])
    assert any(line.endswith("（及格线 50%）") for line in play.debrief().lines(builtin))


def test_a_bad_answer_is_asked_again(tmp_path):
    result = CliRunner().invoke(
        main,
        ["drill", "run", "bank-oa-decision-maker", "--db", str(tmp_path / "d.db"), "--lang", "en"],
        input="9\nfoo\n王敏\n",
    )
    assert "enter one number from 1-7" in result.output
    assert result.output.count("enter one number from 1-7") == 2
    assert "Right: 王敏" in result.output
    assert result.exit_code == 2  # the answers ran out: saved, resumable
    assert "continue with --resume" in result.output


def test_resume_continues_exactly_where_the_trainee_stopped(tmp_path):
    db = str(tmp_path / "d.db")
    first = CliRunner().invoke(
        main,
        ["drill", "run", "bank-oa-decision-maker", "--db", db, "--trainee", "bo", "--lang", "en"],
        input="王敏\nopponent\nanalytical\nover-the-head\n",
    )
    assert first.exit_code == 2
    second = CliRunner().invoke(
        main,
        ["drill", "run", "--resume", "--db", db, "--trainee", "bo", "--lang", "en"],
        input="economic_buyer_unmet_late,influential_opponent,stronger_incumbent\ndefuse\n",
    )
    assert second.exit_code == 0, second.output
    assert "(resuming at step 5)" in second.output
    assert "Score: 5/6" in second.output  # the bypass at step 4 cost a point; defusing was right after it
    [session] = storage.Store(Path(db)).sessions("bo")
    assert [a.answer for a in session.answers] == [
        ["王敏"],
        ["opponent"],
        ["analytical"],
        ["over-the-head"],
        ["economic_buyer_unmet_late", "influential_opponent", "stronger_incumbent"],
        ["defuse"],
    ]
    assert session.finished_at is not None


def test_a_resumed_session_opens_with_the_briefing_and_a_recap_of_the_steps_so_far(tmp_path):
    db = str(tmp_path / "d.db")
    run = ["drill", "run", "bank-oa-decision-maker", "--db", db, "--trainee", "cy", "--lang", "en"]
    CliRunner().invoke(main, run, input="王敏\nfriend\n")
    resumed = CliRunner().invoke(main, [*run[:2], "--resume", *run[3:]], input="").output
    lines = resumed.splitlines()
    assert "(resuming at step 3)" in lines
    recap = lines[lines.index("So far:") + 1 :]
    assert recap[0].startswith("  1. 1/1 Inside the customer, who is our coach")
    assert any(line.startswith("  2. 0/1 ") for line in recap)
    assert "  Total 1/2" in recap
    assert "Bank OA network" in lines[0] and len(lines[1]) > 20  # the briefing again


@pytest.mark.slow
def test_the_terminal_width_sets_the_wrapping_and_names_stay_whole(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    args = ["-m", "dealcoach", "drill", "run", "price-concession", "--db", str(tmp_path / "d.db"), "--lang", "zh"]
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}  # the terminal decides
    child = pexpect.spawn(
        sys.executable, args, cwd=str(ROOT), encoding="utf-8", timeout=60, dimensions=(40, 44), env=env
    )
    child.expect("> ")
    screen = child.before.replace("\r", "")
    child.terminate(force=True)
    assert max(display_width(line) for line in screen.splitlines()) <= 44
    assert max(display_width(line) for line in screen.splitlines()) >= 40
    names = ["潘静", "魏海燕", "杜明", "许文斌"]
    for line in screen.splitlines():
        assert not any(line.rstrip().endswith(n[:1]) and not line.rstrip().endswith(n) for n in names if len(n) > 2)
    assert not any(line.lstrip().startswith(("，", "。", "、")) for line in screen.splitlines())


def test_wrapping_keeps_names_whole_and_never_hangs_punctuation_past_the_margin():
    text = "请王敏引荐，先从王敏那里问清周建国最看重什么，再约二十分钟当面谈"
    for width in range(12, 30):
        lines = wrap(text, width, "  ", "", keep=["周建国", "王敏"]).splitlines()
        assert all(display_width(line) <= width for line in lines)
        assert "".join(line.strip() for line in lines) == text
        assert not any(line.strip().startswith(("，", "。")) for line in lines)
        assert not any(line.endswith(("周", "周建", "王")) for line in lines)


def test_resume_without_an_unfinished_drill_says_so(tmp_path):
    result = CliRunner().invoke(main, ["drill", "run", "--resume", "--db", str(tmp_path / "d.db"), "--trainee", "x"])
    assert result.exit_code == 2
    assert "x has no unfinished drill to resume" in result.output


def test_drill_from_a_live_deal(tmp_path):
    deal = str(SCENARIOS / "bank-oa-network.yaml")
    db = str(tmp_path / "d.db")
    result = CliRunner().invoke(main, ["drill", "run", "--from-deal", deal, "--db", db, "--lang", "en"], input="1\n")
    assert "Practice: " in result.output
    assert "Which of these should you do next?" in result.output or "who is the" in result.output
    assert result.exit_code == 2
    resumed = CliRunner().invoke(main, ["drill", "run", "--resume", "--db", db, "--lang", "en"], input="1\n" * 12)
    assert resumed.exit_code == 0, resumed.output
    assert "Debrief" in resumed.output


@pytest.mark.parametrize(
    "deal", sorted(set(SCENARIOS.glob("*.yaml")) - set(SCENARIOS.glob("*.expect.yaml"))), ids=lambda p: p.stem
)
def test_a_drill_can_be_made_from_every_bundled_deal_and_played_to_the_end(deal, tmp_path):
    result = CliRunner().invoke(
        main,
        ["drill", "run", "--from-deal", str(deal), "--db", str(tmp_path / "d.db"), "--lang", "en"],
        input="1\n" * 30,
    )
    assert result.exit_code == 0, result.output
    assert "--- Debrief ---" in result.output


def test_drill_list_shows_title_steps_minutes_and_concepts():
    result = CliRunner().invoke(main, ["drill", "list", "--lang", "en"])
    assert "bank-oa-decision-maker  Bank OA network: reaching the person who decides" in result.output
    assert "    6 steps, ~12 min; concepts: R5 R13 A2 S2 R7 A1" in result.output


def play_bank(db: Path, trainee: str, answers: str) -> None:
    CliRunner().invoke(
        main,
        ["drill", "run", "bank-oa-decision-maker", "--db", str(db), "--trainee", trainee, "--lang", "en"],
        input=answers,
    )


def test_report_shows_progress_weakest_concepts_first(tmp_path):
    db = tmp_path / "d.db"
    play_bank(
        db, "amy", "周建国\nopponent\npromoter\nthrough-coach\ninfluential_opponent,stronger_incumbent\nanswer-doubts\n"
    )
    play_bank(
        db, "amy", "王敏\nopponent\nanalytical\nthrough-coach\ninfluential_opponent,stronger_incumbent\nanswer-doubts\n"
    )
    text = CliRunner().invoke(main, ["drill", "report", "--db", str(db), "--trainee", "amy", "--lang", "en"]).output
    lines = text.splitlines()
    assert lines[0] == "amy: 2 attempt(s)"
    by_concept = lines[lines.index("  By concept, weakest first:") + 1 :]
    assert by_concept[0].split()[0] == "50%"
    report = json.loads(CliRunner().invoke(main, ["drill", "report", "--db", str(db), "--format", "json"]).output)
    assert [a["score"] for a in report[0]["attempts"]] == [4.0, 6.0]
    csv_text = CliRunner().invoke(main, ["drill", "report", "--db", str(db), "--format", "csv"]).output
    assert csv_text.splitlines()[0] == "trainee,kind,id,title,score,max,percent,when,answers"
    assert any(line.startswith("amy,topic,R,") for line in csv_text.splitlines())


def test_an_old_database_is_migrated_forward(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(storage.MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO sessions (trainee, drill, lang, spec, started_at) VALUES ('amy', 'x', 'en', '{}', 'then')")
    db.commit()
    db.close()
    store = storage.Store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == storage.SCHEMA_VERSION
    assert store.sessions("amy")[0].source is None


def test_a_database_from_a_newer_dealcoach_is_refused(tmp_path):
    path = tmp_path / "new.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {storage.SCHEMA_VERSION + 1}")
    result = CliRunner().invoke(main, ["drill", "report", "--db", str(path)])
    assert result.exit_code == 2
    assert "written by a newer dealcoach" in result.output


def test_a_file_that_is_not_a_database_is_refused_cleanly(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not sqlite " * 100, encoding="utf-8")
    result = CliRunner().invoke(main, ["drill", "report", "--db", str(path)])
    assert result.exit_code == 2
    assert "cannot use this file as the drill database" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_two_drills_writing_to_one_database_keep_all_their_answers(tmp_path):
    db = tmp_path / "shared.db"
    command = [
        sys.executable,
        "-m",
        "dealcoach",
        "drill",
        "run",
        "bank-oa-decision-maker",
        "--db",
        str(db),
        "--lang",
        "en",
    ]
    runs = [
        subprocess.Popen(
            [*command, "--trainee", who],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("ann", "ben")
    ]
    for process in runs:
        process.stdin.write("2\nopponent\n4\n1\n2\n1\n")
        process.stdin.close()
    codes = [p.wait(timeout=120) for p in runs]
    assert codes == [0, 0], [p.stderr.read() for p in runs]
    store = storage.Store(db)
    for who in ("ann", "ben"):
        [session] = store.sessions(who)
        assert len(session.answers) == 6 and session.finished_at


def menu(screen: str) -> dict[str, str]:
    """The numbered choices of the last step printed on a terminal screen: text -> number."""
    step = screen.rsplit("Step ", 1)[-1]
    return {m.group(2).strip(): m.group(1) for m in re.finditer(r"^ {2}(\d+)\. (.+?)\r?$", step, re.M)}


def pick(child, label: str) -> str:
    """Wait for the prompt, then type the number the terminal shows beside the choice that
    starts with ``label``."""
    child.expect("> ")
    [number] = [n for text, n in menu(child.before).items() if text.startswith(label)]
    child.sendline(number)
    return number


@pytest.mark.slow
def test_interactive_terminal_reprompts_and_resumes_after_a_kill(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    db = str(tmp_path / "d.db")
    args = ["-m", "dealcoach", "drill", "run", "bank-oa-decision-maker", "--db", db, "--trainee", "tty", "--lang", "en"]
    child = pexpect.spawn(sys.executable, args, cwd=str(ROOT), encoding="utf-8", timeout=60)
    child.expect("> ")
    first = menu(child.before)
    child.sendline("x")
    child.expect("enter one number from 1-7")
    child.sendline(first["王敏"])
    child.expect("Right: 王敏")
    pick(child, "opponent")
    child.expect("Right: opponent")
    child.expect("> ")
    before_kill = menu(child.before)
    child.kill(9)  # a killed process: the two answers are already committed
    child.wait()
    child = pexpect.spawn(
        sys.executable, [*args[:4], "--resume", *args[5:]], cwd=str(ROOT), encoding="utf-8", timeout=60
    )
    child.expect(r"\(resuming at step 3\)")
    child.expect("> ")
    assert menu(child.before) == before_kill  # the same order as before the kill
    child.sendline(before_kill["analytical"])
    pick(child, "Ask 王敏 to introduce you")
    child.expect("> ")
    flags = menu(child.before)
    child.sendline(f"{flags['influential opponent']}、{flags['a stronger incumbent holds the account']}")
    pick(child, "Meet 刘海涛 to go through the doubts")
    child.expect(r"Score: 6/6 \(100%\)")
    child.expect(pexpect.EOF)
    [session] = storage.Store(Path(db)).sessions("tty")
    assert [a.answer for a in session.answers][:2] == [["王敏"], ["opponent"]]
    assert len(session.answers) == 6


def test_loading_a_scenario_without_its_required_keys_raises_input_error(builtin, tmp_path):
    with pytest.raises(InputError, match="required key 'briefing' is missing"):
        drill.load(write(tmp_path, "title: {zh: 题目, en: title}\n"), builtin)


def _bundled(builtin) -> list[drill.Drill]:
    return [drill.load(path, builtin) for path in DRILLS]


def test_the_drills_cover_roles_styles_stages_grid_negotiation_and_retention(builtin):
    drills = _bundled(builtin)
    assert len(drills) >= 10
    steps = [(d, s) for d in drills for s in d.scenario.steps]
    roles = {s.role for _, s in steps if s.kind == "identify" and s.ask == "role"}
    assert {"economic_buyer", "technical_gatekeeper", "user", "coach"} <= roles
    styles = {
        next(p.style for p in d.deal.stakeholders if p.name == s.stakeholder)
        for d, s in steps
        if s.kind == "identify" and s.ask == "style"
    }
    assert styles == {"controller", "amiable", "promoter", "analytical"}
    assert {d.deal.stage for d in drills} >= {"intent", "research", "preselection", "evaluation", "decision", "use"}
    assert any(s.ask == "relationship" for _, s in steps)
    kinds = {s.kind for _, s in steps}
    assert kinds == {"identify", "move", "negotiate", "diagnose"}
    categories = {builtin.rule_by_id[o.rule].model.category for _, s in steps for o in s.options if o.good}
    assert {"negotiation", "retention"} <= categories


def test_the_drills_teach_the_knowledge_only_concepts(builtin):
    taught = {c for d in _bundled(builtin) for c in d.scenario.concepts}
    assert set(builtin.knowledge_only) <= taught


def test_drill_check_names_a_drill_that_does_not_exist():
    result = CliRunner().invoke(main, ["drill", "check", "no-such-drill"])
    assert result.exit_code == 2
    assert "dealcoach: no drill 'no-such-drill'; drills: " in result.output
