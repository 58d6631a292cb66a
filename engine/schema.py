"""JSON Schema (draft 2020-12) for the deal file and for the JSON advice document.

The deal schema is generated from the pydantic model in :mod:`dealcoach.engine.deal`, so a field
added there appears here without anyone remembering to. The model keeps enumerated fields as
plain strings checked against the vocabulary (a company layer may add values), so pydantic alone
would describe them as "any string": the generator below recognises the model's vocabulary
validators and points such fields at one definition per enum that lists every spelling the
vocabulary accepts (the id, the Chinese label, the English label and the aliases).

dealcoach also ignores case and surrounding spaces in enumerated values; the schema lists the
spellings as the vocabulary writes them, so a file that the schema accepts is always one that
dealcoach accepts. What a schema cannot say (a ``reports_to`` or ``owner`` must name a stakeholder
of the same deal; stakeholder names are unique) is checked by ``dealcoach deal check``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from dealcoach.engine import deal as deal_mod
from dealcoach.engine.advice import CATEGORIES, PRIORITIES, SCHEMA_ID
from dealcoach.engine.assessment import CRITERIA
from dealcoach.engine.vocabulary import Vocabulary

DRAFT = "https://json-schema.org/draft/2020-12/schema"
TRISTATE = "tristate"
_ENUM_MARK = "x-dealcoach-enum"  # placeholder while pydantic builds the schema; replaced by a $ref


def validator_enum(function: Callable[..., Any]) -> str | None:
    """The vocabulary enum a validator of the deal model checks against, or None.

    ``deal.Term(enum)`` builds its validator as a closure over the enum's name; the true/false/
    unknown fields share one validator. Reading the closure keeps the model the single source.
    """
    if function is deal_mod._tristate:
        return TRISTATE
    if function.__qualname__.startswith(deal_mod._term.__qualname__ + "."):
        enum = inspect.getclosurevars(function).nonlocals.get("enum")
        return enum if isinstance(enum, str) else None
    return None


class _DealSchemaGenerator(GenerateJsonSchema):
    """pydantic's generator, told what the deal model's vocabulary validators accept."""

    def function_before_schema(self, schema: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
        enum = validator_enum(schema["function"]["function"])
        return {_ENUM_MARK: enum} if enum else super().function_before_schema(schema)

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        """The model strips surrounding spaces before checking a length, so a required text must
        contain something other than spaces."""
        json_schema = super().str_schema(schema)
        if json_schema.get("minLength"):
            json_schema["pattern"] = r"\S"
        return json_schema


def spellings(vocabulary: Vocabulary, enum: str) -> list[str]:
    """Every spelling of every value of ``enum`` the vocabulary accepts, ids first, without repeats."""
    terms = vocabulary.enums[enum]
    found = list(terms)
    for spec in terms.values():
        found += [spec.zh, spec.en, *spec.aliases]
    return list(dict.fromkeys(found))


def _enum_definition(vocabulary: Vocabulary, enum: str) -> dict[str, Any]:
    values = "; ".join(f"{term_id} = {spec.zh} / {spec.en}" for term_id, spec in vocabulary.enums[enum].items())
    accepted: dict[str, Any] = {"type": "string", "enum": spellings(vocabulary, enum)}
    if enum == TRISTATE:
        accepted = {"anyOf": [{"type": "boolean"}, {"type": "null"}, accepted]}
    return {"title": enum, "description": f"One of: {values} (any listed spelling)", **accepted}


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def deal_schema(vocabulary: Vocabulary) -> dict[str, Any]:
    """The JSON Schema of a deal file under ``vocabulary`` (the built-in one plus any company layers)."""
    generated = deal_mod.Deal.model_json_schema(schema_generator=_DealSchemaGenerator)
    definitions = generated.setdefault("$defs", {})
    used: list[str] = []
    for node in _walk(generated):
        enum = node.pop(_ENUM_MARK, None)
        if enum is not None:
            node["$ref"] = f"#/$defs/{enum}"
            used.append(enum)
        properties = node.get("properties")
        if isinstance(properties, dict):
            for field in properties.values():
                field.pop("title", None)
    for model_name, definition in list(definitions.items()):
        _describe_fields(definition, model_name.lower(), vocabulary)
    _describe_fields(generated, "deal", vocabulary)
    for enum in dict.fromkeys(used):
        if enum in definitions:  # pragma: no cover - a model named like an enum would shadow it
            raise ValueError(f"the deal model and the vocabulary both define {enum!r}")
        definitions[enum] = _enum_definition(vocabulary, enum)
    generated.pop("title", None)
    return {
        "$schema": DRAFT,
        "title": "dealcoach deal file",
        "description": "A deal as a rep describes it (YAML or JSON). Unknown keys are errors, except "
        "under notes and extra; enumerated values may be given as id, Chinese label, English label or alias.",
        **generated,
    }


def _describe_fields(definition: dict[str, Any], fact_type: str, vocabulary: Vocabulary) -> None:
    """Label each property with the vocabulary's Chinese and English names for the field."""
    facts = vocabulary.facts
    labels = facts.get(fact_type)
    for name, field in definition.get("properties", {}).items():
        label = labels.fields.get(name) if labels else None
        if label is None and name.rstrip("s") in facts:  # a list of competitors, needs, ...
            label = facts[name.rstrip("s")].label
        if label is None and name in facts:  # a section such as budget or decision
            label = facts[name].label
        if label is not None:
            field["description"] = f"{label.en} / {label.zh}"


def advice_schema(vocabulary: Vocabulary, concepts: list[str]) -> dict[str, Any]:
    """The JSON Schema of ``advise --format json`` output (``dealcoach.advice/1``).

    One deal gives one document; several give an array of documents. Keys may be added in
    later versions (the contract allows it), so objects are open; none may be removed or renamed.
    """

    def enum(name: str) -> dict[str, Any]:
        return {"type": "string", "enum": vocabulary.ids(name)}

    def text(description: str) -> dict[str, Any]:
        return {"type": "string", "description": description}

    def strings(description: str, items: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"type": "array", "items": items or {"type": "string"}, "description": description}

    def record(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
        return {"type": "object", "properties": properties, "required": required or list(properties)}

    advice = record(
        {
            "rule": text("the id of the rule that gave the advice"),
            "category": {"type": "string", "enum": list(CATEGORIES)},
            "priority": {"type": "string", "enum": list(PRIORITIES)},
            "stakeholders": strings("every stakeholder the advice is about; empty when it is about the deal"),
            "concepts": strings("playbook concepts the rule applies", {"type": "string", "enum": concepts}),
            "text": text("the advice, in the document's language"),
            "because": strings("the facts (given or derived) that made the rule fire"),
            "chain": strings("with --explain: which rule derived each conclusion the advice rests on"),
        },
        ["rule", "category", "priority", "stakeholders", "concepts", "text", "because"],
    )
    deduction = record(
        {
            "points": {"type": "integer", "minimum": 0},
            "reason": text("what the points were taken off for"),
            "because": text("the rule and facts behind it; empty when nothing is known"),
        }
    )
    assessment = record(
        {
            "health": {"type": "integer", "minimum": 0, "maximum": 100, "description": "100 less the deductions"},
            "criteria": {
                "type": "object",
                "properties": {name: enum("criterion_status") for name in CRITERIA},
                "required": list(CRITERIA),
                "additionalProperties": False,
            },
            "stage_focus": strings(
                "the roles that matter at the current stage, and whether we have met someone in each",
                record({"role": enum("role"), "text": text("the role's label"), "covered": {"type": "boolean"}}),
            ),
            "red_flags": strings(
                "the red flags raised on the deal",
                record(
                    {
                        "flag": enum("red_flag"),
                        "text": text("the flag's label"),
                        "stakeholder": {"type": ["string", "null"], "description": "whom it is about, if anyone"},
                    }
                ),
            ),
            "deductions": strings("every point taken off the health score, with its reason", deduction),
        }
    )
    document = record(
        {
            "schema": {"const": SCHEMA_ID},
            "deal": text("the deal's name"),
            "lang": {"type": "string", "enum": ["zh", "en"]},
            "advice": strings("most important first", {"$ref": "#/$defs/advice"}),
            "assessment": {"$ref": "#/$defs/assessment"},
        }
    )
    return {
        "$schema": DRAFT,
        "title": f"dealcoach advice ({SCHEMA_ID})",
        "description": "The output of `dealcoach advise --format json`: one document per deal; "
        "several deals give an array of documents in the order given.",
        "anyOf": [{"$ref": "#/$defs/document"}, {"type": "array", "items": {"$ref": "#/$defs/document"}}],
        "$defs": {"document": document, "advice": advice, "assessment": assessment},
    }


def to_json(schema: dict[str, Any]) -> str:
    """The schema as printed: UTF-8 JSON, two-space indent, in generation order (deterministic)."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
