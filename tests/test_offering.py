"""What is sold (`offering`), and templates that render deal facts in words rather than hard-coding them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.deals import deal
from dealcoach.engine.playbook import kb
from dealcoach.engine.yamlsource import Document

VOCABULARY = kb.load([kb.builtin_dir()]).vocabulary


def parse(**fields) -> deal.Deal:
    return deal.validate(Document("t.yaml", {"name": "t", "account": {"name": "a"}, **fields}), VOCABULARY)


@pytest.mark.parametrize(
    ("written", "meant"),
    [("system", "system"), ("渠道供货", "supply"), ("分销", "supply"), ("专业服务", "service"), ("产品", "product")],
)
def test_offering_accepts_ids_chinese_labels_and_aliases(written, meant):
    assert parse(offering=written).offering == meant


def test_offering_defaults_to_unknown():
    assert parse().offering == "unknown"


def test_an_unknown_offering_names_the_allowed_values(tmp_path):
    path = tmp_path / "deal.yaml"
    path.write_text("name: t\naccount: {name: a}\noffering: software\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["advise", str(path)])
    assert result.exit_code == 2
    assert "deal.yaml:3:1: offering: 'software' is not allowed; use one of: system (系统或项目)" in result.stderr


RULE = """\
rules:
  - id: retention.channel-stock
    category: retention
    priority: medium
    concepts: [C4]
    when:
      - deal: {offering: supply}
      - stakeholder: {as: p, contacted: true}
    advice:
      zh: "{{ p.name }}（{{ p.contacted | label('contact') }}，态度{{ p.attitude | label('attitude') }}）"
      en: "{{ p.name }}: {{ p.contacted | label('contact') }}; satisfaction {{ deal.account.satisfaction | score }}"
    examples:
      fires: [{offering: supply, stakeholders: [{name: 甲, contacted: true}]}]
      silent: [{offering: system, stakeholders: [{name: 甲, contacted: true}]}]
"""


def test_a_rule_can_test_what_is_sold(playbook):
    advise = playbook(RULE)
    assert [a.rule for a in advise({"offering": "supply", "stakeholders": [{"name": "甲", "contacted": True}]})] == [
        "retention.channel-stock"
    ]
    assert advise({"offering": "service", "stakeholders": [{"name": "甲", "contacted": True}]}) == []


def test_templates_render_contact_and_satisfaction_in_words(playbook):
    advise = playbook(RULE)
    fragment = {"offering": "supply", "account": {"name": "a", "satisfaction": 2}}
    [item] = advise({**fragment, "stakeholders": [{"name": "甲", "contacted": True}]})
    assert item.text == "甲: we have met; satisfaction 2 out of 5"


def test_an_unrated_account_reads_as_not_rated(playbook):
    [item] = playbook(RULE)({"offering": "supply", "stakeholders": [{"name": "甲", "contacted": True}]})
    assert item.text.endswith("satisfaction not rated")
