"""What a trainer certifies with: concepts explained in plain words, a debrief by competency with a
study plan, the team's progress, and the drill to play next."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.drills import coaching, drill, drillreport
from dealcoach.engine.drills.drillsession import Play, practice
from dealcoach.engine.drills.storage import Answer, Session
from dealcoach.engine.playbook import kb as kb_mod
from dealcoach.engine.problems import InputError
from dealcoach.engine.render.templating import display_width
from tests.conftest import ROOT, SCENARIOS

BANK = "bank-oa-decision-maker"
PERFECT = "王敏\nopponent\nanalytical\nthrough-coach\ninfluential_opponent,stronger_incumbent\nanswer-doubts\n"
POOR = "周建国\npartner\npromoter\nover-the-head\nno_coach\ndefuse\n"


def cli(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def play(db: Path, trainee: str, answers: str, lang: str = "en", *extra: str):
    return cli("drill", "run", BANK, "--db", str(db), "--trainee", trainee, "--lang", lang, *extra, input=answers)


@pytest.fixture(scope="module")
def notes(builtin) -> coaching.Coaching:
    return coaching.load(builtin)


# --- concepts in plain words -------------------------------------------------------------------


def test_every_concept_of_the_map_is_explained_in_both_languages(builtin, notes):
    for concept in builtin.concepts:
        assert notes.note(concept, "zh") and notes.note(concept, "en"), concept


def test_every_concept_belongs_to_exactly_one_competency(builtin, notes):
    listed = [c for competency in notes.competencies.values() for c in competency.concepts]
    assert sorted(listed) == sorted(builtin.concepts)


def test_the_notes_speak_to_the_rep_as_a_coach(notes):
    """你, never 您; nobody called 他 or 她."""
    for concept in notes.notes:
        text = notes.note(concept, "zh")
        assert not re.search("您|她|(?<!其)他", text), (concept, text)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", ["R7 接触最高决策者", "能力：摸清决策链", "最后是拍板的人定输赢", "应用它的规则：", "练习它的演练："]),
        ("en", ["R7 Reach the top decision maker", "Competency: Mapping the buying group", "Rules that apply it:"]),
    ],
)
def test_concept_explains_the_idea_the_rules_that_apply_it_and_the_drills_that_practise_it(lang, expected):
    result = cli("concept", "R7", "--lang", lang)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(any(line.startswith(e) for line in lines) for e in expected), result.output
    assert "  coverage.meet-economic-buyer" in lines
    assert f"  dealcoach drill run {BANK}" in lines


def test_concept_ids_may_be_typed_in_lower_case():
    assert cli("concept", "s4", "--lang", "en").output.startswith("S4 Adapting to the other's pace\n")


def test_a_concept_no_rule_applies_says_drills_teach_it():
    output = " ".join(cli("concept", "Q12", "--lang", "en").output.split())
    assert "No rule applies it: it is knowledge rather than a deal situation, learnt through drills." in output
    assert "Drills that practise it: dealcoach drill run market-questions" in output


@pytest.mark.parametrize(("typed", "hint"), [("R77", "did you mean 'R7'?"), ("zzz", "(see dealcoach kb coverage)")])
def test_an_unknown_concept_exits_2_with_a_hint(typed, hint):
    result = cli("concept", typed)
    assert result.exit_code == 2
    assert result.output == f"dealcoach: no concept {typed!r}; {hint}\n".replace("; (", " (")


def layer(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "ours"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def test_a_company_layer_may_rewrite_a_note(tmp_path):
    ours = layer(tmp_path, "concept-notes.yaml", "notes:\n  R7: {zh: 先见老板。, en: See the boss first.}\n")
    assert "\nSee the boss first.\n" in cli("concept", "R7", "--lang", "en", "--kb", str(ours)).output


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "concept-notes.yaml",
            "notes:\n  Z9: {zh: 甲, en: a}\n",
            "concept-notes.yaml:2:3: notes.Z9: unknown concept id 'Z9'",
        ),
        ("concept-notes.yaml", "notes:\n  R7: {zh: 甲}\n", "notes.R7.en: Field required"),
        (
            "competencies.yaml",
            "competencies:\n  - {id: mine, title: {zh: 我的, en: Mine}, concepts: [R7]}\n",
            "competencies[0].concepts[0]: concept R7 is already in competency 'mapping'",
        ),
    ],
)
def test_a_broken_notes_or_competencies_file_is_refused_with_its_place(tmp_path, name, text, message):
    result = cli("concept", "R7", "--kb", str(layer(tmp_path, name, text)))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


# --- the debrief -------------------------------------------------------------------------------


def played(builtin, name: str, right: bool) -> Play:
    """A bundled drill played to the end, every answer right or every answer wrong."""
    session = Play.begin(builtin, drill.load(SCENARIOS / "drills" / f"{name}.yaml", builtin), "en")
    while not session.finished:
        outcome = session.examiner.advisor.run(session.deal, keep_facts=True)
        good = session.examiner.expected(session.step, session.deal, outcome)
        answers = [c for c, _ in session.choices() if (c in good) == right]
        session.answer(answers if session.step.kind == "diagnose" else answers[:1])
    return session


@pytest.mark.parametrize("name", ["styles-in-the-room", BANK])
def test_the_debrief_counts_each_step_once_per_competency(builtin, notes, name):
    session = played(builtin, name, right=False)
    debrief = session.debrief()
    for competency, (_, most) in debrief.by_competency.items():
        touching = [
            t for t in session.turns if any(notes.competency_of(c).id == competency for c in t.verdict.concepts)
        ]
        assert most == sum(t.verdict.max_score for t in touching)
    assert sum(most for _, most in debrief.by_competency.values()) < sum(m for _, m in debrief.by_concept.values())


def test_the_debrief_shows_the_score_by_competency_weakest_first(builtin):
    lines = played(builtin, "styles-in-the-room", right=False).debrief().lines(builtin)
    block = lines[lines.index("By competency:") + 1 : lines.index("", lines.index("By competency:"))]
    assert block and all(re.fullmatch(r"  .+: [\d.]+/[\d.]+ \(\d+%\)", line) for line in block)
    shares = [int(re.search(r"\((\d+)%\)", line).group(1)) for line in block]
    assert shares == sorted(shares)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_concept_of_the_study_plan_comes_with_its_explanation_and_a_drill(builtin, notes, lang):
    session = played(builtin, BANK, right=False)
    session.lang = lang
    bundled = practice(SCENARIOS / "drills")
    debrief = session.debrief()
    lines = debrief.lines(builtin, bundled, BANK)
    plan = lines[lines.index("学习计划：" if lang == "zh" else "Study plan:") + 1 :]
    for concept in debrief.plan(bundled):
        at = plan.index(f"  - {concept} {builtin.concepts[concept].title(lang)}")
        assert plan[at + 1] == f"    {notes.note(concept, lang)}"
        assert plan[at + 2].split()[-1] in bundled[concept]


def test_the_debrief_names_rules_only_with_explain(tmp_path, builtin):
    plain = play(tmp_path / "a.db", "amy", POOR).output
    explained = play(tmp_path / "b.db", "amy", POOR, "en", "--explain").output
    debrief = plain.split("--- Debrief ---")[1]
    assert not any(rule in debrief for rule in builtin.rule_by_id)
    assert "    Rules: " in explained.split("--- Debrief ---")[1]


# --- the team's progress -------------------------------------------------------------------------


@pytest.fixture
def team_db(tmp_path) -> Path:
    db = tmp_path / "team.db"
    play(db, "amy", PERFECT)
    play(db, "amy", POOR)
    play(db, "bo", POOR)
    play(db, "cy", "王敏\n")  # stopped after one answer
    return db


def test_the_team_report_gives_each_trainee_a_verdict_per_drill_from_its_pass_mark(team_db):
    lines = cli("drill", "report", "--team", "--db", str(team_db), "--lang", "en").output.splitlines()
    title = "Bank OA network: reaching the person who decides"
    assert lines[0] == "Team progress: 3 trainee(s)"
    amy, bo, cy = (lines.index(f"{who} (last practised {datetime.now(UTC):%Y-%m-%d})") for who in ("amy", "bo", "cy"))
    assert lines[amy + 2] == f"    Certified  {title} (best 100%, pass mark 80%, 2 finished)"
    assert lines[bo + 2].startswith(f"    Not yet  {title} (best ")
    assert lines[cy + 2] == f"    Not yet  {title} (not finished yet)"


def test_the_team_report_shows_how_many_answers_each_percentage_rests_on(team_db):
    lines = cli("drill", "report", "--team", "--db", str(team_db), "--lang", "en").output.splitlines()
    concepts = lines[lines.index("  By concept, weakest first:") + 1 :]
    assert concepts and re.fullmatch(r"    +\d+%  \S+ .+ \(\d+ answers?\)", concepts[0])
    assert any(line.endswith("R5 CUTE roles (4 answers)") for line in lines)  # amy: 2 steps x 2 attempts


def test_the_team_report_in_chinese_is_all_chinese(team_db, builtin):
    output = cli("drill", "report", "--team", "--db", str(team_db), "--lang", "zh").output
    assert "尚未合格" in output and "（答过 " in output
    authored = ["amy", "bo", "cy", "银行OA专网：找到拍板的人", *(c.zh for c in builtin.concepts.values())]
    for text in sorted(authored, key=len, reverse=True):
        output = output.replace(text, "")
    output = re.sub(r"\b[A-Z]\d+\b", "", output)  # concept ids
    assert not re.search("[A-Za-z]", output), output


def test_the_trainee_report_in_chinese_is_all_chinese(team_db, builtin):
    output = cli("drill", "report", "--trainee", "amy", "--db", str(team_db), "--lang", "zh").output
    assert "各项能力（最弱在前）：" in output
    for text in sorted(["amy", "银行OA专网：找到拍板的人", *(c.zh for c in builtin.concepts.values())], key=len)[::-1]:
        output = output.replace(text, "")
    assert not re.search("[A-Za-z]", re.sub(r"\b[A-Z]\d+\b", "", output)), output


def test_the_team_report_as_json_has_verdicts_and_sample_sizes(team_db):
    team = json.loads(cli("drill", "report", "--team", "--db", str(team_db), "--format", "json").output)["team"]
    assert [t["trainee"] for t in team] == ["amy", "bo", "cy"]
    [amy_bank] = team[0]["drills"]
    assert (amy_bank["certified"], amy_bank["best_percent"], amy_bank["finished"]) == (True, 100, 2)
    assert team[1]["drills"][0]["certified"] is False
    assert all(row["answers"] >= 1 for t in team for row in t["concepts"])
    assert "attempts" not in team[0]


# --- what to play next --------------------------------------------------------------------------

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def session(drill_name: str, answers: list[tuple[str, float, datetime]], finished: bool = True) -> Session:
    """A stored session whose answers each practise one concept: (concept, score out of 1, when)."""
    rows = [Answer(i, f"s{i}", ["x"], score, 1.0, [c], when.isoformat()) for i, (c, score, when) in enumerate(answers)]
    start = answers[0][2].isoformat()
    return Session(1, "amy", drill_name, "en", {}, start, start if finished else None, None, rows)


def test_a_concept_is_half_forgotten_after_the_half_life_and_mastery_doubles_it():
    mastered_once = drillreport.Memory(1.0, NOW, mastered=0)
    assert mastered_once.need(NOW) == 0
    assert mastered_once.need(NOW + timedelta(days=drillreport.HALF_LIFE_DAYS)) == pytest.approx(0.5)
    twice = drillreport.Memory(1.0, NOW, mastered=1)
    assert twice.need(NOW + timedelta(days=2 * drillreport.HALF_LIFE_DAYS)) == pytest.approx(0.5)


def test_next_picks_the_drill_of_a_weak_concept_before_new_material():
    practice_map = {"A1": ["attitudes"], "S2": ["styles"]}
    history = [session("attitudes", [("A1", 0.0, NOW - timedelta(days=1))])]
    assert drillreport.next_drill(history, practice_map, NOW).drill == "attitudes"


def test_next_brings_back_a_mastered_concept_once_it_is_more_forgotten_than_new_material_is_new():
    practice_map = {"A1": ["attitudes"], "S2": ["styles"]}
    history = [session("attitudes", [("A1", 1.0, NOW - timedelta(days=1))])]
    assert drillreport.next_drill(history, practice_map, NOW).drill == "styles"
    assert drillreport.next_drill(history, practice_map, NOW + timedelta(days=60)).drill == "attitudes"


def test_next_says_which_drill_and_why(tmp_path):
    db = tmp_path / "d.db"
    play(db, "amy", POOR)
    result = cli("drill", "next", "--trainee", "amy", "--db", str(db), "--lang", "en", "--as-of", "2030-01-01")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.fullmatch(r"Next: dealcoach drill run [a-z-]+  .+", lines[0])
    reasons = lines[lines.index("Why this one:") + 1 :]
    assert 1 <= len(reasons) <= 3
    assert all(
        re.fullmatch(r"  - [A-Z]\d+ .+: (last scored \d+%, \d+ day\(s\) ago|not practised yet)", r) for r in reasons
    )


def test_next_sends_the_trainee_back_to_an_unfinished_drill_first(tmp_path):
    db = tmp_path / "d.db"
    play(db, "cy", "王敏\n", "zh")
    result = cli("drill", "next", "--trainee", "cy", "--db", str(db), "--lang", "zh")
    assert result.output == "先把没做完的“银行OA专网：找到拍板的人”做完：dealcoach drill run --resume --trainee cy\n"


def test_next_is_the_same_for_the_same_database_and_day(tmp_path):
    db = tmp_path / "d.db"
    play(db, "amy", PERFECT)
    runs = {cli("drill", "next", "--trainee", "amy", "--db", str(db), "--as-of", "2027-01-01").output for _ in range(2)}
    assert len(runs) == 1


# --- the terminal --------------------------------------------------------------------------------


def spawn(pexpect, args: list[str], columns: int):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}  # the terminal decides
    return pexpect.spawn(
        sys.executable, ["-m", "dealcoach", *args], cwd=str(ROOT), encoding="utf-8", timeout=60, env=env,
        dimensions=(40, columns),
    )  # fmt: skip


@pytest.mark.slow
def test_in_a_narrow_terminal_the_recap_and_debrief_fit_and_commands_stay_whole(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    run = ["drill", "run", BANK, "--db", str(tmp_path / "d.db"), "--trainee", "tty", "--lang", "zh"]
    child = spawn(pexpect, run, 46)
    for _ in range(2):
        child.expect("> ")
        child.sendline("1")
    child.expect("> ")
    child.kill(9)
    child.wait()
    child = spawn(pexpect, [*run[:2], "--resume", *run[3:]], 46)
    child.expect("到目前为止：")
    for _ in range(4):
        child.expect("> ")
        child.sendline("1")
    child.expect(pexpect.EOF)
    screen = (child.before or "").replace("\r", "")
    debrief = screen.split("—— 复盘 ——")[1].splitlines()
    assert max(display_width(line) for line in debrief) <= 46
    bundled = {p.stem for p in (SCENARIOS / "drills").glob("*.yaml")}
    named = re.findall(r"dealcoach drill run\s+(\S+)", "\n".join(debrief))
    assert named and all(name in bundled for name in named)  # broken at a space, never inside a name


def test_kb_lint_checks_the_notes_and_competencies(tmp_path):
    ours = layer(
        tmp_path, "competencies.yaml", "competencies:\n  - {id: mine, title: {zh: 我的, en: Mine}, concepts: [Z9]}\n"
    )
    result = cli("kb", "lint", "--kb", str(ours))
    assert result.exit_code == 1
    assert "competencies[0].concepts[0]: unknown concept id 'Z9'" in result.output


def test_coaching_load_reports_every_problem_at_once(builtin, tmp_path):
    ours = layer(tmp_path, "concept-notes.yaml", "notes:\n  Z8: {zh: 甲, en: a}\n  Z9: {zh: 乙, en: b}\n")
    with pytest.raises(InputError) as caught:
        coaching.load(kb_mod.load([kb_mod.builtin_dir(), ours]))
    assert len(caught.value.problems) == 2
