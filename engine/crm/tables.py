"""CSV exports as the CRM wrote them: a byte-order mark, CRLF, comma or semicolon, API names or a
report's header labels. Every row keeps its line number so that a problem names file, line and
column."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import Any

from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.yamlsource import read_text

MAX_BYTES = 200_000_000


def header_key(text: str) -> str:
    """A header compared loosely: ``Opportunity ID``, ``opportunity_id`` and ``OpportunityId`` are one."""
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]", "", text.lower())


@dataclass
class Row:
    file: str
    line: int
    values: dict[str, str]  # canonical column name -> cell, stripped
    columns: dict[str, int] = field(default_factory=dict)  # canonical column name -> 1-based column

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def problem(self, name: str, message: str) -> Problem:
        column = self.columns.get(name, 0)
        return Problem(self.file, self.line, column, name, message)


@dataclass
class Table:
    file: str
    rows: list[Row]
    present: set[str]


def read(
    path: str, aliases: dict[str, tuple[str, ...]], required: tuple[str, ...], extra: tuple[str, ...] = ()
) -> Table:
    """The rows of ``path``; ``aliases`` gives each canonical column the headers that name it,
    ``extra`` are further columns kept by their own header (custom fields of the mapping)."""
    text = read_text(path, max_bytes=MAX_BYTES)
    sample = text[:65536]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text.splitlines(keepends=True), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError([Problem(path, message="the file is empty; expected a header row")]) from None
    lookup = {header_key(alias): name for name, names in aliases.items() for alias in (name, *names)}
    lookup.update({header_key(name): name for name in extra})
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        name = lookup.get(header_key(title))
        if name and name not in columns:
            columns[name] = index
    missing = [name for name in required if name not in columns]
    if missing:
        expected = "; ".join(f"{name} (or {', '.join(aliases[name])})" for name in missing)
        raise InputError([Problem(path, 1, 0, message=f"missing column(s): {expected}")])
    rows = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            values = {name: cells[i].strip() if i < len(cells) else "" for name, i in columns.items()}
            rows.append(Row(path, reader.line_num, values, {name: i + 1 for name, i in columns.items()}))
    except csv.Error as err:
        raise InputError([Problem(path, reader.line_num, 0, message=f"broken CSV: {err}")]) from None
    return Table(path, rows, set(columns))
