"""`dealcoach schema deal|advice`: JSON Schema that every bundled deal and every JSON output satisfies."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from dealcoach.cli import main
from dealcoach.engine.deals import deal, schema
from dealcoach.engine.playbook import kb
from dealcoach.engine.yamlsource import Document
from tests.conftest import SCENARIOS

BUNDLED = kb.example_deals(SCENARIOS)


def printed(kind: str) -> dict:
    result = CliRunner().invoke(main, ["schema", kind])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def deal_validator() -> Draft202012Validator:
    return Draft202012Validator(printed("deal"))


@pytest.fixture(scope="module")
def advice_validator() -> Draft202012Validator:
    return Draft202012Validator(printed("advice"))


def minimal(**fields: object) -> dict:
    return {"name": "t", "account": {"name": "a"}, **fields}


@pytest.mark.parametrize("kind", ["deal", "advice"])
def test_the_printed_schema_is_valid_draft_2020_12(kind):
    document = printed(kind)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(document)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_bundled_deal_satisfies_the_deal_schema(path, deal_validator):
    errors = [e.message for e in deal_validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))]
    assert errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_json_advice_on_every_bundled_deal_satisfies_the_advice_schema(lang, advice_validator):
    result = CliRunner().invoke(main, ["advise", *map(str, BUNDLED), "--format", "json", "--lang", lang])
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert isinstance(output, list) and len(output) == len(BUNDLED)
    assert [e.message for e in advice_validator.iter_errors(output)] == []


def test_explained_advice_on_one_deal_satisfies_the_advice_schema(advice_validator):
    result = CliRunner().invoke(main, ["advise", str(BUNDLED[0]), "--format", "json", "--explain", "--lang", "en"])
    output = json.loads(result.stdout)
    documents = output if isinstance(output, list) else [output]
    assert any(advice.get("chain") for document in documents for advice in document["advice"])
    assert [e.message for e in advice_validator.iter_errors(output)] == []


def test_advice_with_an_unknown_category_breaks_the_advice_schema(advice_validator):
    result = CliRunner().invoke(main, ["advise", str(BUNDLED[0]), "--format", "json", "--lang", "en"])
    output = json.loads(result.stdout)
    document = output[0] if isinstance(output, list) else output
    document["advice"][0]["category"] = "gossip"
    assert not advice_validator.is_valid(document)


def test_chinese_labels_and_aliases_are_accepted_values(deal_validator, builtin):
    data = minimal(
        stage="方案比较",
        decision={"process_known": "是", "timeframe_known": "unknown"},
        stakeholders=[{"name": "甲", "roles": ["维护者", "economic buyer"], "attitude": "怀疑", "style": "控制型"}],
    )
    assert deal_validator.is_valid(data)
    deal.validate(Document("t.yaml", data), builtin.vocabulary)  # and dealcoach agrees


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"name": "t"}, id="account-missing"),
        pytest.param(minimal(stage="evaluaton"), id="enum-typo"),
        pytest.param(minimal(stakeholders=[{"name": "甲", "infuence": 3}]), id="unknown-key"),
        pytest.param(minimal(stakeholders=[{"name": "甲", "influence": 6}]), id="influence-out-of-range"),
        pytest.param(minimal(stakeholders=[{"name": "甲", "roles": ["boss"]}]), id="unknown-role"),
        pytest.param(minimal(value=-1), id="negative-value"),
        pytest.param({"name": "   ", "account": {"name": "a"}}, id="blank-name"),
        pytest.param(minimal(decision={"process_known": "maybe"}), id="tristate-typo"),
    ],
)
def test_invalid_deals_are_rejected_by_the_schema_and_by_dealcoach(broken, deal_validator, builtin):
    assert not deal_validator.is_valid(broken)
    with pytest.raises(deal.InputError):
        deal.validate(Document("t.yaml", broken), builtin.vocabulary)


def test_every_vocabulary_spelling_the_schema_lists_is_one_dealcoach_accepts(builtin):
    vocabulary = builtin.vocabulary
    for name in schema.deal_schema(vocabulary)["$defs"]:
        if name in vocabulary.enums:
            for spelling in schema.spellings(vocabulary, name):
                assert vocabulary.normalise(name, spelling) is not None, (name, spelling)


def test_a_company_layer_signal_is_accepted_by_the_schema_it_prints(tmp_path):
    layer = tmp_path / "kb"
    layer.mkdir()
    (layer / "vocabulary.yaml").write_text(
        "enums:\n  signal:\n    budget_frozen: {zh: 预算冻结, en: budget frozen}\n", encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["schema", "deal", "--kb", str(layer)])
    validator = Draft202012Validator(json.loads(result.stdout))
    assert validator.is_valid(minimal(signals=["预算冻结", "tender"]))


def test_a_broken_company_layer_is_reported_not_a_traceback(tmp_path):
    layer = tmp_path / "kb"
    layer.mkdir()
    (layer / "vocabulary.yaml").write_text("enums: [not, a, mapping]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["schema", "deal", "--kb", str(layer)])
    assert result.exit_code == 2
    assert "vocabulary.yaml" in result.stderr and "Traceback" not in result.output
