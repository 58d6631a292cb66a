"""`dealcoach advise` as a rep uses it: formats, languages, stdin, several files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from tests.conftest import ROOT

DEAL = """name: 某银行OA专网建设
account: {name: 某银行}
stage: evaluation
rep: {style: analytical}
stakeholders:
  - {name: 张伟, roles: [决策者], contacted: false, influence: 5}
  - {name: 李强, roles: [coach, user], contacted: true, style: controller}
  - {name: 周敏, roles: [technical_gatekeeper], influence: 4}
"""


def run(args, input_text=None, env=None):
    result = CliRunner().invoke(main, args, input=input_text, env=env)
    assert "Traceback" not in result.output
    return result


def deal_file(tmp_path, text=DEAL, name="deal.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_json_output_follows_the_contract(tmp_path):
    result = run(["advise", deal_file(tmp_path), "--format", "json", "--lang", "zh"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == ["schema", "deal", "lang", "advice", "assessment"]
    assert (data["schema"], data["deal"], data["lang"]) == ("dealcoach.advice/1", "某银行OA专网建设", "zh")
    first = data["advice"][0]
    assert list(first) == ["rule", "category", "priority", "stakeholders", "concepts", "text", "because"]
    assert first["rule"] == "coverage.coach-arranges-economic-buyer"
    assert first["stakeholders"] == ["李强", "张伟"]
    assert "张伟：已接触 = 否" in first["because"]


def test_advice_is_ordered_by_priority_first(tmp_path):
    data = json.loads(run(["advise", deal_file(tmp_path), "--format", "json", "--lang", "en"]).stdout)
    ranks = ["high", "medium", "low"]
    priorities = [ranks.index(a["priority"]) for a in data["advice"]]
    assert priorities == sorted(priorities)


def test_the_generic_meeting_advice_gives_way_to_the_coach_introduction(tmp_path):
    data = json.loads(run(["advise", deal_file(tmp_path), "--format", "json", "--lang", "en"]).stdout)
    rules = [a["rule"] for a in data["advice"]]
    assert "coverage.coach-arranges-economic-buyer" in rules
    assert "coverage.meet-economic-buyer" not in rules


def test_top_limits_the_number_of_pieces_of_advice(tmp_path):
    data = json.loads(run(["advise", deal_file(tmp_path), "--format", "json", "--top", "1"]).stdout)
    assert len(data["advice"]) == 1


def test_explain_adds_the_reasoning_chain(tmp_path):
    data = json.loads(run(["advise", deal_file(tmp_path), "--format", "json", "--lang", "en", "--explain"]).stdout)
    rule = "style.speed-up-for-faster-stakeholder"  # its topic (style-fit) may fold it into another style item
    style = next(a for a in data["advice"] if a["rule"] == rule or f"Also covers: {rule} (李强)" in a["because"])
    assert any(
        line.startswith("李强: their pace = faster than you ← by rule style.faster-than-rep") for line in style["chain"]
    )


def test_text_output_leads_with_the_most_important_steps_and_fits_80_columns(tmp_path):
    from dealcoach.engine.render.templating import display_width

    result = run(["advise", deal_file(tmp_path), "--lang", "en"], env={"COLUMNS": "80"})
    lines = result.stdout.splitlines()
    assert lines[0] == "某银行OA专网建设 (某银行)"
    assert "Most important next steps" in lines
    assert lines[lines.index("Most important next steps") + 1].startswith(" 1.  [high] 张伟 makes the final call")
    assert max(display_width(line) for line in lines) <= 80


def test_markdown_output_has_headings_per_category(tmp_path):
    result = run(["advise", deal_file(tmp_path), "--format", "markdown", "--lang", "zh"])
    assert result.stdout.startswith("# 某银行OA专网建设（某银行）")
    headings = [line for line in result.stdout.splitlines() if line.startswith("## ")]
    assert headings[0] == "## 今天最重要的几步"
    assert len(headings) >= 2


def test_language_follows_a_chinese_locale(tmp_path):
    result = run(
        ["advise", deal_file(tmp_path), "--format", "json"],
        env={"LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"},
    )
    assert json.loads(result.stdout)["lang"] == "zh"


def test_language_defaults_to_english_elsewhere(tmp_path):
    result = run(
        ["advise", deal_file(tmp_path), "--format", "json"],
        env={"LC_ALL": "", "LC_MESSAGES": "", "LANG": "de_DE.UTF-8"},
    )
    assert json.loads(result.stdout)["lang"] == "en"


def test_dash_reads_the_deal_from_standard_input():
    result = run(["advise", "-", "--format", "json", "--lang", "en"], input_text=DEAL)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["deal"] == "某银行OA专网建设"


def test_json_on_standard_input_is_recognised():
    deal = {"name": "json deal", "account": {"name": "a"}, "stage": "research"}
    result = run(["advise", "-", "--format", "json"], input_text=json.dumps(deal))
    assert json.loads(result.stdout)["deal"] == "json deal"


def test_several_files_give_a_json_array_in_order_each_naming_its_file(tmp_path):
    first = deal_file(tmp_path)
    second = deal_file(tmp_path, DEAL.replace("某银行OA专网建设", "第二个项目"), "second.yaml")
    data = json.loads(run(["advise", first, second, "--format", "json"]).stdout)
    assert [(d["deal"], d["file"]) for d in data] == [("某银行OA专网建设", first), ("第二个项目", second)]


def test_a_single_file_gives_one_json_object_without_a_file_key(tmp_path):
    data = json.loads(run(["advise", deal_file(tmp_path), "--format", "json"]).stdout)
    assert isinstance(data, dict)
    assert "file" not in data


def test_jsonl_gives_one_document_per_line_with_its_file(tmp_path):
    first = deal_file(tmp_path)
    second = deal_file(tmp_path, DEAL.replace("某银行OA专网建设", "第二个项目"), "second.yaml")
    lines = run(["advise", first, second, "--format", "jsonl"]).stdout.splitlines()
    assert [(json.loads(line)["deal"], json.loads(line)["file"]) for line in lines] == [
        ("某银行OA专网建设", first),
        ("第二个项目", second),
    ]


def test_an_invalid_file_among_several_is_reported_and_the_valid_ones_still_advised(tmp_path):
    good = deal_file(tmp_path)
    bad = deal_file(tmp_path, "name: x\n", "bad.yaml")
    result = run(["advise", bad, good, "--format", "json"])
    assert result.exit_code == 2
    assert [d["file"] for d in json.loads(result.stdout)] == [good]
    assert "bad.yaml" in result.stderr and "required key 'account' is missing" in result.stderr


def test_several_files_give_an_array_even_when_only_one_is_valid(tmp_path):
    result = run(["advise", deal_file(tmp_path), str(tmp_path / "missing.yaml"), "--format", "json"])
    assert result.exit_code == 2
    assert isinstance(json.loads(result.stdout), list)


def test_a_single_invalid_file_prints_nothing_on_standard_output(tmp_path):
    result = run(["advise", deal_file(tmp_path, "name: x\n"), "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""


def test_a_deal_no_rule_applies_to_says_so(tmp_path):
    path = deal_file(tmp_path, "name: 空项目\naccount: {name: a}\n")
    result = run(["advise", path, "--lang", "en"])
    assert result.exit_code == 0
    assert "No playbook rule applies to this deal." in result.stdout


def test_python_m_dealcoach_runs_the_program(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "dealcoach", "advise", deal_file(tmp_path), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["deal"] == "某银行OA专网建设"


def test_kb_test_reports_a_summary_line():
    result = run(["kb", "test", "coverage.find-a-coach"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "3 passed, 0 failed"


def test_json_includes_an_explained_assessment(tmp_path):
    data = json.loads(run(["advise", deal_file(tmp_path), "--format", "json", "--lang", "en"]).stdout)
    assessment = data["assessment"]
    assert list(assessment["criteria"]) == ["need", "process", "budget", "relationship", "worth"]
    assert {
        "flag": "economic_buyer_unmet_late",
        "text": "decision maker never met late in the cycle",
        "stakeholder": "张伟",
    } in assessment["red_flags"]
    assert assessment["health"] == 100 - sum(d["points"] for d in assessment["deductions"])
    assert all(d["reason"] for d in assessment["deductions"])


def test_the_program_keeps_the_exit_status_and_messages_of_a_user_error(tmp_path):
    """`run()` leaves without the interpreter's teardown (success: test_python_m_dealcoach_runs_the_program)."""
    completed = subprocess.run(
        [sys.executable, "-m", "dealcoach", "advise", deal_file(tmp_path, "name: x\n")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "required key 'account' is missing" in completed.stderr


def test_why_not_answers_in_words(tmp_path):
    result = run(["advise", deal_file(tmp_path), "--lang", "en", "--why-not", "coverage.find-a-coach"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:2] == ["某银行OA专网建设", "Rule coverage.find-a-coach did not fire:"]


def test_why_not_honours_json_with_a_structured_answer(tmp_path):
    result = run(
        ["advise", deal_file(tmp_path), "--format", "json", "--lang", "en", "--why-not", "coverage.find-a-coach"]
    )
    data = json.loads(result.stdout)
    assert list(data) == ["schema", "deal", "lang", "rule", "fired", "explanation"]
    assert (data["schema"], data["rule"], data["fired"]) == ("dealcoach.why-not/1", "coverage.find-a-coach", False)
    assert data["explanation"][0] == "Rule coverage.find-a-coach did not fire:"


def test_why_not_json_says_when_the_rule_fired(tmp_path):
    rule = "coverage.coach-arranges-economic-buyer"
    data = json.loads(run(["advise", deal_file(tmp_path), "--format", "json", "--why-not", rule]).stdout)
    assert data["fired"] is True


@pytest.mark.parametrize("extra", [["--top", "3"], ["--explain"]])
def test_why_not_refuses_options_it_would_ignore(tmp_path, extra):
    result = run(["advise", deal_file(tmp_path), "--why-not", "coverage.find-a-coach", *extra])
    assert result.exit_code == 2
    assert f"{extra[0]} cannot be used with --why-not" in result.stderr
    assert result.stdout == ""


def test_an_unknown_rule_id_gets_a_suggestion_in_why_not(tmp_path):
    result = run(["advise", deal_file(tmp_path), "--why-not", "coverage.find-coach"])
    assert result.exit_code == 2
    assert "no rule with id 'coverage.find-coach'; did you mean 'coverage.find-a-coach'?" in result.stderr


@pytest.mark.parametrize("command", [["kb", "show"], ["kb", "test"]])
def test_an_unknown_rule_id_gets_a_suggestion_in_kb_commands(command):
    result = run([*command, "coverage.find-coach"])
    assert result.exit_code == 2
    assert "did you mean 'coverage.find-a-coach'?" in result.stderr


def test_an_unknown_rule_id_far_from_any_points_to_the_list():
    result = run(["kb", "show", "zzz"])
    assert result.stderr.strip() == "dealcoach: no rule with id 'zzz' (see dealcoach kb list)"
