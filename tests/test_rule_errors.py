"""A broken rule never loads: each problem is reported with its file, line and column."""

from __future__ import annotations

import pytest

from dealcoach.engine.playbook import kb
from dealcoach.engine.problems import InputError

HEAD = """rules:
  - id: t.rule
    category: coverage
    priority: high
    concepts: [R7]
"""
TAIL = """    advice: {zh: "建议", en: "advice"}
    examples: {fires: [{}], silent: [{}]}
"""


RELATIONSHIP = """relationship:
  label: {zh: 关系类型, en: relationship class}
  fields:
    stakeholder: {type: stakeholder, zh: 干系人, en: stakeholder}
    class: {type: relationship_class, zh: 类型, en: class}
"""


def problems(write_rules, text: str, derived: str | None = None) -> list[str]:
    with pytest.raises(InputError) as caught:
        kb.load([write_rules(text, derived=derived)])
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("when", "line", "column", "message"),
    [
        ("      - stakehold: {roles: coach}\n", 7, 9, "unknown fact type 'stakehold'"),
        ("      - stakeholder: {rolez: coach}\n", 7, 23, "stakeholder has no field 'rolez'"),
        ("      - stakeholder: {attitude: angry}\n", 7, 23, "'angry' is not a value of attitude"),
        ("      - stakeholder: {attitude: {gt: 2}}\n", 7, 34, "gt compares numbers, but attitude is attitude"),
        ("      - stakeholder: {influence: {about: 2}}\n", 7, 35, "unknown operator 'about'"),
        ("      - stakeholder: {reports_to: $boss.name}\n", 7, 23, "refers to 'boss', which no pattern binds"),
        ("      - not: {stakeholder: {as: x, roles: coach}}\n", 7, 29, "a name bound inside not/exists/count"),
        ("      - count: {stakeholder: {contacted: true}}\n", 7, 9, "'count' needs exactly one comparison"),
    ],
)
def test_condition_problems_are_located(write_rules, when, line, column, message):
    [problem] = problems(write_rules, HEAD + "    when:\n" + when + TAIL)
    assert problem.startswith(f"{write_rules('')}/rules/test.yaml:{line}:{column}: ")
    assert message in problem


def test_template_using_an_unbound_name_is_rejected(write_rules):
    text = (
        HEAD
        + """    when:
      - stakeholder: {as: eb, roles: economic_buyer}
    advice: {zh: "见{{ boss.name }}", en: "meet {{ eb.nam }}"}
    examples: {fires: [{}], silent: [{}]}
"""
    )
    found = problems(write_rules, text)
    assert any("advice.zh: rule t.rule: template uses 'boss'" in p for p in found)
    assert any("advice.en: rule t.rule: template uses eb.nam, but eb has no field 'nam'" in p for p in found)


def test_template_reaching_for_python_internals_is_rejected(write_rules):
    text = (
        HEAD
        + """    when:
      - deal: {stage: research}
    advice: {zh: "{{ ''.__class__ }}", en: "x"}
    examples: {fires: [{}], silent: [{}]}
"""
    )
    [problem] = problems(write_rules, text)
    assert "names starting with _ are not allowed" in problem


def test_unknown_concept_category_and_missing_examples_are_reported_together(write_rules):
    text = """rules:
  - id: t.rule
    category: sales
    priority: high
    concepts: [Z9]
    when:
      - deal: {stage: research}
    advice: {zh: "建议", en: "advice"}
    examples: {fires: [{}], silent: [{}]}
  - id: t.other
    category: coverage
    priority: high
    concepts: [R7]
    when:
      - deal: {stage: research}
    advice: {zh: "建议", en: "advice"}
"""
    found = problems(write_rules, text)
    assert any(":3:5: rules[0].category: rule t.rule: unknown category 'sales'" in p for p in found)
    assert any(":5:16: rules[0].concepts[0]: rule t.rule: unknown concept id 'Z9'" in p for p in found)
    assert any(":10:5: rules[1].examples: rule t.other: required key 'examples' is missing" in p for p in found)


def test_duplicate_rule_ids_are_rejected(write_rules):
    body = HEAD + "    when:\n      - deal: {stage: research}\n" + TAIL
    text = body + body.removeprefix("rules:\n")
    [problem] = problems(write_rules, text)
    assert "rule t.rule: duplicate rule id" in problem


def test_advice_and_derive_together_are_rejected(write_rules):
    text = (
        HEAD
        + """    when:
      - stakeholder: {as: p}
    derive:
      relationship: {stakeholder: $p.name, class: partner}
"""
        + TAIL
    )
    assert any("give either 'advice'" in p for p in problems(write_rules, text, derived=RELATIONSHIP))


def test_rule_file_with_yaml_syntax_error_reports_line_and_column(write_rules):
    [problem] = problems(write_rules, "rules:\n  - id: [unclosed\n")
    assert ":3:1: invalid YAML" in problem


def test_not_over_several_patterns_is_refused_with_the_alternative(write_rules):
    text = HEAD + "    when:\n      - not: [{stakeholder: {roles: coach}}, {competitor: {incumbent: true}}]\n" + TAIL
    [problem] = problems(write_rules, text)
    assert "'not' takes one pattern; to negate a combination, derive a fact for the combination" in problem


def _rule_citing(concepts: str, source: str) -> str:
    return (
        HEAD.replace("concepts: [R7]", f"concepts: [{concepts}]")
        + f"    source: {source}\n"
        + ("    when:\n      - deal: {stage: evaluation}\n" + TAIL)
    )


def test_a_concept_beyond_the_material_must_cite_its_method_not_a_seed(write_rules):
    [message] = problems(write_rules, _rule_citing("X1", '{seed: "001", section: 二.1}'))
    assert "X1 is not in the material: cite its method" in message and "Miller Heiman" in message


def test_a_method_is_cited_only_for_a_concept_beyond_the_material(write_rules):
    [message] = problems(write_rules, _rule_citing("R7", "{method: MEDDPICC}"))
    assert "source.method" in message and "only a rule applying a concept beyond the material" in message


def test_a_source_gives_a_seed_or_a_method_never_both(write_rules):
    [message] = problems(write_rules, _rule_citing("X3", '{seed: "001", method: MEDDPICC}'))
    assert "either seed" in message


def test_a_rule_citing_its_method_loads(write_rules):
    knowledge = kb.load([write_rules(_rule_citing("X3, R13", "{method: MEDDPICC champion test}"))])
    assert knowledge.rule_by_id["t.rule"].model.source.method == "MEDDPICC champion test"
