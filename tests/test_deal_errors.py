"""Every kind of invalid deal file: exit status 2, one located line per problem, no traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dealcoach.cli import main

GOOD = """name: 测试项目
account: {name: 某银行}
stage: evaluation
stakeholders:
  - {name: 张伟, roles: [economic_buyer]}
"""


def advise(tmp_path, text: str | bytes, name: str = "deal.yaml") -> tuple[int, str]:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    result = CliRunner().invoke(main, ["advise", str(path)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.stderr.replace(str(path), "FILE")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\naccount: {name: a\n", "FILE:3:1: invalid YAML"),
        ("name: x\n", "FILE: account: required key 'account' is missing"),
        ("account: {name: a}\n", "FILE: name: required key 'name' is missing"),
        (GOOD + "stagee: research\n", "FILE:6:1: stagee: unknown key 'stagee'; did you mean 'stage'?"),
        (
            GOOD.replace("evaluation", "closing"),
            "FILE:3:1: stage: 'closing' is not allowed; use one of: intent (购买意愿)",
        ),
        (
            GOOD.replace("roles: [economic_buyer]", "roles: [boss]"),
            "FILE:5:24: stakeholders[0].roles[0]: 'boss' is not allowed; use one of: economic_buyer (决策者)",
        ),
        (
            GOOD.replace("roles: [economic_buyer]", "influence: 9"),
            "FILE:5:16: stakeholders[0].influence: input should be less than or equal to 5; got 9",
        ),
        (
            GOOD.replace("roles: [economic_buyer]", "contacted: maybe"),
            "FILE:5:16: stakeholders[0].contacted: input should be a valid boolean; got 'maybe'",
        ),
        (
            GOOD.replace("roles: [economic_buyer]", "reports_to: 王总"),
            "FILE:5:16: stakeholders[0].reports_to: '王总' is not a stakeholder of this deal; stakeholders: 张伟",
        ),
        (GOOD + "  - {name: 张伟}\n", "FILE:6:6: stakeholders[1].name: '张伟' is listed twice; names must be unique"),
        (GOOD + "needs: [{text: x, owner: 老赵}]\n", "FILE:6:19: needs[0].owner: '老赵' is not a stakeholder"),
        (
            GOOD + "needs: [{text: x, type: wish}]\n",
            "FILE:6:19: needs[0].type: 'wish' is not allowed; use one of: requirement (功能或技术要求)",
        ),
        (GOOD + "name: again\n", "FILE:6:1: duplicate key 'name' (first given on line 1)"),
        (GOOD + "value: -5\n", "FILE:6:1: value: input should be greater than or equal to 0; got -5"),
        (GOOD + "signals: [rumour]\n", "FILE:6:11: signals[0]: 'rumour' is not allowed; use one of: price_objection"),
        ("- just\n- a list\n", "FILE: a deal file must be a mapping"),
        (
            GOOD + "x: !!python/object/apply:os.system [ls]\n",
            "FILE:6:4: invalid YAML: could not determine a constructor",
        ),
    ],
)
def test_invalid_deal_is_rejected_with_a_located_message(tmp_path, text, expected):
    status, stderr = advise(tmp_path, text)
    assert status == 2
    assert expected in stderr
    assert stderr.rstrip().endswith("those deals were not advised.")


def test_every_problem_in_a_file_is_reported_at_once(tmp_path):
    text = GOOD.replace("roles: [economic_buyer]", "roles: [boss], influence: 0, reports_to: 某人") + "stagee: x\n"
    status, stderr = advise(tmp_path, text)
    assert status == 2
    assert len([line for line in stderr.splitlines() if line.startswith("FILE:")]) == 4


def test_invalid_json_reports_line_and_column(tmp_path):
    status, stderr = advise(tmp_path, '{"name": "x",\n "account": }', name="deal.json")
    assert status == 2
    assert "FILE:2:13: invalid JSON: Expecting value" in stderr


def test_json_with_a_duplicate_key_is_rejected(tmp_path):
    status, stderr = advise(tmp_path, '{"name": "x", "name": "y", "account": {"name": "a"}}', name="deal.json")
    assert (status, "invalid JSON: duplicate key 'name'" in stderr) == (2, True)


def test_text_that_is_not_utf8_is_rejected(tmp_path):
    status, stderr = advise(tmp_path, "name: 项目\n".encode("gbk"))
    assert status == 2
    assert "not UTF-8 text" in stderr


def test_missing_file_is_reported_without_a_traceback(tmp_path):
    result = CliRunner().invoke(main, ["advise", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read the file: No such file or directory" in result.stderr


def test_deeply_nested_yaml_is_rejected(tmp_path):
    status, stderr = advise(tmp_path, GOOD + "notes: " + "[" * 200 + "]" * 200 + "\n")
    assert status == 2
    assert "nesting is deeper than 64 levels" in stderr


def test_alias_bomb_is_rejected_quickly(tmp_path):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    status, stderr = advise(tmp_path, GOOD + "extra:\n" + "\n".join("  " + line for line in lines) + "\n")
    assert status == 2
    assert "expands to more than" in stderr


def test_a_valid_file_is_still_advised_when_another_is_invalid(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text("name: x\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["advise", str(good), str(bad), "--format", "json", "--lang", "en"])
    assert result.exit_code == 2
    assert '"deal": "测试项目"' in result.stdout
    assert "required key 'account' is missing" in result.stderr


def test_a_misspelt_value_gets_the_closest_one_suggested(tmp_path):
    path = tmp_path / "deal.yaml"
    path.write_text("name: x\naccount: {name: a}\nstage: evaluaton\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["deal", "check", str(path)])
    assert result.exit_code == 2
    assert "stage: 'evaluaton' is not allowed; did you mean 'evaluation'? use one of:" in result.stderr


def test_a_value_far_from_every_spelling_gets_no_guess(tmp_path):
    path = tmp_path / "deal.yaml"
    path.write_text("name: x\naccount: {name: a}\nstage: banana\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["deal", "check", str(path)])
    assert "did you mean" not in result.stderr
