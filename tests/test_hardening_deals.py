"""Deal files that once crashed or were misread: each is refused with one located line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from dealcoach.cli import main

GOOD = """name: 测试项目
account: {name: 某银行}
stage: evaluation
stakeholders:
  - {name: 张伟, roles: [economic_buyer]}
"""


def advise(tmp_path, text: str, name: str = "deal.yaml", *args: str) -> tuple[int, str, str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["advise", str(path), "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr.replace(str(path), "FILE")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("notes: !!int abc", "FILE:6:8: invalid YAML: cannot read 'abc' as !!int"),
        ("notes: !!float abc", "FILE:6:8: invalid YAML: cannot read 'abc' as !!float"),
        ("notes: !!bool maybe", "FILE:6:8: invalid YAML: cannot read 'maybe' as !!bool"),
        ("notes: !!timestamp xyz", "FILE:6:8: invalid YAML: cannot read 'xyz' as !!timestamp"),
        ("notes: " + "7" * 5000, "FILE:6:8: invalid YAML: cannot read '777"),
        ("notes: !!binary aGVsbG8=", "FILE:6:8: invalid YAML: binary data (!!binary) is not allowed"),
        ("notes: !!float", "FILE:6:8: invalid YAML: cannot read '' as !!float"),  # found by the fuzzer
        ("notes: !!int", "FILE:6:8: invalid YAML: cannot read '' as !!int"),
    ],
)
def test_scalar_yaml_cannot_build_is_a_located_problem(tmp_path, line, expected):
    status, _, stderr = advise(tmp_path, GOOD + line + "\n")
    assert status == 2
    assert expected in stderr


def test_impossible_date_in_free_text_is_kept_as_written(tmp_path):
    status, stdout, _ = advise(tmp_path, GOOD + "notes: 2024-02-30\n")
    assert status == 0
    assert json.loads(stdout)["deal"] == "测试项目"


def test_binary_value_cannot_reach_a_drill_from_the_deal(tmp_path):
    path = tmp_path / "deal.yaml"
    path.write_text(GOOD + "notes: !!binary aGVsbG8=\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["drill", "run", "--from-deal", str(path), "--db", str(tmp_path / "d.db")])
    assert result.exit_code == 2
    assert "binary data (!!binary) is not allowed" in result.stderr


def test_a_name_that_is_a_list_is_a_type_problem_not_a_crash(tmp_path):
    status, _, stderr = advise(tmp_path, GOOD + "  - {name: [a, b], reports_to: [c]}\n")
    assert status == 2
    assert "FILE:6:6: stakeholders[1].name: input should be a valid string" in stderr
    assert "stakeholders[1].reports_to: input should be a valid string" in stderr


def test_a_huge_value_is_quoted_shortened(tmp_path):
    status, _, stderr = advise(tmp_path, GOOD + "value: " + "9" * 4000 + "\n")
    assert status == 2
    line = next(x for x in stderr.splitlines() if x.startswith("FILE:6"))
    assert line.startswith("FILE:6:1: value: input should be a valid number; got 999")
    assert line.endswith("…") and len(line) < 150


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("value: true", "value"),
        ("value: '3000000'", "value"),
        ("budget: {amount: yes}", "budget.amount"),
        ("account: {name: 某银行, our_share: true}", "account.our_share"),
    ],
)
def test_a_number_must_be_written_as_a_number(tmp_path, line, field):
    text = GOOD.replace("account: {name: 某银行}\n", "") + line + "\n"
    if not line.startswith("account"):
        text += "account: {name: 某银行}\n"
    status, _, stderr = advise(tmp_path, text)
    assert status == 2
    assert f"{field}: input should be a valid number" in stderr


def test_names_are_unique_after_trimming(tmp_path):
    status, _, stderr = advise(tmp_path, GOOD + "  - {name: '张伟 '}\n")
    assert status == 2
    assert "FILE:6:6: stakeholders[1].name: '张伟' is listed twice" in stderr


def test_a_reference_matches_a_name_written_with_spaces(tmp_path):
    status, _, stderr = advise(
        tmp_path, GOOD + "  - {name: ' 李强', reports_to: '张伟 '}\nneeds: [{text: x, owner: 李强}]\n"
    )
    assert (status, stderr) == (0, "")


def test_json_problems_name_line_and_column(tmp_path):
    text = (
        '{\n\t"name": "x",\n\t"account": {"name": "a", "tier": "bad"},\n'
        '\t"stakeholders": [{"name": "a"}, {"name": "a"}]\n}'
    )
    status, _, stderr = advise(tmp_path, text, "deal.json")
    assert status == 2
    assert "FILE:3:27: account.tier: 'bad' is not allowed" in stderr
    assert "FILE:4:35: stakeholders[1].name: 'a' is listed twice" in stderr


def test_json_duplicates_huge_numbers_and_nan_are_located(tmp_path):
    text = '{"name": "x", "name": "y",\n "account": {"name": "a"}, "value": ' + "1" * 5000 + ', "notes": NaN}'
    status, _, stderr = advise(tmp_path, text, "deal.json")
    assert status == 2
    assert "FILE:1:15: invalid JSON: duplicate key 'name'" in stderr
    assert "FILE:2:37: value: invalid JSON: a number has more than 4300 digits" in stderr
    assert ": notes: invalid JSON: NaN is not a JSON number" in stderr


def test_json_number_is_read_as_json_reads_it(tmp_path):
    status, stdout, _ = advise(tmp_path, '{"name": "x", "account": {"name": "a"}, "value": 1e6}', "deal.json")
    assert status == 0
    assert json.loads(stdout)["deal"] == "x"


def test_control_characters_in_a_key_stay_on_one_line(tmp_path):
    status, _, stderr = advise(tmp_path, GOOD + '"a\\nb\\x1b[2J": 1\n')
    assert status == 2
    line = next(x for x in stderr.splitlines() if x.startswith("FILE:6"))
    assert "unknown key 'a\\nb\\x1b[2J'" in line
    assert "\x1b" not in stderr


def test_a_merge_key_may_be_overridden(tmp_path):
    text = GOOD.replace(
        "account: {name: 某银行}",
        "extra: {base: &base {name: 某银行, tier: national}}\naccount: {<<: *base, name: 另一家}",
    )
    status, _, stderr = advise(tmp_path, text)
    assert (status, stderr) == (0, "")


def test_advise_from_closed_standard_input_is_a_clean_error():
    closed = subprocess.run(
        [sys.executable, "-m", "dealcoach", "advise", "-"],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.close(0),
        check=False,
    )
    assert closed.returncode == 2
    assert closed.stderr.startswith("<stdin>: standard input is closed; give a file name instead of -\n")
