"""Every cost a file can cause is bounded: past a documented limit (README, "Limits and exit
codes") dealcoach refuses with exit 2 and a message, instead of running for minutes."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.deals import deal
from dealcoach.engine.playbook import kb, rulelang
from dealcoach.engine.problems import InputError
from dealcoach.engine.render import templating

RULE = """  - id: t.rule{n}
    category: coverage
    priority: high
    concepts: [R7]
    when:
{when}
    advice: {{zh: '{advice}', en: '{advice}'}}
    examples: {{fires: [{{}}], silent: [{{}}]}}
"""


def rules(count: int = 1, when: str = "      - stakeholder: {roles: coach}", advice: str = "x") -> str:
    return "rules:\n" + "".join(RULE.format(n=n, when=when, advice=advice) for n in range(count))


def test_a_deal_with_more_stakeholders_than_the_limit_is_refused(tmp_path):
    people = [{"name": f"p{i}"} for i in range(deal.MAX_STAKEHOLDERS + 1)]
    path = tmp_path / "deal.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "account": {"name": "a"}, "stakeholders": people}), encoding="utf-8")
    result = CliRunner().invoke(main, ["advise", str(path)])
    assert result.exit_code == 2
    assert f"stakeholders: list should have at most {deal.MAX_STAKEHOLDERS} items" in result.stderr


def test_alternatives_that_expand_past_the_limit_are_refused(write_rules):
    pair = "[{stakeholder: {roles: coach}}, {stakeholder: {roles: user}}]"
    when = "\n".join(f"      - any: {pair}" for _ in range(6))  # 2**6 = 64 combinations
    with pytest.raises(InputError, match=f"expand to 64 combinations; at most {rulelang.MAX_BRANCHES}"):
        kb.load([write_rules(rules(when=when))])


def test_a_layer_with_more_rules_than_the_limit_is_refused(write_rules, monkeypatch):
    monkeypatch.setattr(kb, "MAX_RULES_PER_LAYER", 2)
    with pytest.raises(InputError, match="3 rules in one layer; at most 2"):
        kb.load([write_rules(rules(3))])


def test_a_layer_with_more_rule_files_than_the_limit_is_refused(write_rules, monkeypatch):
    monkeypatch.setattr(kb, "MAX_RULE_FILES", 1)
    write_rules(rules(), name="a.yaml")
    with pytest.raises(InputError, match="more than 1 rule files in one layer"):
        kb.load([write_rules(rules(), name="b.yaml")])


def test_a_rule_file_larger_than_the_limit_is_refused(write_rules):
    text = rules() + "# " + "x" * kb.MAX_RULE_FILE_BYTES + "\n"
    with pytest.raises(InputError, match="the file is larger than 1 MB"):
        kb.load([write_rules(text)])


def test_a_template_that_writes_more_than_the_limit_is_refused(playbook):
    advise = playbook(rules(when="      - stakeholder: {roles: coach}", advice='{{ "x" * 9999 }}' * 3))
    with pytest.raises(InputError, match=f"it wrote more than {templating.MAX_ADVICE_CHARS} characters"):
        advise({"stakeholders": [{"name": "a", "roles": ["coach"]}]})
