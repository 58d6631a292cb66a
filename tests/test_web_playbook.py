"""The playbook browser: the loaded rules by category and concept, a rule in words with its
templates (escaped) and its examples' results, every example run (kb test), and kb lint."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from dealcoach.engine.playbook import kb as kb_mod
from dealcoach.engine.playbook import trainer
from dealcoach.engine.web.app import create_app

RULE = "coverage.find-a-coach"
HOSTILE_RULE = """rules:
  - id: layer.hostile
    category: coverage
    priority: high
    concepts: [R7]
    when:
      - stakeholder: {as: eb, roles: economic_buyer}
    advice:
      zh: "<script>alert(1)</script> 见 {{ eb.name }}"
      en: "<script>alert(1)</script> meet {{ eb.name }}"
    examples:
      fires: [{}]
      silent: [{}]
"""


@pytest.fixture(scope="module")
def client(builtin, tmp_path_factory):
    app = create_app(tmp_path_factory.mktemp("served"), knowledge=builtin)
    return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture
def layer_client(write_rules, tmp_path):
    layer = write_rules(HOSTILE_RULE)
    app = create_app(tmp_path / "kb", knowledge=kb_mod.load([layer]))
    return TestClient(app, base_url="http://127.0.0.1"), layer


def listed(page: str) -> list[str]:
    return re.findall(r'<tr data-rule="([^"]+)">', page)


def test_every_loaded_rule_is_listed(client, builtin):
    assert sorted(listed(client.get("/playbook").text)) == sorted(rule.id for rule in builtin.rules)


def test_a_category_shows_only_its_rules(client, builtin):
    expected = {rule.id for rule in builtin.rules if rule.model.category == "style"}
    assert set(listed(client.get("/playbook?category=style").text)) == expected and expected


def test_a_concept_shows_the_rules_that_cite_it(client, builtin):
    expected = {rule.id for rule in builtin.rules if "R7" in rule.model.concepts}
    assert set(listed(client.get("/playbook?concept=R7").text)) == expected and expected


def test_every_concept_is_listed_with_its_title(client, builtin):
    page = client.get("/playbook").text
    for concept_id, concept in builtin.concepts.items():
        assert str(escape(f"{concept_id} {concept.title('en')}")) in page


@pytest.mark.parametrize("query", ["category=<b>nope</b>", "concept=<b>nope</b>"])
def test_an_unknown_category_or_concept_is_a_404_escaped(client, query):
    response = client.get(f"/playbook?{query}")
    assert response.status_code == 404 and "&lt;b&gt;nope&lt;/b&gt;" in response.text and "<b>nope" not in response.text


def test_a_rule_shows_its_conditions_in_words(client, builtin):
    page = client.get(f"/playbook/rules/{RULE}").text
    for branch in trainer.conditions(builtin, builtin.rule_by_id[RULE], "en"):
        for text in branch:
            assert str(escape(text)) in page


def test_a_rule_shows_its_advice_templates_as_written_in_both_languages(client, builtin):
    page = client.get(f"/playbook/rules/{RULE}").text
    advice = builtin.rule_by_id[RULE].model.advice
    assert str(escape(advice.zh)) in page and str(escape(advice.en)) in page


def test_a_rules_examples_are_run_and_shown_passing(client, builtin):
    page = client.get(f"/playbook/rules/{RULE}").text
    examples = builtin.rule_by_id[RULE].model.examples
    assert page.count('<span class="status-met">passes</span>') == len(examples.fires) + len(examples.silent)


def test_the_listing_shows_the_result_of_examples_already_run(client):
    client.get(f"/playbook/rules/{RULE}")
    row = client.get("/playbook").text.split(f'<tr data-rule="{RULE}">')[1].split("</tr>")[0]
    assert "passes" in row


def test_an_unknown_rule_is_a_404_escaped(client):
    response = client.get("/playbook/rules/<i>x")
    assert response.status_code == 404 and "no rule &#39;&lt;i&gt;x&#39; in the loaded playbook" in response.text


def test_a_company_rules_template_is_escaped(layer_client):
    client, _ = layer_client
    page = client.get("/playbook/rules/layer.hostile").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; meet {{ eb.name }}" in page


def test_a_failing_example_says_why(layer_client):
    client, _ = layer_client
    page = client.get("/playbook/rules/layer.hostile").text
    assert "fails" in page and "the rule did not fire" in page


def test_running_every_example_lists_the_failures(layer_client):
    client, _ = layer_client
    page = client.get("/playbook/examples").text
    assert "1 passed, 1 failed" in page and "layer.hostile::fires[0]" in page


def test_lint_reports_the_loaded_layers_without_problems(client, builtin):
    page = client.get("/playbook/lint").text
    assert f"{len(builtin.rules)} rules, no problems." in page and "(built-in)" in page


def test_lint_reports_problems_in_a_layer_edited_since_the_start(layer_client):
    client, layer = layer_client
    (layer / "rules" / "test.yaml").write_text("rules:\n  - id: layer.broken\n", encoding="utf-8")
    page = client.get("/playbook/lint").text
    assert 'id="lint-problems"' in page and "test.yaml" in page


def test_the_playbook_speaks_chinese_when_asked(client):
    page = client.get(f"/playbook/rules/{RULE}?lang=zh").text
    assert "条件（全部满足时触发）" in page and "建议模板" in page
