"""`dealcoach deal new` asks for a deal and writes a valid, commented file; `deal check` validates."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine import exitcodes
from dealcoach.engine.deals import deal, intake
from dealcoach.engine.yamlsource import Document
from tests.conftest import ROOT, SCENARIOS

WANTED = {
    "name": "滨江银行OA专网",
    "account.name": "滨江银行",
    "account.tier": "3",  # regional, by number
    "stage": "方案比较",  # an alias of evaluation
    "value": "2600000",
    "competitors[0].name": "华拓通信",
    "competitors[0].strength": "stronger",
    "competitors[0].incumbent": "y",
    "decision.process_known": "是",
    "stakeholders[0].name": "周建国",
    "stakeholders[0].roles": "1",
    "stakeholders[0].influence": "5",
    "stakeholders[1].name": "王敏",
    "stakeholders[1].roles": "4 7",  # coach and influencer
    "stakeholders[1].attitude": "accept",
    "stakeholders[1].contacted": "1",
    "stakeholders[1].reports_to": "1",  # the first (and only) other stakeholder: 周建国
    "stakeholders[0].favors": "1",  # the first competitor
    "needs[0].text": "网点安全互联",
    "needs[0].owner": "2",  # 王敏
    "signals": "10",
}


def script(vocabulary, wanted: dict[str, str], tmp_path: Path) -> list[str]:
    """The lines a person would type for ``wanted`` (Enter everywhere else), in order."""
    draft = intake.Draft(tmp_path / "script.draft")
    asked: set[str] = set()

    def read(prompt: str) -> str:
        key = session.current.key
        assert key not in asked, f"the scripted answer to {key} was refused"
        asked.add(key)
        return wanted.get(key, "")

    session = intake.Intake(vocabulary, "en", draft, read)
    session.run()
    return [raw for _, raw in draft.answers]


@pytest.fixture
def typed(builtin, tmp_path) -> list[str]:
    return script(builtin.vocabulary, WANTED, tmp_path)


def run(args: list[str], lines: list[str]):
    return CliRunner().invoke(main, ["deal", "new", *args], input="".join(f"{line}\n" for line in lines))


def test_piped_answers_write_a_deal_that_deal_check_accepts(typed, tmp_path):
    target = tmp_path / "deal.yaml"
    result = run([str(target), "--lang", "en"], typed)
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(main, ["deal", "check", str(target)]).stdout == f"{target}: ok\n"


def test_the_written_deal_holds_the_answers_as_ids(typed, tmp_path, builtin):
    target = tmp_path / "deal.yaml"
    run([str(target), "--lang", "en"], typed)
    written = deal.load(str(target), builtin.vocabulary)
    assert (written.account.tier, written.stage, written.value) == ("regional", "evaluation", 2600000)
    assert written.decision.process_known is True and written.competitors[0].incumbent is True
    zhou, wang = written.stakeholders
    assert (zhou.roles, zhou.influence) == (["economic_buyer"], 5)
    assert (wang.roles, wang.attitude, wang.contacted) == (["coach", "influencer"], "accept", True)
    assert wang.reports_to == "周建国" and zhou.favors == "华拓通信"
    assert written.needs[0].owner == "王敏" and written.signals == ["no_next_step"]


@pytest.mark.parametrize("lang, label", [("en", "# attitude: accept 接受 | doubt 怀疑"), ("zh", "# 态度: accept 接受")])
def test_the_written_deal_explains_each_field_in_the_chosen_language(typed, tmp_path, lang, label):
    target = tmp_path / "deal.yaml"
    run([str(target), "--lang", lang], typed)
    assert label in target.read_text(encoding="utf-8")


BROKEN_REFERENCES = {
    ("stakeholder", "reports_to"): {"stakeholders": [{"name": "甲", "reports_to": "nobody"}]},
    ("need", "owner"): {"stakeholders": [{"name": "甲"}], "needs": [{"text": "x", "owner": "nobody"}]},
}


def test_the_intake_offers_stakeholders_for_exactly_the_references_the_validator_enforces(builtin):
    assert set(BROKEN_REFERENCES) == intake.REFERENCES
    for fragment in BROKEN_REFERENCES.values():
        with pytest.raises(deal.InputError, match="'nobody' is not a stakeholder of this deal"):
            deal.validate(Document("t.yaml", {"name": "t", "account": {"name": "a"}, **fragment}), builtin.vocabulary)


def test_amounts_may_be_typed_with_thousands_separators(builtin, tmp_path):
    lines = script(builtin.vocabulary, {**WANTED, "value": "2,600,000"}, tmp_path)
    result = run([str(tmp_path / "deal.yaml"), "--lang", "en"], lines)
    assert result.exit_code == 0 and "value: 2600000" in (tmp_path / "deal.yaml").read_text(encoding="utf-8")


def test_an_invalid_answer_is_asked_again_with_the_validators_message(typed, tmp_path):
    lines = list(typed)
    influence = lines.index("5")
    lines[influence:influence] = ["9", "many"]
    result = run([str(tmp_path / "deal.yaml"), "--lang", "en"], lines)
    assert result.exit_code == 0, result.output
    assert "stakeholders[0].influence" not in result.output  # the message is the validator's, without the path
    assert "less than or equal to 5; got 9" in result.output
    assert "Please enter a whole number." in result.output


def test_an_unknown_enum_value_is_refused_with_the_allowed_values(typed, tmp_path):
    lines = list(typed)
    lines[lines.index("stronger") : lines.index("stronger")] = ["strongest"]
    result = run([str(tmp_path / "deal.yaml"), "--lang", "en"], lines)
    assert (
        "'strongest' is not allowed; did you mean 'stronger'? use one of: stronger (更强), equal (相当)"
        in result.output
    )
    assert result.exit_code == 0


def test_a_duplicate_name_gets_the_validators_message(typed, tmp_path):
    lines = list(typed)
    wang = lines.index("王敏")
    lines[wang:wang] = ["周建国"]
    result = run([str(tmp_path / "deal.yaml"), "--lang", "en"], lines)
    assert "'周建国' is listed twice; names must be unique" in result.output
    assert result.exit_code == 0


def test_stopping_keeps_the_answers_and_the_next_run_resumes(typed, tmp_path):
    target = tmp_path / "deal.yaml"
    stopped = run([str(target), "--lang", "en"], typed[:12])
    assert stopped.exit_code == exitcodes.INVALID_INPUT
    assert f"Your answers are saved in {target}.draft" in stopped.output
    assert not target.exists()
    resumed = run([str(target), "--lang", "en"], typed[12:])
    assert resumed.exit_code == 0, resumed.output
    assert "(resuming: 12 saved answers loaded)" in resumed.output
    assert not Path(f"{target}.draft").exists()
    whole = tmp_path / "in-one-go" / "deal.yaml"
    whole.parent.mkdir()
    run([str(whole), "--lang", "en"], typed)
    assert target.read_text(encoding="utf-8") == whole.read_text(encoding="utf-8")


def test_restart_discards_the_saved_answers(typed, tmp_path):
    target = tmp_path / "deal.yaml"
    run([str(target)], typed[:12])
    result = run([str(target), "--restart", "--lang", "en"], typed)
    assert result.exit_code == 0 and "resuming" not in result.output


def test_an_existing_file_is_never_overwritten(tmp_path):
    target = tmp_path / "deal.yaml"
    target.write_text("keep me\n", encoding="utf-8")
    result = run([str(target)], [])
    assert result.exit_code == 2
    assert "already exists" in result.output and target.read_text(encoding="utf-8") == "keep me\n"


def test_a_folder_that_does_not_exist_is_reported_before_any_question(tmp_path):
    result = run([str(tmp_path / "missing" / "deal.yaml")], [])
    assert result.exit_code == 2
    assert "cannot save answers there" in result.output and "Deal › name" not in result.output


def test_a_damaged_draft_is_reported_not_a_traceback(tmp_path):
    target = tmp_path / "deal.yaml"
    Path(f"{target}.draft").write_text("{not json", encoding="utf-8")
    result = run([str(target)], [])
    assert result.exit_code == 2
    assert "not a dealcoach deal draft; delete it or pass --restart" in result.output


def test_without_a_file_the_deal_goes_to_standard_output(typed, tmp_path, monkeypatch):
    monkeypatch.setenv("DEALCOACH_DB", str(tmp_path / "data" / "drills.sqlite3"))
    result = run(["--lang", "en"], typed)
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["name"] == WANTED["name"]
    assert "Stakeholder 1 › name" not in result.stdout  # the questions went to standard error
    assert not (tmp_path / "data" / "deal-new.draft.json").exists()


def test_the_draft_records_every_answer_as_typed(typed, tmp_path):
    target = tmp_path / "deal.yaml"
    run([str(target)], typed[:5])
    saved = json.loads(Path(f"{target}.draft").read_text(encoding="utf-8"))
    assert saved["answers"][:3] == [["name", WANTED["name"]], ["account.name", "滨江银行"], ["account.tier", "3"]]


def test_deal_check_reports_every_problem_with_exit_status_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\naccount: {name: a}\nstage: evaluaton\nstakeholders: [{name: 甲, influence: 9}]\n")
    result = CliRunner().invoke(main, ["deal", "check", str(SCENARIOS / "bank-oa-network.yaml"), str(bad)])
    assert result.exit_code == 2
    assert f"{SCENARIOS / 'bank-oa-network.yaml'}: ok" in result.stdout
    assert f"{bad}:3:1: stage: 'evaluaton' is not allowed" in result.stderr
    assert "stakeholders[0].influence" in result.stderr


def test_deal_check_reads_standard_input():
    result = CliRunner().invoke(main, ["deal", "check", "-"], input="name: t\naccount: {name: a}\n")
    assert (result.exit_code, result.stdout) == (0, "<stdin>: ok\n")


def _spawn(pexpect, args: list[str]):
    return pexpect.spawn(
        sys.executable, ["-m", "dealcoach", "deal", "new", *args], cwd=str(ROOT), encoding="utf-8", timeout=60
    )


def _answer(child, lines: list[str]) -> None:
    for line in lines:
        child.expect("> ")
        child.sendline(line)


def test_in_a_terminal_ctrl_c_and_kill_lose_nothing(typed, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    target = str(tmp_path / "deal.yaml")
    child = _spawn(pexpect, [target, "--lang", "en"])
    child.expect(r"Deal › name \(required\)")
    _answer(child, typed[:3])
    child.expect(r"Account › industry \(Enter = none\)")
    child.sendintr()
    child.expect("Your answers are saved in")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == exitcodes.INTERRUPTED
    child = _spawn(pexpect, [target, "--lang", "en"])
    child.expect(r"\(resuming: 3 saved answers loaded\)")
    _answer(child, typed[3:8])
    child.expect("> ")
    child.kill(9)  # a killed process: the answers so far are already in the draft
    child.wait()
    child = _spawn(pexpect, [target, "--lang", "en"])
    child.expect(r"\(resuming: 8 saved answers loaded\)")
    _answer(child, typed[8:])
    child.expect("Wrote")
    child.expect(pexpect.EOF)
    assert CliRunner().invoke(main, ["deal", "check", target]).exit_code == 0


def test_in_a_terminal_choices_are_numbered_with_id_and_chinese_label(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    child = _spawn(pexpect, [str(tmp_path / "deal.yaml"), "--lang", "zh"])
    _answer(child, ["项目", "客户"])
    child.expect(r"客户 › 类型 \(回车 = 其他\)")
    child.expect(r"1\. global 全球性")
    child.expect(r"4\. other 其他")
    child.expect("> ")
    child.sendline("5")
    child.expect("'5' is not allowed; use one of: global")
    child.kill(9)
    child.wait()
