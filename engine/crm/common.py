"""What both importers share: the result of an import, custom fields, names, and the last check."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dealcoach.engine.crm.cells import parse_amount, parse_date
from dealcoach.engine.crm.mapping import CONTACT_TARGETS, OPPORTUNITY_TARGETS, Mapping, convert
from dealcoach.engine.crm.tables import Row
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals.vocabulary import Vocabulary
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.yamlsource import Document


@dataclass
class Imported:
    """The open deals of an export (each a label, where it came from and its data) and every
    problem found; a deal with a problem is left out, the others are imported."""

    deals: list[tuple[str, Row, dict[str, Any]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    closed: int = 0

    def documents(self) -> list[tuple[str, Document]]:
        return [(label, Document(label, data)) for label, _, data in self.deals]

    def add(self, label: str, row: Row, data: dict[str, Any], problems: list[Problem], vocabulary: Vocabulary) -> None:
        """Keep the deal when neither the import nor the deal model found a problem in it; otherwise
        keep its problems (the model is asked only once the import itself found nothing)."""
        problems = problems or checked(label, row, data, vocabulary)
        if problems:
            self.problems += problems
        else:
            self.deals.append((label, row, data))


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


def custom_fields(
    row: Row, columns: dict[str, str], targets: dict[str, str], vocabulary: Vocabulary, into: dict[str, Any]
) -> list[Problem]:
    """The mapping's custom columns of ``row`` written into ``into``; an empty cell stays unknown."""
    problems = []
    for column, target in columns.items():
        raw = row.get(column)
        if not raw:
            continue
        value, why = convert(targets[target], raw, vocabulary)
        if why:
            problems.append(row.problem(column, f"{why} (mapped to {target})"))
        else:
            set_path(into, target, value)
    return problems


def opportunity_fields(
    row: Row, columns: dict[str, str], vocabulary: Vocabulary, into: dict[str, Any]
) -> list[Problem]:
    return custom_fields(row, columns, OPPORTUNITY_TARGETS, vocabulary, into)


def contact_fields(row: Row, columns: dict[str, str], vocabulary: Vocabulary, into: dict[str, Any]) -> list[Problem]:
    return custom_fields(row, columns, CONTACT_TARGETS, vocabulary, into)


_CJK = re.compile(r"^[\u3400-\u9fff]+$")


def person_name(first: str, last: str) -> str:
    """``张伟`` from 伟 and 张 (Chinese family name first, no space), ``Ann Lee`` otherwise."""
    if _CJK.match(first) and _CJK.match(last):
        return last + first
    return " ".join(part for part in (first, last) if part)


def unique_names(people: list[dict[str, Any]], ids: list[str]) -> None:
    """Two contacts with the same name get their CRM id after it: a deal's names must be unique."""
    seen: dict[str, int] = {}
    for person in people:
        seen[person["name"]] = seen.get(person["name"], 0) + 1
    for person, contact_id in zip(people, ids, strict=True):
        if seen[person["name"]] > 1:
            person["name"] = f"{person['name']} ({contact_id})"


def days_since(row: Row, column: str, as_of: date, problems: list[Problem]) -> int | None:
    raw = row.get(column)
    if not raw:
        return None
    when = parse_date(raw)
    if when is None:
        problems.append(row.problem(column, f"{raw!r} is not a date (YYYY-MM-DD, M/D/YYYY or D.M.YYYY)"))
        return None
    return max(0, (as_of - when).days)


def checked(label: str, row: Row, data: dict[str, Any], vocabulary: Vocabulary) -> list[Problem]:
    """The deal as dealcoach will read it: anything the model refuses is reported at the CRM row."""
    try:
        deal_mod.validate(Document(label, data), vocabulary)
    except InputError as err:
        return [Problem(row.file, row.line, 0, p.path, p.message) for p in err.problems]
    return []


def stage_and_value(row: Row, stage_column: str, mapping: Mapping, data: dict[str, Any]) -> list[Problem]:
    """The deal's stage (through the mapping) and its value into ``data``; a stage the mapping does
    not know or an amount that is not one is a problem at its cell."""
    problems = []
    stage = mapping.stage(row.get(stage_column))
    if stage is None:
        problems.append(
            row.problem(
                stage_column,
                f"stage {row.get(stage_column)!r} is not mapped; add it under `stages:` in a mapping file "
                f"(known: {', '.join(mapping.stages)})",
            )
        )
    else:
        data["stage"] = stage
    if row.get("Amount"):
        amount = parse_amount(row.get("Amount"))
        if amount is None or amount < 0:
            problems.append(row.problem("Amount", f"{row.get('Amount')!r} is not an amount"))
        else:
            data["value"] = amount
    return problems
