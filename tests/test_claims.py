"""Claims: a template may state only what its rule's conditions test (kb/claims.yaml)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner

from dealcoach.cli import main

PRAISE = """\
rules:
  - id: coverage.thank-the-user
    category: coverage
    priority: low
    concepts: [R5]
    when:
      - stakeholder: {as: p, roles: user, contacted: true}
    advice: {zh: "{{ p.name }}认可我们的方案，请对方在内部讲一讲。", en: "Ask {{ p.name }} to speak up inside."}
    examples:
      fires: [{stakeholders: [{name: 甲, roles: [user], contacted: true}]}]
      silent: [{stakeholders: [{name: 甲, roles: [user]}]}]
"""


def company(tmp_path: Path, rules: str, claims: str | None = None) -> Path:
    folder = tmp_path / "company"
    (folder / "rules").mkdir(parents=True)
    (folder / "rules" / "extra.yaml").write_text(textwrap.dedent(rules), encoding="utf-8")
    if claims is not None:
        (folder / "claims.yaml").write_text(textwrap.dedent(claims), encoding="utf-8")
    return folder


def lint(folder: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["kb", "lint", "--kb", str(folder)])
    assert "Traceback" not in result.output
    return result.exit_code, [line.replace(str(folder), "LAYER") for line in result.stdout.splitlines()]


def test_a_template_that_says_an_attitude_its_rule_does_not_test_fails_lint(tmp_path):
    status, lines = lint(company(tmp_path, PRAISE))
    assert status == 1
    assert lines[0].startswith("LAYER/rules/extra.yaml:8:14: rules[0].advice.zh: rule coverage.thank-the-user: ")
    assert "says '认可我们' but the conditions do not test stakeholder.attitude" in lines[0]


def test_testing_the_attitude_lets_the_template_say_it(tmp_path):
    tested = PRAISE.replace("contacted: true}\n    advice", "contacted: true, attitude: accept}\n    advice")
    tested = tested.replace("contacted: true}]}]\n      silent", "contacted: true, attitude: accept}]}]\n      silent")
    status, lines = lint(company(tmp_path, tested))
    assert status == 0, lines


def test_a_test_inside_not_counts_as_testing_the_fact(tmp_path):
    rules = PRAISE.replace(
        "{{ p.name }}认可我们的方案，请对方在内部讲一讲。", "这个项目还没有教练，先从{{ p.name }}身上试试。"
    )
    rules = rules.replace(
        "      - stakeholder: {as: p,", "      - not: {stakeholder: {roles: coach}}\n      - stakeholder: {as: p,"
    )
    status, lines = lint(company(tmp_path, rules))
    assert status == 0, lines


def test_every_alternative_must_test_the_claimed_fact(tmp_path):
    rules = PRAISE.replace(
        "      - stakeholder: {as: p, roles: user, contacted: true}\n",
        "      - any:\n"
        "          - stakeholder: {as: p, roles: user, contacted: true, attitude: accept}\n"
        "          - stakeholder: {as: p, roles: user, contacted: true, influence: 5}\n",
    )
    status, lines = lint(company(tmp_path, rules))
    assert status == 1
    assert "the conditions (alternative 2) do not test stakeholder.attitude" in lines[0]


def test_english_phrases_match_whole_words_only(tmp_path):
    rules = PRAISE.replace("{{ p.name }}认可我们的方案，请对方在内部讲一讲。", "请{{ p.name }}在内部讲一讲。").replace(
        "Ask {{ p.name }} to speak up inside.", "Ask {{ p.name }} for some coaching tips."
    )
    status, lines = lint(company(tmp_path, rules))
    assert status == 0, lines


def test_a_company_layer_adds_its_own_claim(tmp_path):
    rules = PRAISE.replace("{{ p.name }}认可我们的方案，请对方在内部讲一讲。", "{{ p.name }}已经点头了。")
    claims = """\
    claims:
      nodded:
        phrases: {zh: [点头了], en: [has nodded]}
        requires: [stakeholder.attitude]
    """
    status, lines = lint(company(tmp_path, rules, claims))
    assert status == 1
    assert "says '点头了' but the conditions do not test stakeholder.attitude" in lines[0]
    assert lines[0].endswith("(claim 'nodded' in claims.yaml)")


def test_a_claim_naming_an_unknown_field_is_reported_where_it_stands(tmp_path):
    claims = """\
    claims:
      nodded:
        phrases: {zh: [点头了]}
        requires: [stakeholder.mood]
    """
    status, lines = lint(company(tmp_path, PRAISE.replace("认可我们的方案", "在用"), claims))
    assert status == 1
    assert lines[0].startswith("LAYER/claims.yaml:4:16: claims.nodded.requires[0]: stakeholder has no field 'mood'")


def test_a_company_layer_may_replace_a_built_in_claim(tmp_path):
    claims = """\
    claims:
      attitude:
        phrases: {zh: [对我们死心塌地]}
        requires: [stakeholder.attitude]
    """
    status, lines = lint(company(tmp_path, PRAISE, claims))
    assert status == 0, lines


def test_a_phrase_can_stand_for_any_rendered_name(tmp_path):
    rules = PRAISE.replace("{{ p.name }}认可我们的方案，请对方在内部讲一讲。", "{{ p.name }}说的话要记下来。").replace(
        "{as: p, roles: user, contacted: true}", "{as: p, roles: user}"
    )
    status, lines = lint(company(tmp_path, rules))
    assert status == 1
    assert "says '{{}}说的' but the conditions do not test stakeholder.contacted or role_of.contacted" in lines[0]


def test_sending_the_rep_to_the_coach_needs_a_coach_not_merely_a_test_for_one(tmp_path):
    rules = PRAISE.replace("{{ p.name }}认可我们的方案，请对方在内部讲一讲。", "和教练一起过一遍{{ p.name }}的意见。")
    rules = rules.replace(
        "      - stakeholder: {as: p,", "      - not: {stakeholder: {roles: coach}}\n      - stakeholder: {as: p,"
    )
    status, lines = lint(company(tmp_path, rules))
    assert status == 1
    assert "says '和教练' but the conditions do not require a fact with stakeholder.roles=coach" in lines[0]


def test_a_coach_on_the_map_lets_the_template_send_the_rep_to_them(tmp_path):
    rules = PRAISE.replace("{{ p.name }}认可我们的方案，请对方在内部讲一讲。", "和教练一起过一遍{{ p.name }}的意见。")
    rules = rules.replace("{as: p, roles: user, contacted: true}", "{as: p, roles: coach, contacted: true}")
    status, lines = lint(company(tmp_path, rules))
    assert status == 0, lines
