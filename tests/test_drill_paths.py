"""Every path of a drill: `drill check` walks them all, and a trainee meets the step told for the state
their own choices left (variant prompts, steps only for one state)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.drills import drill
from dealcoach.engine.drills.drillsession import Play
from tests.conftest import SCENARIOS

DRILLS = SCENARIOS / "drills"
TENDER = DRILLS / "tender-stakeholders.yaml"
RECOVERY_STEP = """\
  - id: scoring-rules-without-liang
    kind: move
    only_when: {attitudes: {梁志诚: [resist, sabotage]}}
"""


def tender_copy(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    """The tender drill in a folder of its own (its deal named by absolute path), changed as given."""
    text = TENDER.read_text(encoding="utf-8").replace(
        "deal: ../tender-research.yaml", f"deal: {SCENARIOS / 'tender-research.yaml'}"
    )
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "tender.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def check(path: Path):
    return CliRunner().invoke(main, ["drill", "check", str(path)])


def test_a_drill_with_a_path_that_cannot_be_won_fails_check_naming_file_step_and_path(tmp_path):
    # Without its own step, the state "梁志诚 was gone around" meets the step written for a willing 梁志诚.
    path = tender_copy(
        tmp_path,
        ("    only_when: {attitudes: {梁志诚: [accept, doubt]}}\n", ""),
        (RECOVERY_STEP, RECOVERY_STEP.replace("    only_when: {attitudes: {梁志诚: [resist, sabotage]}}\n", "")),
    )
    result = check(path)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "handle-liang=over-his-head:" in line]
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:")
    assert "steps[4]" in lines[0]
    assert "no option is one the playbook backs here" in lines[0]
    assert "Traceback" not in result.output


def test_a_prompt_that_takes_for_granted_a_state_some_path_does_not_reach_fails_check(tmp_path):
    path = tender_copy(
        tmp_path,
        (
            "  - id: handle-fu\n    kind: move\n",
            "  - id: handle-fu\n    kind: move\n    assumes: {without: [tender]}\n",
        ),
    )
    result = check(path)
    assert result.exit_code == 1
    assert "on the path (before any choice)" not in result.output
    assert "the prompt takes for granted without tender, which this path does not reach" in result.output
    assert "on the path handle-liang=one-to-one-session > scoring-rules=shape-the-scoring" in result.output


@pytest.mark.parametrize("path", sorted(DRILLS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_drill_passes_check_on_every_path(path):
    result = check(path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "1 drill(s) checked, 0 problem(s)"


def test_check_walks_every_option_of_every_step(builtin):
    loaded = drill.load(DRILLS / "dormant-distributor.yaml", builtin)
    points, complete = drill.walk(loaded, drill.Examiner(builtin))
    chosen = {pair for point in points for pair in point.chosen}
    assert complete
    reached = {point.step.id for point in points}
    offered = {(s.id, o.id) for s in loaded.scenario.steps if s.id in reached for o in s.options}
    assert {step for step, _ in offered - chosen} <= {"price-again", "payment-terms"}  # the last, no path beyond
    assert {"price-again", "payment-terms"} <= reached  # each reached only on the paths whose state it is for


def test_a_drill_with_more_paths_than_the_cap_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(drill, "MAX_POINTS", 5)
    result = check(tender_copy(tmp_path))
    assert result.exit_code == 1
    assert "its paths visit more than 5 steps; check explored only the first 5" in result.output


def test_the_trainee_meets_the_step_written_for_the_state_their_choices_left(builtin):
    def steps_after(choice: str) -> list[str]:
        play = Play.begin(builtin, drill.load(TENDER, builtin), "en")
        seen = []
        while not play.finished:
            step = play.step
            seen.append(step.id)
            answer = [choice] if any(o.id == choice for o in step.options) else [play.choices()[0][0]]
            play.answer(answer)
        return seen

    assert "scoring-rules-without-liang" in steps_after("over-his-head")
    assert "scoring-rules" not in steps_after("over-his-head")
    assert "scoring-rules" in steps_after("one-to-one-session")
    assert "scoring-rules-without-liang" not in steps_after("one-to-one-session")


def test_a_variant_prompt_is_shown_on_the_path_whose_state_it_is_for(tmp_path, builtin):
    variant = (
        "  - id: handle-fu\n    kind: move\n",
        "  - id: handle-fu\n    kind: move\n    variants:\n"
        "      - when: {chose: [over-his-head]}\n"
        "        prompt: {zh: 梁志诚已经知道你绕过了对方。, en: 梁志诚 knows you went round them.}\n",
    )
    loaded = drill.load(tender_copy(tmp_path, variant), builtin)
    step = loaded.step("handle-fu")
    assert (
        loaded.arrive(step, loaded.deal, (("handle-liang", "over-his-head"),)).prompt("en").startswith("梁志诚 knows")
    )
    assert loaded.arrive(step, loaded.deal, (("handle-liang", "one-to-one-session"),)).prompt == step.prompt


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("{signals: [rain]}", "unknown signal 'rain'"),
        ("{attitudes: {王五: [accept]}}", "'王五' is not a stakeholder of the deal"),
        ("{attitudes: {梁志诚: [cross]}}", "unknown attitude 'cross'"),
        ("{chose: [fly-away]}", "no option 'fly-away' in this drill"),
    ],
)
def test_a_state_naming_what_the_drill_does_not_have_is_refused_with_its_place(tmp_path, state, message):
    path = tender_copy(tmp_path, ("    only_when: {attitudes: {梁志诚: [accept, doubt]}}", f"    only_when: {state}"))
    result = CliRunner().invoke(
        main, ["drill", "run", str(path), "--db", str(tmp_path / "d.db"), "--answers", str(path)]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert f"{path}:" in result.output
    assert "Traceback" not in result.output


def test_a_drill_told_with_a_variant_prompt_plays_on_to_its_end(builtin):
    play = Play.begin(builtin, drill.load(DRILLS / "carrier-dual-fiber-retrofit.yaml", builtin), "en")
    prompts = {}
    while not play.finished:
        step = play.step
        prompts[step.id] = step.prompt("en")
        wanted = [o.id for o in step.options if o.id == "go-to-he"]
        play.answer(wanted or [play.choices()[0][0]])
    assert prompts["win-qian"].startswith("何振华 passed your request on to construction.")
    assert "one-voice" in prompts


def test_a_step_for_a_state_no_path_reaches_fails_check(tmp_path):
    path = tender_copy(
        tmp_path,
        ("    only_when: {attitudes: {梁志诚: [resist, sabotage]}}", "    only_when: {attitudes: {梁志诚: [accept]}}"),
    )
    result = check(path)
    assert result.exit_code == 1
    assert "step 'scoring-rules-without-liang' is met on no path" in result.output
