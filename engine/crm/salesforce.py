"""Salesforce: Opportunity, OpportunityContactRole and Contact exports (Account and
OpportunityHistory optional) to one deal per open opportunity.

What Salesforce knows becomes a deal field; what it does not (attitudes, styles, influence unless
a custom field is mapped) stays unknown, so the advice asks for it instead of guessing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from dealcoach.engine.crm import tables
from dealcoach.engine.crm.cells import parse_bool, parse_date
from dealcoach.engine.crm.common import (
    Imported,
    contact_fields,
    days_since,
    opportunity_fields,
    person_name,
    stage_and_value,
    unique_names,
)
from dealcoach.engine.crm.mapping import CLOSED, NO_ROLE, Mapping
from dealcoach.engine.deals.vocabulary import Vocabulary
from dealcoach.engine.problems import Problem

# canonical (API) name -> the labels a report export uses for it
OPPORTUNITY = {
    "Id": ("Opportunity ID", "Opportunity Id", "Record ID"),
    "Name": ("Opportunity Name",),
    "AccountId": ("Account ID",),
    "AccountName": ("Account Name", "Account"),
    "StageName": ("Stage",),
    "Amount": ("Opportunity Amount",),
    "CurrencyIsoCode": ("Opportunity Currency", "Currency", "Amount Currency"),
    "CloseDate": ("Close Date",),
    "OwnerId": ("Opportunity Owner", "Owner", "Owner ID", "Owner Name", "Owner Full Name"),
    "NextStep": ("Next Step",),
    "LastActivityDate": ("Last Activity", "Last Activity Date"),
    "IsClosed": ("Closed",),
}
CONTACT_ROLE = {
    "OpportunityId": ("Opportunity ID", "Opportunity Id"),
    "ContactId": ("Contact ID", "Contact Id"),
    "Role": ("Contact Role", "Opportunity Contact Role"),
    "IsPrimary": ("Primary", "Is Primary"),
}
CONTACT = {
    "Id": ("Contact ID", "Contact Id"),
    "FirstName": ("First Name",),
    "LastName": ("Last Name",),
    "FullName": ("Full Name", "Contact Name", "Name"),
    "Title": ("Contact Title",),
    "LastActivityDate": ("Last Activity", "Last Activity Date"),
}
ACCOUNT = {
    "Id": ("Account ID", "Account Id"),
    "Name": ("Account Name",),
    "Industry": (),
    "Type": ("Account Type",),
}
HISTORY = {
    "OpportunityId": ("Opportunity ID", "Opportunity Id"),
    "StageName": ("Stage", "To Stage"),
    "CreatedDate": ("Created Date", "Edit Date", "Last Modified", "Last Modified Date"),
}


@dataclass
class Files:
    opportunities: str
    contact_roles: str
    contacts: str
    accounts: str | None = None
    history: str | None = None


def load(files: Files, mapping: Mapping, vocabulary: Vocabulary, as_of: date) -> Imported:
    """Every open opportunity as deal data; InputError only when a whole file cannot be read."""
    opportunities = tables.read(
        files.opportunities, OPPORTUNITY, ("Id", "Name", "StageName"), tuple(mapping.opportunity_fields)
    )
    roles = tables.read(files.contact_roles, CONTACT_ROLE, ("OpportunityId", "ContactId", "Role"))
    contacts = tables.read(files.contacts, CONTACT, ("Id",), tuple(mapping.contact_fields))
    accounts = tables.read(files.accounts, ACCOUNT, ("Id", "Name")) if files.accounts else None
    history = (
        tables.read(files.history, HISTORY, ("OpportunityId", "StageName", "CreatedDate")) if files.history else None
    )
    context = _Context(
        mapping,
        vocabulary,
        as_of,
        {row.get("Id"): row for row in contacts.rows},
        {row.get("Id"): row for row in accounts.rows} if accounts else {},
        _by(roles.rows, "OpportunityId"),
        _by(history.rows, "OpportunityId") if history else None,
    )
    result = Imported()
    for row in opportunities.rows:
        closed = parse_bool(row.get("IsClosed")) or mapping.stage(row.get("StageName")) == CLOSED
        if closed:
            result.closed += 1
            continue
        problems: list[Problem] = []
        data = context.deal(row, problems)
        label = f"{files.opportunities}#{row.get('Id')}"
        result.add(label, row, data, problems, vocabulary)
    return result


def _by(rows: list[tables.Row], column: str) -> dict[str, list[tables.Row]]:
    grouped: dict[str, list[tables.Row]] = defaultdict(list)
    for row in rows:
        grouped[row.get(column)].append(row)
    return grouped


@dataclass
class _Context:
    mapping: Mapping
    vocabulary: Vocabulary
    as_of: date
    contacts: dict[str, tables.Row]
    accounts: dict[str, tables.Row]
    roles: dict[str, list[tables.Row]]
    history: dict[str, list[tables.Row]] | None

    def deal(self, row: tables.Row, problems: list[Problem]) -> dict[str, Any]:
        if not row.get("Id"):
            problems.append(row.problem("Id", "the opportunity has no Id"))
        if not row.get("Name"):
            problems.append(row.problem("Name", "the opportunity has no name"))
        data: dict[str, Any] = {"name": row.get("Name"), "account": self.account(row)}
        problems += stage_and_value(row, "StageName", self.mapping, data)
        if row.get("CurrencyIsoCode"):
            data["currency"] = row.get("CurrencyIsoCode")
        if row.get("OwnerId"):
            data["owner"] = row.get("OwnerId")
        days = self.days_in_stage(row, problems)
        if days is not None:
            data["days_in_stage"] = days
        data["stakeholders"] = self.stakeholders(row.get("Id"), problems)
        problems += opportunity_fields(row, self.mapping.opportunity_fields, self.vocabulary, data)
        notes = {
            key: row.get(column)
            for key, column in (("crm_id", "Id"), ("close_date", "CloseDate"), ("next_step", "NextStep"))
            if row.get(column)
        }
        data["notes"] = {"source": "salesforce", **notes}
        return data

    def account(self, row: tables.Row) -> dict[str, Any]:
        found = self.accounts.get(row.get("AccountId"))
        account: dict[str, Any] = {
            "name": (found.get("Name") if found else "")
            or row.get("AccountName")
            or row.get("AccountId")
            or row.get("Name")
        }
        if found and found.get("Industry"):
            account["industry"] = found.get("Industry")
        return account

    def days_in_stage(self, row: tables.Row, problems: list[Problem]) -> int | None:
        """Days since the opportunity entered its current stage, from the history file: the start
        of the last unbroken run of history rows in that stage. Unknown without history."""
        if self.history is None:
            return None
        entries = []
        for change in self.history.get(row.get("Id"), []):
            when = parse_date(change.get("CreatedDate"))
            if when is None:
                problems.append(change.problem("CreatedDate", f"{change.get('CreatedDate')!r} is not a date"))
                continue
            entries.append((when, change.line, change.get("StageName")))
        entered = None
        for when, _, stage in sorted(entries):
            if stage.casefold() != row.get("StageName").casefold():
                entered = None
            elif entered is None:
                entered = when
        return None if entered is None else max(0, (self.as_of - entered).days)

    def stakeholders(self, opportunity: str, problems: list[Problem]) -> list[dict[str, Any]]:
        people: dict[str, dict[str, Any]] = {}
        for link in self.roles.get(opportunity, []):
            contact_id = link.get("ContactId")
            contact = self.contacts.get(contact_id)
            if contact is None:
                problems.append(link.problem("ContactId", f"contact {contact_id!r} is not in the contacts file"))
                continue
            role = self.mapping.role(link.get("Role")) if link.get("Role") else NO_ROLE
            if role is None:
                problems.append(
                    link.problem(
                        "Role",
                        f"role {link.get('Role')!r} is not mapped; add it under `roles:` in a mapping file "
                        f"(known: {', '.join(self.mapping.roles)})",
                    )
                )
                continue
            person = people.get(contact_id) or self.person(contact, problems)
            people[contact_id] = person
            if role != NO_ROLE and role not in person.setdefault("roles", []):
                person["roles"].append(role)
        ordered = list(people.values())
        unique_names(ordered, list(people))
        return ordered

    def person(self, contact: tables.Row, problems: list[Problem]) -> dict[str, Any]:
        name = contact.get("FullName") or person_name(contact.get("FirstName"), contact.get("LastName"))
        if not name:
            problems.append(contact.problem("LastName", "the contact has no name"))
        person: dict[str, Any] = {"name": name or contact.get("Id")}
        if contact.get("Title"):
            person["title"] = contact.get("Title")
        days = days_since(contact, "LastActivityDate", self.as_of, problems)
        if days is not None:
            person["contacted"] = True
            person["days_since_contact"] = days
        problems += contact_fields(contact, self.mapping.contact_fields, self.vocabulary, person)
        return person
