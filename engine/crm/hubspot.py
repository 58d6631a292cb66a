"""HubSpot: the deals export (one row per deal, associated contacts in one cell) to deals, through
the same mapping mechanism as Salesforce (stages and custom columns; HubSpot exports no roles)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from dealcoach.engine.crm import tables
from dealcoach.engine.crm.common import Imported, opportunity_fields, stage_and_value
from dealcoach.engine.crm.mapping import CLOSED, Mapping
from dealcoach.engine.deals.vocabulary import Vocabulary
from dealcoach.engine.problems import Problem

DEALS = {
    "Id": ("Record ID", "Deal ID", "hs_object_id"),
    "Name": ("Deal Name", "dealname"),
    "Stage": ("Deal Stage", "dealstage"),
    "Amount": ("amount",),
    "CloseDate": ("Close Date", "closedate"),
    "Owner": ("Deal owner", "Deal Owner", "hubspot_owner_id"),
    "Contacts": ("Associated Contacts", "Associated Contact", "Associated Contact IDs"),
    "Company": ("Associated Company", "Associated Companies", "Company name", "Company"),
    "Currency": ("Currency", "deal_currency_code"),
}
_EMAIL = re.compile(r"\s*\([^()]*@[^()]*\)\s*$")


def load(path: str, mapping: Mapping, vocabulary: Vocabulary, as_of: date) -> Imported:
    table = tables.read(path, DEALS, ("Name", "Stage"), tuple(mapping.opportunity_fields))
    result = Imported()
    for number, row in enumerate(table.rows, 1):
        stage = mapping.stage(row.get("Stage"))
        if stage == CLOSED:
            result.closed += 1
            continue
        problems: list[Problem] = []
        data = _deal(row, mapping, vocabulary, as_of, problems)
        label = f"{path}#{row.get('Id') or number}"
        result.add(label, row, data, problems, vocabulary)
    return result


def _deal(
    row: tables.Row, mapping: Mapping, vocabulary: Vocabulary, as_of: date, problems: list[Problem]
) -> dict[str, Any]:
    if not row.get("Name"):
        problems.append(row.problem("Name", "the deal has no name"))
    data: dict[str, Any] = {"name": row.get("Name"), "account": {"name": row.get("Company") or row.get("Name")}}
    problems += stage_and_value(row, "Stage", mapping, data)
    for key, column in (("owner", "Owner"), ("currency", "Currency")):
        if row.get(column):
            data[key] = row.get(column)
    names = [_EMAIL.sub("", name).strip() for name in re.split(r"[;\n]", row.get("Contacts"))]
    data["stakeholders"] = [{"name": name} for name in dict.fromkeys(n for n in names if n)]
    problems += opportunity_fields(row, mapping.opportunity_fields, vocabulary, data)
    notes = {key: row.get(column) for key, column in (("crm_id", "Id"), ("close_date", "CloseDate")) if row.get(column)}
    data["notes"] = {"source": "hubspot", **notes}
    return data
