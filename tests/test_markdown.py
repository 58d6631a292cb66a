"""`advise --format markdown`: safe to paste into a CRM comment, and as informative as the text header."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from dealcoach.cli import main
from dealcoach.engine.playbook import kb

HOSTILE = """name: "<img src=x onerror=alert(1)>"
account: {name: "*Acme* [site](http://evil.example) & <b>co</b>"}
stage: evaluation
stakeholders:
  - {name: "`张伟`", roles: [决策者], contacted: false, influence: 5}
  - {name: "李_强_", roles: [coach, user], contacted: true, style: controller}
  - {name: "周|敏", roles: [user], contacted: true, attitude: 恶意拆台, influence: 4}
"""


def advise(tmp_path, *args, text=HOSTILE):
    path = tmp_path / "deal.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["advise", str(path), "--format", "markdown", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_html_deal_name_renders_as_its_own_text(tmp_path, lang):
    rendered = html(advise(tmp_path, "--lang", lang))
    assert "<img" not in rendered
    assert "<b>" not in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markdown_characters_in_a_deal_do_not_become_markup(tmp_path, lang):
    rendered = html(advise(tmp_path, "--lang", lang, "--all", "--explain"))
    assert "<em>" not in rendered and "<a " not in rendered and "<table" not in rendered
    assert "*Acme* [site](http://evil.example) &amp; " in rendered
    assert "李_强_" in rendered and "`张伟`" in rendered


def test_the_only_code_spans_are_rule_ids(tmp_path):
    rendered = html(advise(tmp_path, "--lang", "en", "--all"))
    spans = [part.split("</code>")[0] for part in rendered.split("<code>")[1:]]
    assert spans and all(span.count(".") >= 1 and " " not in span for span in spans)


def test_the_header_shows_what_the_text_header_shows(tmp_path):
    header = advise(tmp_path, "--lang", "en").split("## ")[0]
    assert "Stage: evaluation, " in header
    assert "**Health " in header and "need and solution" in header
    assert "Roles that matter now: " in header and "(nobody met)" in header
    assert "Red flags: decision maker never met late in the cycle" in header


def test_category_headings_are_the_vocabulary_labels(tmp_path):
    headings = [line for line in advise(tmp_path, "--lang", "zh", "--all").splitlines() if line.startswith("## ")]
    vocabulary = kb.load([kb.builtin_dir()]).vocabulary
    labels = {f"## {vocabulary.label('category', c, 'zh')}" for c in vocabulary.ids("category")}
    assert len(headings) > 1 and set(headings[1:]) <= labels


def test_why_not_in_markdown_is_an_escaped_list(tmp_path):
    output = advise(tmp_path, "--lang", "en", "--why-not", "coverage.find-a-coach")
    assert output.splitlines()[0] == "**&lt;img src=x onerror=alert(1)&gt;**"
    assert output.splitlines()[2].startswith("- Rule coverage.find-a-coach")
    assert "<img" not in html(output)


def test_text_output_drops_control_characters_from_the_deal(tmp_path):
    path = tmp_path / "deal.yaml"
    path.write_text('name: "bank\\e[2J\\e]0;owned\\a deal"\naccount: {name: a}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["advise", str(path), "--lang", "en"])
    assert result.stdout.splitlines()[0] == "bank[2J]0;owned deal (a)"
