"""Company layers are untrusted: a template or rule that fails, or tries to use up the machine,
becomes a located problem naming the rule; it never crashes dealcoach or changes other advice."""

from __future__ import annotations

import os
import textwrap

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.playbook import kb
from dealcoach.engine.problems import InputError

HEAD = """rules:
  - id: t.rule
    category: coverage
    priority: high
    concepts: [R7]
"""
EB = "      - stakeholder: {as: eb, roles: economic_buyer}\n"
DEAL = {"stakeholders": [{"name": "张伟", "roles": ["economic_buyer"]}]}


def rule(template: str, when: str = EB, rule_id: str = "t.rule") -> str:
    quoted = template.replace("'", "''")
    return (
        HEAD.replace("t.rule", rule_id)
        + "    when:\n"
        + when
        + f"    advice: {{zh: '{quoted}', en: '{quoted}'}}\n"
        + "    examples: {fires: [{}], silent: [{}]}\n"
    )


def failure(playbook, template: str) -> str:
    advise = playbook(rule(template))
    with pytest.raises(InputError) as caught:
        advise(DEAL)
    [problem] = caught.value.problems
    return str(problem)


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ deal.budget.amount + 1 }}", "TypeError: unsupported operand"),
        ("{{ 1 / 0 }}", "ZeroDivisionError: division by zero"),
        ("{{ eb.name[999] }}", "UndefinedError: str object has no element 999"),
        ("{{ '%d' % eb.name }}", "TypeError: %d format"),
        ("{{ '{0}'.format() }}", "IndexError"),
        ("{{ '{:d}'.format('x') }}", "ValueError: Unknown format code"),
        ("{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}", "it recursed too deeply"),
    ],
)
def test_a_template_that_fails_on_a_deal_is_a_problem_naming_rule_file_and_line(playbook, template, reason):
    problem = failure(playbook, template)
    assert "/rules/test.yaml:8:" in problem
    assert "rule t.rule: the advice template failed on the deal 't'" in problem
    assert reason in problem


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x' | center(1500000000) }}",
        "{{ '%1000000000s' % 'x' }}",
        "{{ '%*s' % (1000000000, 'x') }}",
        "{{ '{:>1000000000}'.format('x') }}",
        "{{ 'x' | indent(1000000000) }}",
        "{{ 'x'.ljust(100000000) }}",
        "{% set ns = namespace(s='xx') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "{% macro d(n) %}{% if n %}{{ d(n - 1) ~ d(n - 1) }}{% else %}xxxxxxxx{% endif %}{% endmacro %}{{ d(40) }}",
        "{% for i in range(100000) %}{{ 'x' * 9999 }}{% endfor %}",
    ],
)
def test_a_template_cannot_exhaust_memory_or_time(playbook, template):
    problem = failure(playbook, template)
    assert "rule t.rule: the advice template failed" in problem
    assert any(
        reason in problem
        for reason in ("a template may not", "it needed more than", "it ran longer than", "it wrote more than")
    )


def test_a_loop_in_a_macro_called_from_a_loop_is_refused_at_load(write_rules):
    loops = (
        "{% macro m() %}{% for i in range(9) %}.{% endfor %}{% endmacro %}{% for j in range(9) %}{{ m() }}{% endfor %}"
    )
    with pytest.raises(InputError, match="may not nest one loop inside another"):
        kb.load([write_rules(rule(loops))])


def test_a_template_cannot_change_the_deal_other_rules_see(playbook):
    text = rule("{{ deal.account.update({'name': 'EVIL'}) }}")
    text += rule("{{ deal.account.name }}", rule_id="t.other").replace("rules:\n", "")
    with pytest.raises(InputError, match="access to attribute 'update' of 'dict' object is unsafe"):
        playbook(text)(DEAL)


def test_a_constant_the_compiler_would_fold_is_not_built_at_load(write_rules):
    knowledge = kb.load([write_rules(rule("{{ 'x' | center(1500000000) }}"))])
    assert [r.id for r in knowledge.rules] == ["t.rule"]  # loaded at once; the render is refused later


def cli(tmp_path, layer, *args: str) -> tuple[int, str, str]:
    deal = tmp_path / "deal.yaml"
    deal.write_text(
        "name: 项目\naccount: {name: 某银行}\nstage: evaluation\n"
        "stakeholders:\n  - {name: 张伟, roles: [economic_buyer]}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["advise", str(deal), "--format", "json", "--kb", str(layer), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def failing_layer(tmp_path):
    layer = tmp_path / "layer"
    (layer / "rules").mkdir(parents=True)
    text = rule("{{ deal.budget.amount + 1 }}", rule_id="acme.budget-plus-one")
    text = text.replace(
        "examples: {fires: [{}], silent: [{}]}",
        "examples: {fires: [{stakeholders: [{name: a, roles: [economic_buyer]}]}], silent: [{}]}",
    )
    (layer / "rules" / "acme.yaml").write_text(text, encoding="utf-8")
    return layer


def test_advise_refuses_with_exit_2_when_a_layer_template_fails(tmp_path, failing_layer):
    status, stdout, stderr = cli(tmp_path, failing_layer)
    assert status == 2
    assert stdout == ""
    assert "acme.yaml:8:" in stderr and "rule acme.budget-plus-one: the advice template failed" in stderr
    assert "Traceback" not in stderr


def test_skip_invalid_leaves_out_only_the_rule_whose_template_failed(tmp_path, failing_layer):
    status, stdout, stderr = cli(tmp_path, failing_layer, "--skip-invalid")
    assert status == 0
    rules = [a["rule"] for a in __import__("json").loads(stdout)["advice"]]
    assert "acme.budget-plus-one" not in rules and "coverage.meet-economic-buyer" in rules
    assert "left out the advice of 1 rule(s) whose template failed" in stderr


def test_kb_test_reports_a_failing_template_as_a_failed_example(failing_layer):
    result = CliRunner().invoke(main, ["kb", "test", "acme.budget-plus-one", "--kb", str(failing_layer)])
    assert result.exit_code == 1
    assert "FAILED acme.budget-plus-one" in result.stdout and "TypeError" in result.stdout


def test_a_layout_with_a_syntax_error_is_a_located_lint_problem(tmp_path):
    layer = tmp_path / "layer"
    (layer / "templates").mkdir(parents=True)
    (layer / "templates" / "report.text.j2").write_text("{{ deal.name }}\n{% for a in top %}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["kb", "lint", "--kb", str(layer)])
    assert result.exit_code == 1
    assert f"{layer}/templates/report.text.j2:2:1: template syntax error" in result.stdout


def test_a_layout_that_runs_away_is_stopped_and_named(tmp_path):
    layer = tmp_path / "layer"
    (layer / "templates").mkdir(parents=True)
    layout = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    (layer / "templates" / "report.text.j2").write_text(layout, encoding="utf-8")
    status, _, stderr = cli(tmp_path, layer, "--format", "text")
    assert status == 2
    assert (
        f"{layer}/templates/report.text.j2:1:1: the report layout failed on the deal '项目': it ran longer than"
        in stderr
    )


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("      - stakeholder: {attitude: [[accept]]}\n", "['accept'] is not a value of attitude"),
        ("      - stakeholder: {attitude: {eq: {a: 1}}}\n", "{'a': 1} is not a value of attitude"),
        ("      - stakeholder: {roles: {has: [[x]]}}\n", "has takes one value, not a list"),
        ("      - stakeholder: {influence: {gte: [1, 2]}}\n", "gte takes one value, not a list"),
        ("      - stakeholder: {influence: {gte: " + "9" * 5000 + "}}\n", "more than 4300 digits"),
    ],
)
def test_malformed_rule_inputs_are_located_problems(write_rules, when, message):
    with pytest.raises(InputError) as caught:
        kb.load([write_rules(rule("x", when=when))])
    assert any(message in str(p) and "test.yaml:7:" in str(p) for p in caught.value.problems)


def test_derived_types_that_are_a_list_are_a_problem(write_rules):
    with pytest.raises(InputError, match=r"derived\.yaml is a mapping of fact type"):
        kb.load([write_rules(rule("x"), derived="- a\n- b\n")])


def test_a_fifo_among_rule_files_is_refused_not_waited_on(write_rules):
    layer = write_rules(rule("x"))
    os.mkfifo(layer / "rules" / "f.yaml")
    with pytest.raises(InputError, match=r"f\.yaml: not a regular file"):
        kb.load([layer])


def test_files_the_loader_does_not_use_are_never_read(write_rules, monkeypatch):
    layer = write_rules(rule("x"))
    os.mkfifo(layer / "dump.fifo")
    (layer / "rules" / "big.bin").write_bytes(b"\0" * 3_000_000)
    for cache in ("off", os.environ["DEALCOACH_CACHE"]):
        monkeypatch.setenv("DEALCOACH_CACHE", cache)
        assert [r.id for r in kb.load([layer]).rules] == ["t.rule"]


def test_a_merge_key_overridden_in_a_rule_is_not_a_duplicate(write_rules):
    text = textwrap.dedent(
        """\
        rules:
          - &base
            id: t.base
            category: coverage
            priority: high
            concepts: [R7]
            when: [{stakeholder: {roles: coach}}]
            advice: {zh: 教练, en: coach}
            examples: {fires: [{}], silent: [{}]}
          - <<: *base
            id: t.copy
        """
    )
    assert [r.id for r in kb.load([write_rules(text)]).rules] == ["t.base", "t.copy"]
