"""`dealcoach review`: a pipeline of deals, ordered by risk, with themes, owners, stages and movement."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.review.pipeline import money, risk


def deal(name, *, owner="王磊", stage="evaluation", value=1_000_000, coach=True, met_buyer=True):
    people = [
        {"name": "张总", "roles": ["economic_buyer"], "contacted": met_buyer, "influence": 5, "attitude": "accept"},
        {"name": "李工", "roles": ["technical_gatekeeper"], "contacted": True, "influence": 4},
    ]
    if coach:
        people.append({"name": "陈姐", "roles": ["coach", "user"], "contacted": True, "attitude": "accept"})
    return {"name": name, "owner": owner, "account": {"name": f"{name}客户"}, "stage": stage, "value": value,
            "stakeholders": people}  # fmt: skip


def write(folder, name, data):
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def pipeline(tmp_path):
    folder = tmp_path / "deals"
    (folder / "east").mkdir(parents=True)
    write(folder, "a-healthy", deal("健康项目", stage="research", value=200_000))
    write(folder, "b-no-coach-big", deal("大单没教练", stage="decision", value=5_000_000, coach=False, met_buyer=False))
    write(folder / "east", "c-no-coach", deal("小单没教练", owner="刘芳", value=300_000, coach=False))
    write(folder / "east", "d-buyer-unmet", deal("没见决策者", owner="刘芳", met_buyer=False))
    return folder


def review(*args):
    result = CliRunner().invoke(main, ["review", *map(str, args), "--lang", "en"])
    assert "Traceback" not in result.output, result.output
    return result


def lines(result):
    return [json.loads(row) for row in result.stdout.splitlines()]


def test_risk_weighs_health_stage_and_value_together():
    assert risk(40, "decision", 2_000_000) > risk(30, "research", 200_000)
    assert risk(100, "decision", 9e9) == 0
    assert risk(50, "evaluation", None) == 50 * 0.85


def test_deals_come_riskiest_first(pipeline):
    result = lines(review(pipeline, "--format", "jsonl"))
    risks = [line["risk"] for line in result]
    assert risks == sorted(risks, reverse=True)
    assert result[0]["deal"] == "大单没教练"


def test_a_jsonl_line_is_the_advise_document_plus_file_and_owner(pipeline):
    line = next(x for x in lines(review(pipeline, "--format", "jsonl")) if x["deal"] == "小单没教练")
    file = pipeline / "east" / "c-no-coach.json"
    advised = json.loads(CliRunner().invoke(main, ["advise", str(file), "--format", "json", "--lang", "en"]).stdout)
    assert {k: line[k] for k in advised} == advised
    assert line["file"] == str(file) and line["owner"] == "刘芳"


def test_a_jsonl_line_is_in_the_language_asked_for_only(pipeline):
    line = lines(review(pipeline, "--format", "jsonl"))[0]
    assert line["lang"] == "en" and "translations" not in line  # both languages are the HTML page's alone


def test_folders_are_searched_recursively_and_the_order_does_not_depend_on_the_paths_order(pipeline):
    east, rest = pipeline / "east", [pipeline / "a-healthy.json", pipeline / "b-no-coach-big.json"]
    forward, backward = review(*rest, east, "--format", "jsonl"), review(east, *reversed(rest), "--format", "jsonl")
    assert len(lines(forward)) == 4 and forward.stdout == backward.stdout


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "jsonl", "csv", "html"])
def test_the_review_is_byte_identical_whatever_the_number_of_jobs(pipeline, fmt):
    one, two = review(pipeline, "--format", fmt, "--jobs", "1"), review(pipeline, "--format", fmt, "--jobs", "2")
    assert one.exit_code == two.exit_code == 0 and one.stdout == two.stdout


def test_themes_count_deals_and_the_value_at_stake(pipeline):
    summary = json.loads(review(pipeline, "--format", "json").stdout)["summary"]
    theme = next(t for t in summary["themes"] if t["id"] == "no_coach")
    assert (theme["deals"], theme["value"]) == (2, 5_300_000)
    assert theme["text"] == "no coach: 2 deals worth 5.3M CNY"


def test_owners_and_stages_are_added_up(pipeline):
    summary = json.loads(review(pipeline, "--format", "json").stdout)["summary"]
    assert summary["owners"]["刘芳"]["deals"] == 2 and summary["owners"]["王磊"]["value"] == 5_200_000
    assert list(summary["stages"]) == ["research", "evaluation", "decision"]
    assert summary["stages"]["evaluation"]["deals"] == 2


def test_the_text_review_names_owner_stage_value_health_and_the_people_of_each_step(pipeline):
    text = review(pipeline).stdout
    assert "owner 刘芳 · stage evaluation · value 300K CNY · health" in text
    assert "red flags: no coach" in text and "[people: " in text


def test_invalid_deals_are_listed_and_skipped_with_exit_1(pipeline):
    write(pipeline, "z-broken", {"name": "坏的", "account": {"name": "x"}, "stage": "somewhere"})
    result = review(pipeline, "--format", "jsonl")
    assert result.exit_code == 1 and len(lines(result)) == 4
    assert "z-broken.json" in result.stderr and "stage" in result.stderr
    assert review(pipeline, "--format", "jsonl", "--allow-invalid").exit_code == 0


def test_a_missing_path_is_a_usage_error(tmp_path):
    result = review(tmp_path / "nowhere")
    assert result.exit_code == 2 and "nowhere: no such file or folder" in result.stderr


def test_since_marks_health_flags_and_stage_that_moved(pipeline, tmp_path):
    before = tmp_path / "last-week.json"
    before.write_text(review(pipeline, "--format", "json").stdout, encoding="utf-8")
    then = {x["deal"]: x["assessment"]["health"] for x in json.loads(before.read_text(encoding="utf-8"))["deals"]}
    write(pipeline / "east", "c-no-coach", deal("小单没教练", owner="刘芳", stage="decision", value=300_000))
    write(pipeline, "e-new", deal("新项目"))
    now = lines(review(pipeline, "--format", "jsonl", "--since", before))
    moved = {x["deal"]: x["movement"] for x in now}
    health = {x["deal"]: x["assessment"]["health"] for x in now}
    assert moved["新项目"] == {"new": True}
    assert moved["小单没教练"]["stage"] == ["evaluation", "decision"]
    assert "no_coach" in moved["小单没教练"]["flags_cleared"]
    assert moved["小单没教练"]["health"] == health["小单没教练"] - then["小单没教练"]
    assert moved["健康项目"] == {"new": False, "health": 0, "flags_raised": [], "flags_cleared": [], "stage": None}


def test_since_rejects_a_file_that_is_not_a_review(pipeline, tmp_path):
    (tmp_path / "x.json").write_text('{"a": 1}', encoding="utf-8")
    result = review(pipeline, "--since", tmp_path / "x.json")
    assert result.exit_code == 2 and "not a dealcoach review" in result.stderr


def test_csv_has_one_row_per_deal_and_no_cell_a_spreadsheet_would_run(pipeline):
    write(pipeline, "f-formula", deal('=HYPERLINK("http://x")', owner="@evil"))
    rows = list(csv.DictReader(io.StringIO(review(pipeline, "--format", "csv").stdout)))
    assert len(rows) == 5 and [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    evil = next(r for r in rows if "HYPERLINK" in r["deal"])
    assert evil["deal"].startswith("'=") and evil["owner"] == "'@evil"


def test_markdown_escapes_what_a_deal_says(pipeline):
    write(pipeline, "g-markup", deal("<script>x</script> **big**"))
    text = review(pipeline, "--format", "markdown").stdout
    assert "<script>" not in text and "**big**" not in text


def test_out_writes_the_review_to_a_file_and_nothing_to_standard_output(pipeline, tmp_path):
    result = review(pipeline, "--format", "json", "--out", tmp_path / "r.json")
    assert result.stdout == "" and json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["deals"]


def test_no_progress_bar_when_not_on_a_terminal(pipeline):
    assert review(pipeline).stderr == ""


def test_money_reads_as_a_manager_says_it():
    assert (money(3_200_000, "en"), money(3_200_000, "zh"), money(1.5e8, "zh", "CNY")) == ("3.2M", "320万", "1.5亿 CNY")
