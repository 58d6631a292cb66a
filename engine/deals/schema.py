"""JSON Schema (draft 2020-12) for the deal file and for the JSON advice document.

The deal schema is generated from the pydantic model in :mod:`dealcoach.engine.deals.deal`, so a field
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
from dataclasses import dataclass
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from dealcoach.engine.advising.advice import CATEGORIES, PRIORITIES, SCHEMA_ID
from dealcoach.engine.advising.assessment import CRITERIA
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals.vocabulary import LANGS, Label, Vocabulary

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


def field_label(vocabulary: Vocabulary, fact_type: str, name: str) -> Label | None:
    """The vocabulary's name for field ``name`` of ``fact_type``: its own label, or for a section
    (``budget``) or a list of records (``competitors``) the label of what it holds."""
    facts = vocabulary.facts
    labels = facts.get(fact_type)
    if labels and name in labels.fields:
        return labels.fields[name]
    for holds in (name, name.removesuffix("s")):
        if holds in facts:
            return facts[holds].label
    return None


def _describe_fields(definition: dict[str, Any], fact_type: str, vocabulary: Vocabulary) -> None:
    """Label each property with the vocabulary's Chinese and English names for the field."""
    for name, field in definition.get("properties", {}).items():
        label = field_label(vocabulary, fact_type, name)
        if label is not None:
            field["description"] = f"{label.en} / {label.zh}"


@dataclass(frozen=True)
class Field:
    """One field of the deal file as the schema describes it: what the docs list, the intake asks
    and the commented writer explains. ``kind`` is one of: text, number, integer, boolean,
    tristate, enum, enums (a list of enum values), section (fields below), records (a list of
    sections, fields below), free (anything)."""

    name: str
    owner: str  # the fact type the field belongs to (deal, account, stakeholder, ...)
    kind: str
    required: bool = False
    default: Any = None
    enum: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    children: tuple[Field, ...] = ()


def fields(deal: dict[str, Any]) -> tuple[Field, ...]:
    """The top-level fields of a deal schema (from :func:`deal_schema`), with their children."""
    return _fields(deal, deal, "deal")


def _fields(root: dict[str, Any], definition: dict[str, Any], owner: str) -> tuple[Field, ...]:
    required = set(definition.get("required", ()))
    return tuple(
        _field(root, name, owner, name in required, prop) for name, prop in definition.get("properties", {}).items()
    )


def _field(root: dict[str, Any], name: str, owner: str, required: bool, prop: dict[str, Any]) -> Field:
    node = _non_null(prop)
    common = {"name": name, "owner": owner, "required": required, "default": prop.get("default")}
    if "$ref" in node:
        target = node["$ref"].rsplit("/", 1)[-1]
        if target[0].islower():
            return Field(kind=TRISTATE if target == TRISTATE else "enum", enum=target, **common)
        return Field(kind="section", children=_fields(root, root["$defs"][target], target.lower()), **common)
    if node.get("type") == "array":
        items = node["items"]
        target = items["$ref"].rsplit("/", 1)[-1]
        if target[0].islower():
            return Field(kind="enums", enum=target, **common)
        return Field(kind="records", children=_fields(root, root["$defs"][target], target.lower()), **common)
    kind = {"string": "text", "number": "number", "integer": "integer", "boolean": "boolean"}.get(
        node.get("type", ""), "free"
    )
    return Field(kind=kind, minimum=node.get("minimum"), maximum=node.get("maximum"), **common)


def _non_null(prop: dict[str, Any]) -> dict[str, Any]:
    """``X`` of an optional field's ``anyOf: [X, null]``."""
    options = [o for o in prop.get("anyOf", ()) if o != {"type": "null"}]
    return options[0] if len(options) == 1 else prop


def advice_schema(vocabulary: Vocabulary, concepts: list[str]) -> dict[str, Any]:
    """The JSON Schema of ``advise --format json`` output (``dealcoach.advice/1``).

    One deal gives one document; several give an array of documents. Keys may be added in
    later versions (the contract allows it), so objects are open; none may be removed or renamed.
    """

    def enum(name: str, description: str = "") -> dict[str, Any]:
        return {"type": "string", "enum": vocabulary.ids(name), **({"description": description} if description else {})}

    def text(description: str) -> dict[str, Any]:
        return {"type": "string", "description": description}

    def strings(description: str, items: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"type": "array", "items": items or {"type": "string"}, "description": description}

    def record(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
        return {"type": "object", "properties": properties, "required": required or list(properties)}

    advice = record(
        {
            "rule": text("the id of the rule that gave the advice"),
            "category": {"type": "string", "enum": list(CATEGORIES), "description": "the part of the playbook"},
            "priority": {"type": "string", "enum": list(PRIORITIES), "description": "how urgent the step is"},
            "stakeholders": strings("every stakeholder the advice is about; empty when it is about the deal"),
            "concepts": strings(
                "ids of the playbook concepts (kb/concepts.yaml) the rule applies", {"type": "string", "enum": concepts}
            ),
            "text": text("the advice, in the document's language"),
            "because": strings("the facts (given or derived) that made the rule fire"),
            "chain": strings("with --explain: which rule derived each conclusion the advice rests on"),
            "urgency": record(
                {
                    "points": {"type": "integer", "description": "the situational urgency the item ranks by"},
                    "acts_on": strings("what earned the points: signals, red flags, criteria at risk, the stage"),
                },
            ),
            "covers": strings(
                "rules of the same topic this item speaks for (folded into it), with the people each named",
                record({"rule": text("the folded rule's id"), "stakeholders": strings("the people it named")}),
            ),
        },
        ["rule", "category", "priority", "stakeholders", "concepts", "text", "because"],
    )
    deduction = record(
        {
            "points": {"type": "integer", "minimum": 0, "description": "points taken off"},
            "reason": text("what the points were taken off for"),
            "because": text("the rule and facts behind it; empty when nothing is known"),
        }
    )
    assessment = record(
        {
            "health": {"type": "integer", "minimum": 0, "maximum": 100, "description": "100 less the deductions"},
            "criteria": {
                "type": "object",
                "description": "each qualification criterion: met, at risk or unknown",
                "properties": {
                    name: enum("criterion_status", vocabulary.label("criterion", name, "en")) for name in CRITERIA
                },
                "required": list(CRITERIA),
                "additionalProperties": False,
            },
            "stage_focus": strings(
                "the roles that matter at the current stage, and whether we have met someone in each",
                record(
                    {
                        "role": enum("role", "the role's id"),
                        "text": text("the role's label"),
                        "covered": {"type": "boolean", "description": "whether we have met someone in the role"},
                    }
                ),
            ),
            "red_flags": strings(
                "the red flags raised on the deal",
                record(
                    {
                        "flag": enum("red_flag", "the flag's id"),
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
            "schema": {"const": SCHEMA_ID, "description": "the version of this format"},
            "deal": text("the deal's name"),
            "lang": {"type": "string", "enum": list(LANGS), "description": "the language of the texts"},
            "advice": strings("most important first", {"$ref": "#/$defs/advice"}),
            "assessment": {"$ref": "#/$defs/assessment", "description": "the deal-level assessment"},
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
