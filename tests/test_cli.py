"""`dealcoach advise` as a rep uses it: formats, languages, stdin, several files."""

from __future__ import annotations

import json
import subprocess
import sys

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
    from dealcoach.engine.templating import display_width

    result = run(["advise", deal_file(tmp_path), "--lang", "en"])
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


def test_several_files_give_a_json_array_in_order(tmp_path):
    first = deal_file(tmp_path)
    second = deal_file(tmp_path, DEAL.replace("某银行OA专网建设", "第二个项目"), "second.yaml")
    data = json.loads(run(["advise", first, second, "--format", "json"]).stdout)
    assert [d["deal"] for d in data] == ["某银行OA专网建设", "第二个项目"]


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
