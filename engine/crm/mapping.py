"""How CRM values become deal fields: stages, contact roles and custom fields.

The defaults below follow each CRM's standard picklists; a YAML mapping file (``--mapping``)
overrides or extends them key by key. It is untrusted input: safe-loaded, and every key and value
checked against the vocabulary, with the file, line and column of each mistake.

    stages:             # CRM stage -> purchase stage id, or `closed` (the deal is left out)
      Contract Signed: closed
    roles:              # contact role -> buying role id, or `none`
      Executive Sponsor: coach
    opportunity_fields: # a column of the deals file -> a deal field
      Fit__c: solution_fit
    contact_fields:     # a column of the contacts file -> a stakeholder field
      Attitude__c: attitude
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dealcoach.engine.deals.vocabulary import Vocabulary
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.yamlsource import Document, load

CLOSED = "closed"
NO_ROLE = "none"

SALESFORCE_STAGES = {
    "Prospecting": "intent",
    "Qualification": "research",
    "Needs Analysis": "research",
    "Value Proposition": "preselection",
    "Id. Decision Makers": "preselection",
    "Perception Analysis": "evaluation",
    "Proposal/Price Quote": "evaluation",
    "Negotiation/Review": "decision",
    "Closed Won": CLOSED,
    "Closed Lost": CLOSED,
}
SALESFORCE_ROLES = {
    "Business User": "user",
    "Decision Maker": "economic_buyer",
    "Economic Buyer": "economic_buyer",
    "Economic Decision Maker": "economic_buyer",
    "Evaluator": "technical_gatekeeper",
    "Executive Sponsor": "recommender",
    "Influencer": "influencer",
    "Technical Buyer": "technical_gatekeeper",
    "Other": NO_ROLE,
}
HUBSPOT_STAGES = {
    "Appointment Scheduled": "intent",
    "Qualified To Buy": "research",
    "Presentation Scheduled": "preselection",
    "Decision Maker Bought-In": "evaluation",
    "Contract Sent": "decision",
    "Closed Won": CLOSED,
    "Closed Lost": CLOSED,
}
DEFAULTS = {"salesforce": (SALESFORCE_STAGES, SALESFORCE_ROLES), "hubspot": (HUBSPOT_STAGES, {})}

# deal field -> what it accepts: an enum of the vocabulary, "int:LOW-HIGH", or "text"
OPPORTUNITY_TARGETS = {
    "solution_fit": "solution_fit",
    "position": "position",
    "offering": "offering",
    "budget.status": "budget_status",
    "budget.funding": "funding",
    "account.tier": "tier",
    "account.industry": "text",
    "currency": "text",
    "days_in_stage": "int:0-100000",
}
CONTACT_TARGETS = {
    "attitude": "attitude",
    "style": "style",
    "receptivity": "receptivity",
    "influence": "int:1-5",
    "title": "text",
}
SECTIONS = ("stages", "roles", "opportunity_fields", "contact_fields")


@dataclass
class Mapping:
    stages: dict[str, str]
    roles: dict[str, str]
    opportunity_fields: dict[str, str] = field(default_factory=dict)
    contact_fields: dict[str, str] = field(default_factory=dict)

    def stage(self, raw: str) -> str | None:
        return _lookup(self.stages, raw)

    def role(self, raw: str) -> str | None:
        return _lookup(self.roles, raw)


def _lookup(table: dict[str, str], raw: str) -> str | None:
    """Picklist values compared without case or surrounding spaces (exports differ in both)."""
    wanted = raw.strip().casefold()
    return next((value for key, value in table.items() if key.casefold() == wanted), None)


def load_mapping(crm: str, path: str | None, vocabulary: Vocabulary) -> Mapping:
    """The defaults of ``crm``, overridden by the mapping file when one is given."""
    stages, roles = DEFAULTS[crm]
    mapping = Mapping(dict(stages), dict(roles))
    if path is None:
        return mapping
    document = load(path)
    problems = check(document, vocabulary)
    if problems:
        raise InputError(problems)
    for section in SECTIONS:
        getattr(mapping, section).update(document.data.get(section) or {})
    return mapping


def check(document: Document, vocabulary: Vocabulary) -> list[Problem]:
    data = document.data
    if data is None:
        return []
    if not isinstance(data, dict):
        return [document.problem((), f"a mapping file is a mapping with the keys {', '.join(SECTIONS)}")]
    allowed = {
        "stages": (set(vocabulary.ids("stage")) | {CLOSED}, "a stage id or closed"),
        "roles": (set(vocabulary.ids("role")) | {NO_ROLE}, "a role id or none"),
        "opportunity_fields": (set(OPPORTUNITY_TARGETS), "a deal field"),
        "contact_fields": (set(CONTACT_TARGETS), "a stakeholder field"),
    }
    problems = []
    for key, table in data.items():
        if key not in allowed:
            problems.append(document.problem((key,), f"unknown key {key!r} (allowed: {', '.join(SECTIONS)})"))
            continue
        if table is None:
            continue
        if not isinstance(table, dict):
            problems.append(document.problem((key,), "must be a mapping of CRM value: dealcoach value"))
            continue
        values, what = allowed[key]
        for name, target in table.items():
            if not isinstance(name, str) or not isinstance(target, str) or target not in values:
                problems.append(
                    document.problem((key, name), f"{target!r} is not {what}; allowed: {', '.join(sorted(values))}")
                )
    return problems


def convert(kind: str, raw: str, vocabulary: Vocabulary) -> tuple[Any, str]:
    """A cell as the deal field's value, or (None, the reason it cannot be)."""
    if kind == "text":
        return raw, ""
    if kind.startswith("int:"):
        low, high = (int(n) for n in kind[4:].split("-"))
        try:
            number = int(float(raw))
        except ValueError:
            return None, f"{raw!r} is not a whole number"
        return (
            (number, "")
            if low <= number <= high and number == float(raw)
            else (None, f"{raw!r} is not in {low}-{high}")
        )
    term = vocabulary.normalise(kind, raw)
    return (term, "") if term else (None, f"{raw!r} is not a {kind}; allowed: {vocabulary.allowed(kind)}")
