"""The trainer toolkit: kb lint / test / new / list / show / coverage, --why-not, layers, safety."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from jinja2.sandbox import SecurityError

from dealcoach.cli import main

RULE = """\
rules:
  - id: coverage.meet-the-user
    category: coverage
    priority: low
    concepts: [R5]
    when:
      - stakeholder: {as: p, roles: user, contacted: false}
    advice: {zh: "拜访{{ p.name }}", en: "visit {{ p.name }}"}
    examples:
      fires: [{stakeholders: [{name: 甲, roles: [user]}]}]
      silent: [{stakeholders: [{name: 甲, roles: [user], contacted: true}]}]
"""


def run(*args: str, env: dict | None = None):
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output
    return result


def layer(tmp_path: Path, text: str = RULE, name: str = "company", derived: str | None = None) -> Path:
    folder = tmp_path / name
    (folder / "rules").mkdir(parents=True)
    (folder / "rules" / "extra.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    if derived is not None:
        (folder / "derived.yaml").write_text(textwrap.dedent(derived), encoding="utf-8")
    return folder


def lint(tmp_path: Path, text: str, derived: str | None = None) -> tuple[int, list[str]]:
    folder = layer(tmp_path, text, derived=derived)
    result = run("kb", "lint", "--kb", str(folder))
    lines = [line.replace(str(folder), "LAYER") for line in result.stdout.splitlines()]
    return result.exit_code, lines


def test_lint_passes_the_built_in_playbook():
    result = run("kb", "lint")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1].endswith("rules, no problems")


def test_lint_reports_which_layer_each_rule_comes_from(tmp_path):
    override = RULE.replace("coverage.meet-the-user", "coverage.find-a-coach")
    text = override + "disable: [coverage.single-thread]\n"
    status, lines = lint(tmp_path, text)
    assert status == 0
    assert lines[-2] == "LAYER: 0 rule(s) added; overrides coverage.find-a-coach; disables coverage.single-thread"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("roles: user", "roles: boss"),
            "LAYER/rules/extra.yaml:7:30: rules[0].when[0].stakeholder.roles: "
            "rule coverage.meet-the-user: 'boss' is not a value of roles",
        ),
        (
            ("category: coverage", "category: sales"),
            "LAYER/rules/extra.yaml:3:5: rules[0].category: rule coverage.meet-the-user: unknown category 'sales'",
        ),
        (
            ("concepts: [R5]", "concepts: [R99]"),
            "LAYER/rules/extra.yaml:5:16: rules[0].concepts[0]: rule coverage.meet-the-user: unknown concept id 'R99'",
        ),
        (
            ("      - stakeholder", "      - signal: rumour\n      - stakeholder"),
            "LAYER/rules/extra.yaml:7:9: rules[0].when[0].signal.id: rule coverage.meet-the-user: "
            "'rumour' is not a value",
        ),
        (
            ("priority: low", "priority: urgent"),
            "LAYER/rules/extra.yaml:4:5: rules[0].priority: "
            "rule coverage.meet-the-user: Input should be 'high', 'medium' or 'low'",
        ),
        (
            ('    advice: {zh: "拜访{{ p.name }}", en: "visit {{ p.name }}"}', '    advice: {zh: "拜访{{ p.name }}"}'),
            "LAYER/rules/extra.yaml:8:5: rules[0].advice.en: rule coverage.meet-the-user: required key 'en' is missing",
        ),
        (
            ("visit {{ p.name }}", "visit {{ q.name }}"),
            "LAYER/rules/extra.yaml:8:36: rules[0].advice.en: rule coverage.meet-the-user: template uses 'q'",
        ),
        (
            ("visit {{ p.name }}", "visit {{ p.name }"),
            "LAYER/rules/extra.yaml:8:36: rules[0].advice.en: "
            "rule coverage.meet-the-user: template syntax error on line 1",
        ),
        (
            ("visit {{ p.name }}", "{{ p.__class__ }}"),
            "LAYER/rules/extra.yaml:8:36: rules[0].advice.en: "
            "rule coverage.meet-the-user: template reaches for '__class__'",
        ),
        (
            ("contacted: false}", "contacted: false, extra: 1}"),
            "LAYER/rules/extra.yaml:7:61: rules[0].when[0].stakeholder.extra: rule coverage.meet-the-user: "
            "stakeholder has no field 'extra'",
        ),
        (
            ("    priority: low\n", "    priority: low\n    colour: red\n"),
            "LAYER/rules/extra.yaml:5:5: rules[0].colour: rule coverage.meet-the-user: unknown key 'colour'",
        ),
    ],
)
def test_lint_reports_each_problem_at_its_location(tmp_path, change, expected):
    status, lines = lint(tmp_path, RULE.replace(*change))
    assert status == 1
    assert any(line.startswith(expected) for line in lines), lines
    assert lines[-1].endswith("problem(s)")


def test_lint_reports_a_rule_without_examples(tmp_path):
    text = RULE.split("    examples:")[0]
    status, lines = lint(tmp_path, text)
    assert status == 1
    assert (
        "LAYER/rules/extra.yaml:2:5: rules[0].examples: rule coverage.meet-the-user: required key 'examples'"
        in lines[0]
    )


def test_lint_reports_duplicate_rule_ids(tmp_path):
    text = RULE + RULE.removeprefix("rules:\n")
    status, lines = lint(tmp_path, text)
    assert status == 1
    assert lines[0].startswith(
        "LAYER/rules/extra.yaml:12:5: rules[1].id: rule coverage.meet-the-user: duplicate rule id"
    )


def test_lint_reports_yaml_syntax_errors_with_line_and_column(tmp_path):
    status, lines = lint(tmp_path, RULE.replace("priority: low", "priority: [low"))
    assert status == 1
    assert lines[0].startswith("LAYER/rules/extra.yaml:5:")
    assert "invalid YAML" in lines[0]


def test_lint_finds_conditions_that_can_never_hold_together(tmp_path):
    text = RULE.replace(
        "      - stakeholder:", "      - deal: {stage: intent}\n      - deal: {stage: decision}\n      - stakeholder:"
    )
    status, lines = lint(tmp_path, text)
    assert status == 1
    assert lines[0] == (
        "LAYER/rules/extra.yaml:8:16: rules[0].when[1].deal.stage: rule coverage.meet-the-user: "
        "this test on deal.stage can never hold together with the one at line 7, column 16"
    )


def test_lint_finds_an_empty_numeric_range(tmp_path):
    status, lines = lint(tmp_path, RULE.replace("contacted: false}", "influence: {gte: 5, lt: 5}}"))
    assert status == 1
    assert "can never hold together" in lines[0]


DERIVED = """\
warm_lead:
  label: {zh: 热线索, en: warm lead}
  fields:
    stakeholder: {type: stakeholder, zh: 干系人, en: stakeholder}
"""


def test_lint_finds_a_derived_fact_no_rule_produces(tmp_path):
    status, lines = lint(tmp_path, RULE, derived=DERIVED)
    assert status == 1
    assert (
        lines[0] == "LAYER/derived.yaml:1:1: warm_lead: no rule derives 'warm_lead'; rules that match it can never fire"
    )


def test_lint_finds_a_derived_fact_no_rule_uses(tmp_path):
    producer = RULE.replace(
        '    advice: {zh: "拜访{{ p.name }}", en: "visit {{ p.name }}"}',
        "    derive:\n      warm_lead: {stakeholder: $p.name}",
    ).replace("    priority: low\n", "")
    status, lines = lint(tmp_path, producer, derived=DERIVED)
    assert status == 1
    assert lines[0] == (
        "LAYER/derived.yaml:1:1: warm_lead: no rule uses 'warm_lead', so deriving it "
        "(coverage.meet-the-user) has no effect"
    )


def test_lint_reports_disabling_an_unknown_rule(tmp_path):
    status, lines = lint(tmp_path, RULE + "disable: [coverage.no-such-rule]\n")
    assert status == 1
    assert lines[0].startswith("LAYER/rules/extra.yaml:12:11: disable[0]: cannot disable 'coverage.no-such-rule'")


def test_kb_test_passes_and_fails_with_the_reason(tmp_path):
    passing = run("kb", "test", "--kb", str(layer(tmp_path)), "coverage.meet-the-user")
    assert (passing.exit_code, passing.stdout.splitlines()[-1]) == (0, "2 passed, 0 failed")
    broken = layer(
        tmp_path,
        RULE.replace(
            "fires: [{stakeholders: [{name: 甲, roles: [user]}]}]",
            "fires: [{stakeholders: [{name: 甲, roles: [coach]}]}]",
        ),
        name="broken",
    )
    failing = run("kb", "test", "--kb", str(broken), "coverage.meet-the-user")
    assert failing.exit_code == 1
    assert "FAILED coverage.meet-the-user::fires[0]" in failing.stdout
    assert (
        "condition 1 fails: stakeholder where roles includes user and contacted is no; looked at: 甲 (roles = coach)"
    ) in failing.stdout
    assert failing.stdout.splitlines()[-1] == "1 passed, 1 failed"


def test_kb_new_writes_a_working_skeleton(tmp_path):
    folder = tmp_path / "ours"
    folder.mkdir()
    created = run("kb", "new", "coverage.ask-the-coach", "--category", "coverage", "--kb", str(folder))
    assert created.exit_code == 0
    written = (folder / "rules" / "coverage.yaml").read_text(encoding="utf-8")
    assert "- id: coverage.ask-the-coach" in written
    assert "# deals on which the rule must fire" in written
    tested = run("kb", "test", "--kb", str(folder), "coverage.ask-the-coach")
    assert tested.stdout.splitlines()[-1] == "2 passed, 0 failed"


def test_kb_new_refuses_an_existing_id():
    result = run("kb", "new", "coverage.find-a-coach", "--category", "coverage")
    assert result.exit_code == 2
    assert "already exists" in result.stderr


def test_kb_list_filters_by_category_and_concept():
    by_category = run("kb", "list", "--category", "style").stdout.splitlines()
    assert by_category and all("  style  " in line for line in by_category)
    by_concept = run("kb", "list", "--concept", "R13").stdout.splitlines()
    assert any(line.startswith("coverage.coach-arranges-economic-buyer ") for line in by_concept)


def test_kb_show_describes_a_rule_and_who_uses_what_it_derives():
    shown = run("kb", "show", "style.faster-than-rep", "--lang", "en").stdout
    assert "style.faster-than-rep  (style, derives facts)" in shown
    assert "1. style profile where pace is fast-paced  (as sp)" in shown
    [used_by] = [line for line in shown.splitlines() if line.strip().startswith("used by:")]
    assert {"style.slow-down-for-slower-stakeholder", "style.speed-up-for-faster-stakeholder"} <= set(
        used_by.split(":", 1)[1].replace(",", " ").split()
    )


def test_kb_coverage_lists_concepts_rules_and_categories():
    lines = run("kb", "coverage", "--lang", "en").stdout.splitlines()
    assert lines[0].startswith("concepts: ")
    assert any(line.startswith("rules: ") and "exercised by the" in line for line in lines)
    assert "rules by category:" in lines
    assert any(line.startswith("rules given together most often, over ") for line in lines)


def test_why_not_names_the_failing_condition_and_the_facts_it_looked_at(tmp_path):
    deal = tmp_path / "deal.yaml"
    deal.write_text(
        "name: d\naccount: {name: a}\nstakeholders:\n  - {name: 王总, roles: [economic_buyer], "
        "contacted: true}\n  - {name: 小李, roles: [coach], contacted: true}\n",
        encoding="utf-8",
    )
    result = run("advise", str(deal), "--why-not", "coverage.coach-arranges-economic-buyer", "--lang", "en")
    assert result.stdout.splitlines()[1:] == [
        "Rule coverage.coach-arranges-economic-buyer did not fire:",
        "condition 2 fails: stakeholder where roles includes economic buyer and contacted is no",
        "    looked at: 王总 (contacted = yes); 小李 (roles = coach)",
    ]


def test_why_not_rejects_an_unknown_rule(tmp_path):
    deal = tmp_path / "deal.yaml"
    deal.write_text("name: d\naccount: {name: a}\n", encoding="utf-8")
    result = run("advise", str(deal), "--why-not", "no.such-rule")
    assert result.exit_code == 2
    assert "no rule with id 'no.such-rule'" in result.stderr


COMPANY_DEAL = """name: 某项目
account: {name: 某客户}
stage: evaluation
stakeholders:
  - {name: 王总, roles: [economic_buyer], influence: 5}
  - {name: 小赵, roles: [user]}
  - {name: 老钱, roles: [coach], contacted: true}
"""


def advised_rules(deal: Path, *extra: str) -> dict[str, dict]:
    result = run("advise", str(deal), "--format", "json", "--lang", "en", *extra)
    assert result.exit_code == 0, result.output
    return {a["rule"]: a for a in json.loads(result.stdout)["advice"]}


def test_company_layer_overrides_disables_and_adds_exactly(tmp_path):
    deal = tmp_path / "deal.yaml"
    deal.write_text(COMPANY_DEAL, encoding="utf-8")
    before = advised_rules(deal)
    assert {"coverage.coach-arranges-economic-buyer", "coverage.single-thread"} <= set(before)
    override = """\
  - id: coverage.coach-arranges-economic-buyer
    category: coverage
    priority: high
    concepts: [R7]
    supersedes: [coverage.meet-economic-buyer]
    when:
      - stakeholder: {as: coach, roles: coach, contacted: true}
      - stakeholder: {as: eb, roles: economic_buyer, contacted: false}
    advice: {zh: "请{{ coach.name }}引荐{{ eb.name }}", en: "Company way: {{ coach.name }} introduces {{ eb.name }}"}
    examples:
      fires: [{stakeholders: [{name: 甲, roles: [coach], contacted: true}, {name: 乙, roles: [economic_buyer]}]}]
      silent: [{stakeholders: [{name: 甲, roles: [coach], contacted: true}]}]
"""
    company = layer(tmp_path, RULE + override + "disable: [coverage.single-thread]\n")
    after = advised_rules(deal, "--kb", str(company))
    assert set(after) == set(before) - {"coverage.single-thread"} | {"coverage.meet-the-user"}
    assert after["coverage.coach-arranges-economic-buyer"]["text"] == "Company way: 老钱 introduces 王总"
    assert after["coverage.meet-the-user"]["stakeholders"] == ["小赵"]
    unchanged = set(before) - {"coverage.single-thread", "coverage.coach-arranges-economic-buyer"}
    assert all(after[r] == before[r] for r in unchanged)


def test_dealcoach_kb_environment_variable_adds_layers(tmp_path):
    deal = tmp_path / "deal.yaml"
    deal.write_text(COMPANY_DEAL, encoding="utf-8")
    result = run("advise", str(deal), "--format", "json", env={"DEALCOACH_KB": str(layer(tmp_path))})
    assert "coverage.meet-the-user" in result.stdout


def test_a_broken_layer_stops_advice_unless_skip_invalid(tmp_path):
    deal = tmp_path / "deal.yaml"
    deal.write_text(COMPANY_DEAL, encoding="utf-8")
    broken = layer(
        tmp_path,
        RULE
        + RULE.removeprefix("rules:\n")
        .replace("meet-the-user", "bad-one")
        .replace("roles: user, contacted", "roles: boss, contacted"),
    )
    refused = run("advise", str(deal), "--kb", str(broken))
    assert refused.exit_code == 2
    assert "'boss' is not a value of roles" in refused.stderr
    assert "pass --skip-invalid to leave the broken rules out" in refused.stderr
    skipped = run("advise", str(deal), "--kb", str(broken), "--skip-invalid", "--format", "json")
    assert skipped.exit_code == 0
    assert "skipped 1 invalid rule(s): coverage.bad-one" in skipped.stderr
    assert "coverage.meet-the-user" in skipped.stdout


def test_a_large_rule_file_fails_quickly_with_a_message(tmp_path):
    folder = layer(tmp_path)
    (folder / "rules" / "huge.yaml").write_text("rules:\n" + "# padding\n" * 1_100_000, encoding="utf-8")
    started = time.perf_counter()
    result = run("kb", "lint", "--kb", str(folder))
    assert time.perf_counter() - started < 10
    assert "huge.yaml: the file is larger than 1 MB" in result.stdout


def test_deeply_nested_rule_yaml_fails_with_a_message(tmp_path):
    status, lines = lint(tmp_path, RULE + "extra: " + "[" * 500 + "]" * 500 + "\n")
    assert status == 1
    assert "nesting is deeper than 64 levels" in lines[0]


def test_nested_template_loops_are_rejected(tmp_path):
    looping = "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}"
    status, lines = lint(tmp_path, RULE.replace("visit {{ p.name }}", looping))
    assert status == 1
    assert "a template may not nest one loop inside another" in lines[0]


def test_templates_cannot_build_huge_strings(builtin):
    with pytest.raises(SecurityError, match="may not build a string or list longer than"):
        builtin.env.from_string("{{ 'x' * 1000000000 }}").render(lang="en")
