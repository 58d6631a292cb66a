"""docs/deal-format.md is generated from the model and the vocabulary, and keeps the contract's rules."""

from __future__ import annotations

import fnmatch
import re
import tomllib

import pytest
import yaml
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.deals import deal, dealdoc, schema
from dealcoach.engine.playbook import kb
from dealcoach.engine.yamlsource import Document
from tests.conftest import ROOT, SCENARIOS

DOC = ROOT / "docs" / "deal-format.md"


@pytest.fixture(scope="module")
def deal_fields(builtin) -> tuple[schema.Field, ...]:
    return schema.fields(schema.deal_schema(builtin.vocabulary))


def test_the_committed_reference_is_what_the_generator_prints(builtin):
    assert DOC.read_text(encoding="utf-8") == dealdoc.reference(builtin), (
        f"docs/deal-format.md is stale; regenerate it with: {dealdoc.REGENERATE}"
    )


def test_schema_docs_prints_the_reference(builtin, monkeypatch):
    monkeypatch.delenv("DEALCOACH_KB", raising=False)
    result = CliRunner().invoke(main, ["schema", "docs"])
    assert result.exit_code == 0
    assert result.stdout == dealdoc.reference(builtin)


def test_every_field_of_contract_version_1_is_still_read(deal_fields):
    assert {path for path, _ in dealdoc.paths(deal_fields)} >= dealdoc.CONTRACT_V1


def test_every_field_beyond_the_contract_is_optional(deal_fields):
    extensions = [(path, f) for path, f in dealdoc.paths(deal_fields) if path not in dealdoc.CONTRACT_V1]
    assert extensions, "the README lists optional fields beyond the spec"
    assert [path for path, f in extensions if f.required] == []


def test_every_base_signal_of_contract_version_1_exists(builtin):
    assert set(dealdoc.CONTRACT_V1_SIGNALS) <= set(builtin.vocabulary.ids("signal"))


def test_the_reference_lists_every_field_and_marks_the_extensions(deal_fields):
    text = DOC.read_text(encoding="utf-8")
    for path, _ in dealdoc.paths(deal_fields):
        marker = "contract v1" if path in dealdoc.CONTRACT_V1 else "**extension** (optional)"
        assert f"| `{path}` |" in text and marker in text.split(f"| `{path}` |", 1)[1].split("\n", 1)[0]


def test_the_reference_lists_every_spelling_of_every_enum_value(builtin, deal_fields):
    text = DOC.read_text(encoding="utf-8")
    for enum in {f.enum for _, f in dealdoc.paths(deal_fields) if f.enum}:
        for term_id, spec in builtin.vocabulary.enums[enum].items():
            assert f"| `{term_id}` | {spec.zh} |" in text
            assert all(alias in text for alias in spec.aliases)


@pytest.mark.parametrize("path", kb.example_deals(SCENARIOS), ids=lambda p: p.stem)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_commented_deal_reads_back_as_the_same_valid_deal(path, lang, builtin, deal_fields):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    text = dealdoc.commented(data, deal_fields, builtin.vocabulary, lang, ["header"])
    assert yaml.safe_load(text) == data
    deal.validate(Document(str(path), yaml.safe_load(text)), builtin.vocabulary)


def test_awkward_text_and_numbers_are_written_so_they_read_back_as_given(builtin, deal_fields):
    data = {
        "name": "yes",
        "stakeholders": [{"name": "null", "title": '"quoted"', "roles": ["user"]}],
        "notes": "two\n\nlines  \n",
        "value": 1e-07,
        "budget": {"amount": 2.5e20},
        "account": {"name": "#1: [a, b]", "industry": " padded ", "market_share": 12.5},
    }
    text = dealdoc.commented(data, deal_fields, builtin.vocabulary, "en", [])
    assert yaml.safe_load(text) == data


def test_vocabulary_labels_are_escaped_in_the_markdown(tmp_path):
    layer = tmp_path / "kb"
    layer.mkdir()
    (layer / "vocabulary.yaml").write_text(
        "enums:\n  signal:\n    evil: {zh: '<img src=x onerror=alert(1)> ```', en: '*bold* | pipe'}\n", encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["schema", "docs", "--kb", str(layer)])
    assert "| `evil` | \\<img src=x onerror=alert(1)\\> \\`\\`\\` | \\*bold\\* \\| pipe |" in result.stdout
    outside_the_example = result.stdout.split("````yaml\n", 1)[0] + result.stdout.split("\n````\n", 1)[1]
    assert re.search(r"(?<!\\)<img", outside_the_example) is None


def test_the_template_ships_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["dealcoach"]
    relative = dealdoc.TEMPLATE.relative_to(ROOT).as_posix()
    assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)


def test_the_readme_points_at_the_reference_in_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/deal-format.md" in readme
    assert "../shared" not in readme
