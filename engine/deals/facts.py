"""Facts: what the rule engine sees of a deal, and the schema rules are checked against.

A deal becomes a flat set of facts, one per thing a rule can talk about: the deal, its account,
budget, decision, information and rep, and one fact per stakeholder, competitor, need and signal.
The field names are those of the deal file, so a trainer writes conditions with the words the
rep used. Derived fact types come from ``kb/derived.yaml`` and share the same schema machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from dealcoach.engine.deals.deal import Deal
from dealcoach.engine.deals.vocabulary import FactLabels, Label, Lang, Vocabulary
from dealcoach.engine.matching.compat import Fact
from dealcoach.engine.problems import InputError
from dealcoach.engine.yamlsource import Document

SCALAR_TYPES = ("text", "number", "bool", "tristate", "stakeholder", "competitor")


@dataclass(frozen=True)
class FieldSpec:
    """A field's domain: one of SCALAR_TYPES or an enum name; ``many`` for lists (roles)."""

    type: str
    many: bool = False

    @property
    def is_enum(self) -> bool:
        return self.type not in SCALAR_TYPES

    @property
    def is_number(self) -> bool:
        return self.type == "number"


@dataclass
class FactType:
    name: str
    fields: dict[str, FieldSpec]
    derived: bool = False
    fact_class: type[Fact] = field(init=False)

    def __post_init__(self) -> None:
        class_name = "".join(part.title() for part in self.name.split("_")) + "Fact"
        self.fact_class = type(class_name, (Fact,), {"__module__": __name__})

    def make(self, **values: Any) -> Fact:
        return self.fact_class(**values)


def _spec(text: str) -> FieldSpec:
    return FieldSpec(text[:-2], many=True) if text.endswith("[]") else FieldSpec(text)


_TRISTATE_INFO = dict.fromkeys(
    (
        "steps",
        "buying_process",
        "organization",
        "decision_structure",
        "finances",
        "rationale",
        "resources",
        "competitors",
        "success_factors",
    ),
    "tristate",
)

BASE_FIELDS: dict[str, dict[str, str]] = {
    "deal": {
        "name": "text",
        "stage": "stage",
        "value": "number",
        "currency": "text",
        "solution_fit": "solution_fit",
        "position": "position",
        "offering": "offering",
        "days_in_stage": "number",
    },
    "account": {
        "name": "text",
        "tier": "tier",
        "industry": "text",
        "procurement": "procurement",
        "purchase_pattern": "purchase_pattern",
        "financial_health": "financial_health",
        "phase": "phase",
        "loyalty": "loyalty",
        "satisfaction": "number",
        "months_since_last_order": "number",
        "restricted": "bool",
        "market_share": "number",
        "our_share": "number",
    },
    "budget": {"status": "budget_status", "amount": "number", "funding": "funding"},
    "decision": {"process_known": "tristate", "timeframe_known": "tristate", "criteria_known": "tristate"},
    "info": _TRISTATE_INFO,
    "rep": {"style": "style"},
    "stakeholder": {
        "name": "text",
        "title": "text",
        "roles": "role[]",
        "attitude": "attitude",
        "style": "style",
        "influence": "number",
        "contacted": "bool",
        "org_need_met": "tristate",
        "personal_need_met": "tristate",
        "reports_to": "stakeholder",
        "favors": "competitor",
        "receptivity": "receptivity",
        "days_since_contact": "number",
    },
    "competitor": {"name": "text", "strength": "strength", "incumbent": "bool"},
    "need": {"text": "text", "kind": "need_kind", "type": "need_type", "owner": "stakeholder"},
    "signal": {"id": "signal"},
    # Only in drills: the move the trainee just made, for the knowledge base's reaction rules.
    "move": {"id": "move"},
    # One per stakeholder and role, so that rules can join on a role ("someone we met in that role").
    "role_of": {"stakeholder": "stakeholder", "role": "role", "contacted": "bool"},
    # Not in the deal file: the runner declares one per `count` condition with the number counted.
    "count": {"key": "text", "value": "number"},
}

# What names a fact of each type when advice explains itself ("张伟: contacted = no").
SUBJECT_FIELD = {"stakeholder": "name", "competitor": "name", "need": "text", "signal": "id"}


class _DerivedField(Label):
    type: str


class _DerivedType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: Label
    fields: dict[str, _DerivedField]


@dataclass
class Schema:
    """Every fact type a rule may match: the base types above plus the KB's derived types."""

    types: dict[str, FactType]
    declared_at: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # derived types: file, line, column

    @classmethod
    def base(cls) -> Schema:
        return cls(
            {name: FactType(name, {f: _spec(t) for f, t in fields.items()}) for name, fields in BASE_FIELDS.items()}
        )

    def add_derived(self, document: Document, vocabulary: Vocabulary) -> None:
        """Declare the derived fact types of one ``derived.yaml``, registering their labels."""
        if not isinstance(document.data or {}, dict):
            raise InputError([document.problem((), "derived.yaml is a mapping of fact type: {fields: ...}")])
        problems = []
        for name, raw in (document.data or {}).items():
            try:
                declared = _DerivedType.model_validate(raw)
            except ValidationError as err:
                problems += [document.problem((name, *e["loc"]), e["msg"]) for e in err.errors(include_url=False)]
                continue
            if name in self.types and not self.types[name].derived:
                problems.append(document.problem((name,), f"{name!r} is a base fact type and cannot be redeclared"))
                continue
            for field_name, spec in declared.fields.items():
                if spec.type not in SCALAR_TYPES and not vocabulary.has_enum(spec.type):
                    problems.append(
                        document.problem(
                            (name, "fields", field_name, "type"),
                            f"unknown type {spec.type!r}; use one of {', '.join(SCALAR_TYPES)} "
                            "or an enum of vocabulary.yaml",
                        )
                    )
            fields = {f: FieldSpec(spec.type) for f, spec in declared.fields.items()}
            self.types[name] = FactType(name, fields, derived=True)
            self.declared_at[name] = (document.file, *document.locate((name,)))
            vocabulary.facts[name] = vocabulary.facts.get(name) or _labels(declared)
        if problems:
            raise InputError(problems)


def _labels(declared: _DerivedType) -> FactLabels:
    return FactLabels(label=declared.label, fields={f: Label(zh=s.zh, en=s.en) for f, s in declared.fields.items()})


def deal_facts(deal: Deal, schema: Schema) -> list[Fact]:
    """The base facts of one deal, in a fixed order so that runs are reproducible."""
    types = schema.types
    facts = [
        types["deal"].make(**{f: getattr(deal, f) for f in BASE_FIELDS["deal"]}),
        types["account"].make(**deal.account.model_dump(include=set(BASE_FIELDS["account"]))),
        types["budget"].make(**deal.budget.model_dump()),
        types["decision"].make(**deal.decision.model_dump()),
        types["info"].make(**deal.info.model_dump()),
        types["rep"].make(**deal.rep.model_dump()),
    ]
    for person in deal.stakeholders:
        values = person.model_dump()
        values["roles"] = tuple(values["roles"])
        facts.append(types["stakeholder"].make(**values))
        role_of = types["role_of"]
        facts += [role_of.make(stakeholder=person.name, role=r, contacted=person.contacted) for r in person.roles]
    facts += [types["competitor"].make(**c.model_dump()) for c in deal.competitors]
    facts += [types["need"].make(**n.model_dump()) for n in deal.needs]
    facts += [types["signal"].make(id=s) for s in dict.fromkeys(deal.signals)]
    return facts


def subject(fact_type: str, values: dict[str, Any], vocabulary: Vocabulary, lang: Lang) -> str:
    """How a fact is named in an explanation: a person's name, or the fact type's label."""
    key = SUBJECT_FIELD.get(fact_type)
    if key == "id":
        return vocabulary.label(fact_type, values[key], lang)
    if key:
        return str(values[key])
    if values.get("stakeholder"):
        return str(values["stakeholder"])
    return vocabulary.fact_label(fact_type, lang)
