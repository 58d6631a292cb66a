"""The deal as an HTML form, and the form's fields back as a deal.

The form is built from the deal schema (:func:`dealcoach.engine.deals.schema.fields`), as the
terminal intake is, so a field added to the deal model appears in the editor without anyone
remembering to. Each input is named by its field path as problems name it
(``stakeholders[2].attitude``), so a problem the validator finds is shown at its own input.

Reading the form back keeps whatever was typed: an empty input is an omitted field, a number that
does not parse is passed on as text for the validator to name, and nothing typed is dropped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dealcoach.engine.deals import schema as schema_mod
from dealcoach.engine.deals.schema import Field
from dealcoach.engine.deals.vocabulary import Lang, Vocabulary
from dealcoach.engine.problems import Path, Problem, format_path

NAME = re.compile(r"[A-Za-z_]\w*(?:\[\d{1,3}\]|\.[A-Za-z_]\w*)*", re.ASCII)  # no row beyond 999
TOKEN = re.compile(r"\[(\d+)\]|([A-Za-z_]\w*)", re.ASCII)
JSON_MARK = "__json__."  # hidden marker: this free-form field held structured data (shown as JSON)
SMALL_RANGE = 10  # an integer field with at most this many allowed values is a choice


def parse_name(name: str) -> Path | None:
    """``stakeholders[2].attitude`` -> ``("stakeholders", 2, "attitude")``; None for a name that is
    not a field path (a button, a marker)."""
    if not NAME.fullmatch(name):
        return None
    return tuple(int(index) if index else key for index, key in TOKEN.findall(name))


def field_at(fields: Iterable[Field], path: Path) -> Field | None:
    """The schema field a path names (list indices skipped), or None."""
    found: Field | None = None
    current = tuple(fields)
    for part in path:
        if isinstance(part, int):
            if found is None or found.kind != "records":
                return None
            continue
        found = next((f for f in current if f.name == part), None)
        if found is None:
            return None
        current = found.children
    return found


def read(pairs: Iterable[tuple[str, str]], fields: tuple[Field, ...]) -> dict[str, Any]:
    """The deal the form describes, from its (name, value) pairs in order. A row of a list is
    announced by an input named after the row alone (``stakeholders[2]``), so a row whose inputs
    are all empty is still there, for the validator to say what it lacks."""
    pairs = list(pairs)
    structured = {name.removeprefix(JSON_MARK) for name, _ in pairs if name.startswith(JSON_MARK)}
    deal: dict[str, Any] = {}
    for name, raw in pairs:
        path = parse_name(name)
        spec = field_at(fields, path) if path else None
        if path is None or spec is None:
            continue
        if spec.kind == "records":
            _make_room(deal, path)
            continue
        value = _value(spec, raw, structured=name in structured)
        if value is not _OMIT and spec.kind != "section":
            _place(deal, path, value, many=spec.kind == "enums")
    return deal


_OMIT = object()


def _value(spec: Field, raw: str, *, structured: bool) -> Any:
    text = raw.strip()
    if spec.kind == "free":
        if structured:
            try:
                return json.loads(text) if text else _OMIT
            except ValueError:
                return raw
        return raw if text else _OMIT
    if not text:
        return _OMIT
    if spec.kind == "boolean":
        return text == "true"
    if spec.kind == "tristate":
        return {"true": True, "false": False, "unknown": _OMIT}.get(text, text)
    if spec.kind == "integer":
        return int(text) if re.fullmatch(r"[+-]?\d{1,18}", text) else text
    if spec.kind == "number":
        return _number(text)
    return raw if spec.kind == "text" else text


def _number(text: str) -> Any:
    """A number as typed (``3000000``, ``3e6``, ``3,000,000``), whole numbers kept whole; text that
    is no number is returned as it is, for the validator to name."""
    cleaned = text.replace(",", "").replace("_", "")
    try:
        number = float(cleaned)
    except ValueError:
        return text
    if not math.isfinite(number) or len(cleaned) > 40:
        return text
    return int(number) if number.is_integer() and abs(number) < 1e15 else number


def _place(deal: dict[str, Any], path: Path, value: Any, *, many: bool) -> None:
    container: Any = _make_room(deal, path[:-1])
    key = path[-1]
    if isinstance(container, dict) and isinstance(key, str):
        if many:
            container.setdefault(key, []).append(value)
        else:
            container[key] = value


def _make_room(deal: dict[str, Any], path: Path) -> Any:
    """The dict at ``path``, creating sections and list rows on the way (rows in index order)."""
    current: Any = deal
    for position, part in enumerate(path):
        following = path[position + 1] if position + 1 < len(path) else None
        if isinstance(part, int):
            if not isinstance(current, list):
                return {}
            while len(current) <= part:
                current.append({})
            current = current[part]
        else:
            if not isinstance(current, dict):
                return {}
            current = current.setdefault(part, [] if isinstance(following, int) else {})
    return current


def add_row(deal: dict[str, Any], records: str) -> int:
    """Append an empty row to the list ``records``; its index."""
    rows = deal.setdefault(records, [])
    rows.append({})
    return len(rows) - 1


def remove_row(deal: dict[str, Any], records: str, index: int) -> None:
    rows = deal.get(records)
    if isinstance(rows, list) and 0 <= index < len(rows):
        del rows[index]


def prune(value: Any, fields: tuple[Field, ...]) -> Any:
    """The deal without the values that only repeat a default (every drop-down sends one), for a
    file as short as one written by hand; its meaning is the same."""
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    for key, item in value.items():
        spec = next((f for f in fields if f.name == key), None)
        if spec is None:
            kept[key] = item
        elif spec.kind == "records" and isinstance(item, list):
            kept[key] = [prune(row, spec.children) for row in item]
        elif spec.kind == "section":
            inner = prune(item, spec.children)
            if inner != {}:
                kept[key] = inner
        elif not (item == spec.default and (spec.default is not None or spec.kind != "free")):
            kept[key] = item
    return kept


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


class Labels:
    """The vocabulary's words for the form: field names and the choices of every enum."""

    def __init__(self, vocabulary: Vocabulary, lang: Lang, own: dict[str, tuple[str, str]]):
        self.vocabulary, self.lang, self.own = vocabulary, lang, own

    def field(self, spec: Field) -> str:
        """The vocabulary's name for the field; for a field it has none for (``notes``), the app's own."""
        label = schema_mod.field_label(self.vocabulary, spec.owner, spec.name)
        if label:
            return label(self.lang)
        zh, en = self.own.get(f"field_{spec.name}", (spec.name, spec.name.replace("_", " ")))
        return zh if self.lang == "zh" else en

    def choices(self, spec: Field, current: Any) -> list[Choice]:
        """The values of the field's enum with their labels; a value the vocabulary does not know
        (a typo in an opened file) is kept as a choice so that nothing typed is lost."""
        if spec.kind == "integer":
            low, high = int(spec.minimum or 0), int(spec.maximum or 0)
            return [Choice(str(n), str(n)) for n in range(low, high + 1)]
        enum = spec.enum or ""
        terms = self.vocabulary.enums.get(enum, {})
        found = [Choice(term_id, f"{term(self.lang)}") for term_id, term in terms.items()]
        for value in current if isinstance(current, list) else [current]:
            normal = None if value is None else self.selected(spec, value)
            if normal is not None and normal not in terms:
                found.append(Choice(normal, normal))
        if spec.kind == "enums" and isinstance(current, list):  # the chosen first, in their order:
            chosen = [self.selected(spec, value) for value in current]  # a browser posts in list order
            found.sort(key=lambda choice: chosen.index(choice.value) if choice.value in chosen else len(chosen))
        return found

    def selected(self, spec: Field, value: Any) -> str | None:
        """The choice a value stands for: ``怀疑`` is ``doubt``, True is ``true``; None for nothing."""
        if value is None:
            return "unknown" if spec.kind == "tristate" else None if spec.default is None else str(spec.default)
        if spec.kind == "integer":
            return str(value)
        term = self.vocabulary.normalise(spec.enum or "", value)
        return term if term is not None else str(value)


def is_choice(spec: Field) -> bool:
    """Whether the field is shown as a drop-down: an enum, or an integer with a few values."""
    if spec.kind in ("enum", "tristate"):
        return True
    return (
        spec.kind == "integer"
        and spec.minimum is not None
        and spec.maximum is not None
        and spec.maximum - spec.minimum < SMALL_RANGE
    )


def layout(fields: tuple[Field, ...], data: Any, prefix: Path = ()) -> list[Path]:
    """Every path the form shows for ``data``: fields, sections, lists and each of their rows."""
    found: list[Path] = []
    values = data if isinstance(data, dict) else {}
    for spec in fields:
        path = prefix + (spec.name,)
        found.append(path)
        if spec.kind == "section":
            found += layout(spec.children, values.get(spec.name), path)
        elif spec.kind == "records":
            for index, row in enumerate(rows(values.get(spec.name))):
                found.append(path + (index,))
                found += layout(spec.children, row, path + (index,))
    return found


def rows(value: Any) -> list[dict[str, Any]]:
    """The rows of a list as the form shows them (an entry that is no mapping is an empty row)."""
    return [row if isinstance(row, dict) else {} for row in value] if isinstance(value, list) else []


def place(problems: Iterable[Problem], paths: list[Path]) -> dict[str, list[str]]:
    """Each problem's message by the id of the input of its field, or of the nearest section or
    row the form shows (an unknown key in a row is shown at the row). Every problem is also listed
    in the advice panel, so one the form has no place for is still seen."""
    shown = {input_id(path) for path in paths}
    placed: dict[str, list[str]] = {}
    for problem in problems:
        path = parse_name(problem.path) if problem.path else None
        for end in range(len(path or ()), 0, -1):
            target = input_id((path or ())[:end])
            if target in shown:
                placed.setdefault(target, []).append(problem.message)
                break
    return placed


def input_id(path: Path) -> str:
    """An element id for a field path: ``stakeholders[2].attitude`` -> ``f-stakeholders-2-attitude``."""
    return "f-" + "-".join(str(part) for part in path)


def name_of(path: Path) -> str:
    return format_path(path)
