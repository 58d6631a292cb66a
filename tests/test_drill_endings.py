"""How the story ends: each drill tells an ending per outcome, and the debrief tells the one that
matches the trainee's result and the state their choices left."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.drills import drill
from dealcoach.engine.drills.drillsession import Play
from tests.conftest import SCENARIOS

DRILLS = sorted((SCENARIOS / "drills").glob("*.yaml"))
BANK = SCENARIOS / "drills" / "bank-oa-decision-maker.yaml"
PERFECT_BANK = "王敏\nopponent\nanalytical\nthrough-coach\ninfluential_opponent,stronger_incumbent\nanswer-doubts\n"
POOR_BANK = "刘海涛\npartner\namiable\nfeatures-to-purchasing\nnone\nignore\n"


def play_to_the_end(play: Play, forced: dict[str, str]) -> Play:
    """Answer right everywhere except at the steps in ``forced`` (step id -> option id)."""
    while not play.finished:
        step = play.step
        if step.id in forced:
            play.answer([forced[step.id]])
            continue
        right = sorted(play.examiner.expected(step, play.deal, play.examiner.advisor.run(play.deal, keep_facts=True)))
        play.answer(right if step.kind == "diagnose" else right[:1])
    return play


@pytest.mark.parametrize("path", DRILLS, ids=lambda p: p.stem)
def test_every_bundled_drill_tells_an_ending_for_a_win_and_for_a_loss(path, builtin):
    scenario = drill.load(path, builtin).scenario
    outcomes = [e.outcome for e in scenario.endings]
    assert outcomes[0] in ("won", "kept") or scenario.endings[0].when is not None
    assert outcomes[-1] in ("lost", "stalled")
    assert len(set(outcomes)) >= 3


@pytest.mark.parametrize(
    ("answers", "outcome", "words"),
    [(PERFECT_BANK, "won", "签给了东华电信"), (POOR_BANK, "lost", "这一次还是用华拓")],
)
def test_the_debrief_tells_the_ending_that_matches_the_result(answers, outcome, words, tmp_path):
    script = tmp_path / "answers.txt"
    script.write_text(answers, encoding="utf-8")
    args = ["drill", "run", str(BANK), "--db", str(tmp_path / "d.db"), "--answers", str(script), "--lang", "zh"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    debrief = result.output.split("—— 复盘 ——", 1)[1]
    label = drill.OUTCOMES[outcome][0]
    assert re.sub(r"\s", "", debrief).startswith(f"结局（{label}）：")
    assert words in re.sub(r"\s", "", debrief)


def test_an_ending_for_a_state_is_told_on_that_path_whatever_the_score(builtin):
    loaded = drill.load(SCENARIOS / "drills" / "dealer-conference-complaint.yaml", builtin)
    play = play_to_the_end(
        Play.begin(builtin, loaded, "en"), {"the-complaint": "apology-letter", "complaint-again": "second-letter"}
    )
    assert play.debrief().score / play.debrief().max_score >= 0.5  # a score that would otherwise move share only
    assert play.ending().startswith("The ending (lost): 冯国庆 did not wait any longer.")


def test_the_same_drill_ends_well_for_a_trainee_who_answers_right(builtin):
    loaded = drill.load(SCENARIOS / "drills" / "dealer-conference-complaint.yaml", builtin)
    assert play_to_the_end(Play.begin(builtin, loaded, "zh"), {}).ending().startswith("结局（守住了客户）：")


def test_an_ending_list_must_close_with_one_for_every_other_result(tmp_path, builtin):
    text = BANK.read_text(encoding="utf-8").replace("deal: ../", f"deal: {SCENARIOS}/")
    text = text.rstrip("\n") + "\n    at_least: 10\n"  # the last ending now needs a score: some results get none
    path = tmp_path / "bank.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["drill", "check", str(path)])
    assert result.exit_code == 1
    assert "the last ending must have neither `at_least` nor `when`" in result.output
    assert "Traceback" not in result.output
