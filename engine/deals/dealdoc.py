"""The deal format in words: a deal file with a comment on every field, and the Markdown reference.

Both are generated from the deal schema (itself generated from the model) and the vocabulary, so
neither can drift from what dealcoach accepts: ``docs/deal-format.md`` is the output of
``dealcoach schema docs`` for the built-in playbook (a test fails when the committed file is stale),
and ``dealcoach deal new`` writes its deal file with :func:`commented`.

Labels come from the vocabulary, which a company layer may extend: everything taken from it is
escaped for Markdown, and written into YAML only as quoted or checked plain scalars.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import yaml

from dealcoach.engine.deals import schema as schema_mod
from dealcoach.engine.deals.schema import Field
from dealcoach.engine.deals.vocabulary import Lang, Vocabulary
from dealcoach.engine.playbook.kb import KnowledgeBase, scenarios_dir
from dealcoach.engine.render.templating import display_width

TEMPLATE = Path(__file__).resolve().parent / "templates" / "deal-format.md.j2"
REGENERATE = "dealcoach schema docs > docs/deal-format.md"
EXAMPLE = "new-logo-intent.yaml"
COMMENT_WIDTH = 100
MAX_LISTED = 12  # longer lists of values (the concept ids) are summarised in the output table

# Version 1 of the public contract (the deal format as first published). Fields outside it are
# dealcoach's optional extensions; none may be required, and none of these may go away.
CONTRACT_V1 = frozenset(
    {
        "name", "account", "stage", "value", "currency", "solution_fit", "budget", "decision", "position",
        "competitors", "info", "needs", "stakeholders", "rep", "signals", "notes", "extra",
        "account.name", "account.tier", "account.industry", "account.procurement", "account.purchase_pattern",
        "account.financial_health", "account.phase", "account.loyalty", "account.satisfaction",
        "account.months_since_last_order", "account.restricted",
        "budget.status", "budget.amount", "budget.funding",
        "decision.process_known", "decision.timeframe_known", "decision.criteria_known",
        "competitors[].name", "competitors[].strength", "competitors[].incumbent",
        "info.steps", "info.buying_process", "info.organization", "info.decision_structure", "info.finances",
        "info.rationale", "info.resources", "info.competitors", "info.success_factors",
        "needs[].text", "needs[].kind", "needs[].owner",
        "stakeholders[].name", "stakeholders[].title", "stakeholders[].roles", "stakeholders[].attitude",
        "stakeholders[].style", "stakeholders[].influence", "stakeholders[].contacted",
        "stakeholders[].org_need_met", "stakeholders[].personal_need_met", "stakeholders[].reports_to",
        "stakeholders[].favors",
        "rep.style",
    }
)  # fmt: skip

# The base signals version 1 of the contract fixes: these ids must always exist.
CONTRACT_V1_SIGNALS = (
    "price_objection", "competitor_quote", "concession_requested", "complaint", "orders_declining",
    "contact_left", "crisis", "multiple_reps", "tender", "no_next_step",
)  # fmt: skip

_WORDS: dict[str, tuple[str, str]] = {
    "required": ("必填", "required"),
    "default": ("默认", "default"),
    "any of": ("可多选", "any of"),
    "text": ("文本", "text"),
    "number": ("数字", "number"),
    "integer": ("整数", "integer"),
    "free": ("任意内容", "free-form"),
    "unread": ("内置规则不读取", "not read by the built-in playbook"),
}


def word(key: str, lang: Lang) -> str:
    zh, en = _WORDS[key]
    return zh if lang == "zh" else en


def paths(fields: tuple[Field, ...], prefix: str = "") -> Iterator[tuple[str, Field]]:
    """``(path, field)`` for every field, depth first: ``stakeholders[].roles``."""
    for field in fields:
        path = f"{prefix}{field.name}"
        yield path, field
        yield from paths(field.children, f"{path}[]." if field.kind == "records" else f"{path}.")


def values(vocabulary: Vocabulary, enum: str) -> str:
    """``accept 接受 | doubt 怀疑 | ...``: each id with its Chinese label."""
    return " | ".join(f"{term_id} {spec.zh}" for term_id, spec in vocabulary.enums[enum].items())


def allowed(field: Field, vocabulary: Vocabulary, lang: Lang) -> str:
    """What a field accepts, in a few words."""
    if field.kind in ("enum", "tristate"):
        return values(vocabulary, field.enum or "")
    if field.kind == "enums":
        return f"{word('any of', lang)}: {values(vocabulary, field.enum or '')}"
    if field.kind in ("number", "integer"):
        return f"{word(field.kind, lang)}{_range(field)}"
    if field.kind == "boolean":
        return "true | false"
    return word(field.kind, lang) if field.kind in _WORDS else ""


def _range(field: Field) -> str:
    low, high = (_number(field.minimum), _number(field.maximum))
    if low is not None and high is not None:
        return f" {low}-{high}"
    return f" ≥ {low}" if low is not None else ""


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def label(field: Field, vocabulary: Vocabulary, lang: Lang) -> str:
    """The vocabulary's name for the field; a free-form field without one says what it is for."""
    found = schema_mod.field_label(vocabulary, field.owner, field.name)
    if found:
        return found(lang)
    if field.kind == "free":
        return f"{field.name} ({word('free', lang)}, {word('unread', lang)})"
    return field.name


def explanation(field: Field, vocabulary: Vocabulary, lang: Lang) -> str:
    """The comment on a field: its label, whether it is required, what it accepts, its default."""
    text = label(field, vocabulary, lang)
    if field.required:
        text += f" ({word('required', lang)})"
    what = allowed(field, vocabulary, lang)
    if what and field.kind not in ("section", "records"):
        text += f": {what}"
    shown = default_text(field)
    if shown:
        text += f"; {word('default', lang)} {shown}"
    return text


def default_text(field: Field) -> str:
    """The default as a user would write it, or "" when there is nothing worth saying."""
    if field.required or field.kind in ("section", "records", "free", "enums"):
        return ""
    if field.default is None:
        return "unknown" if field.kind == "tristate" else ""
    return scalar(field.default)


# ---------------------------------------------------------------- the commented deal file


def comment(text: str, pad: str) -> list[str]:
    """``text`` as YAML comment lines of at most COMMENT_WIDTH columns, broken only at spaces so
    that a Chinese label is never split."""
    lines = [f"{pad}#"]
    for token in text.split():
        if display_width(lines[-1]) + 1 + display_width(token) > COMMENT_WIDTH and lines[-1].strip() != "#":
            lines.append(f"{pad}#  ")
        lines[-1] += f" {token}"
    return lines


def scalar(value: Any) -> str:
    """A YAML scalar (or flow list) that reads back as ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, str) and _plain(value):
        return value
    return json.dumps(value, ensure_ascii=False)  # JSON is YAML: a double-quoted string or a flow collection


def _float(value: float) -> str:
    """A float PyYAML (YAML 1.1) reads back as the same float: whole numbers without a fraction,
    and an exponent only after a decimal point (``1e-07`` would read as text)."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if exponent and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


def _plain(text: str) -> bool:
    """Whether ``text`` can be written unquoted, both as a value and inside a flow list."""
    if not text or text != text.strip() or "\n" in text or "#" in text or '"' in text:
        return False
    try:
        return yaml.safe_load(f"k: {text}") == {"k": text} and yaml.safe_load(f"k: [{text}]") == {"k": [text]}
    except yaml.YAMLError:
        return False


def commented(
    data: dict[str, Any], fields: tuple[Field, ...], vocabulary: Vocabulary, lang: Lang, header: list[str]
) -> str:
    """``data`` as YAML, each field under a comment saying what it is and what it accepts.

    Keys come in the model's order; records after the first of a list are not commented again.
    """
    lines = [f"# {line}" if line else "#" for line in header]
    _write(data, fields, vocabulary, lang, "", lines, explain=True)
    return "\n".join(lines) + "\n"


def _write(
    data: dict[str, Any],
    fields: tuple[Field, ...],
    vocabulary: Vocabulary,
    lang: Lang,
    pad: str,
    lines: list[str],
    *,
    explain: bool,
) -> None:
    for field in fields:
        if field.name not in data:
            continue
        value = data[field.name]
        if explain:
            lines += comment(explanation(field, vocabulary, lang), pad)
        if field.kind == "section" and isinstance(value, dict):
            lines.append(f"{pad}{field.name}:")
            _write(value, field.children, vocabulary, lang, pad + "  ", lines, explain=explain)
        elif field.kind == "records" and value:
            lines.append(f"{pad}{field.name}:")
            for number, item in enumerate(value):
                lines += _record(item, field.children, vocabulary, lang, pad + "  ", explain=explain and number == 0)
        else:
            lines += _scalar_lines(field.name, value, pad)


def _scalar_lines(key: str, value: Any, pad: str) -> list[str]:
    """``key: value``; a text of several lines as a literal block, which reads as written."""
    if isinstance(value, str) and "\n" in value.rstrip("\n") and not any(c in value for c in "\r\t"):
        chomp = "" if value.endswith("\n") and not value.endswith("\n\n") else "-" if not value.endswith("\n") else "+"
        block = [f"{key}: |{chomp}"] + [f"  {line}" if line else "" for line in value.removesuffix("\n").split("\n")]
        if yaml.safe_load("\n".join(block) + "\n") == {key: value}:
            return [f"{pad}{line}" if line else "" for line in block]
    return [f"{pad}{key}: {scalar(value)}"]


def _record(
    item: dict[str, Any], fields: tuple[Field, ...], vocabulary: Vocabulary, lang: Lang, pad: str, *, explain: bool
) -> list[str]:
    """One list item: ``- `` before its first key, the rest indented under it."""
    body: list[str] = []
    _write(item, fields, vocabulary, lang, "", body, explain=explain)
    text = "\n".join(body).splitlines()
    first = next(i for i, line in enumerate(text) if not line.startswith("#"))
    return (
        [f"{pad}{line}" for line in text[:first]]
        + [f"{pad}- {text[first]}"]
        + [f"{pad}  {line}" for line in text[first + 1 :]]
    )


# ---------------------------------------------------------------- the Markdown reference

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md(text: object) -> str:
    """Text from the vocabulary, escaped so Markdown shows it as written (and never as HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("&", "&amp;")


def code(text: object) -> str:
    text = str(text)
    return md(text) if "`" in text or "|" in text else f"`{text}`"


def fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``, which therefore cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def field_rows(fields: tuple[Field, ...], vocabulary: Vocabulary) -> list[dict[str, str]]:
    rows = []
    for path, field in paths(fields):
        kind = {"section": "section", "records": "list of records", "free": "anything (free-form)"}.get(field.kind)
        if field.kind in ("enum", "tristate"):
            kind = f"one of [`{field.enum}`](#{field.enum})"
        elif field.kind == "enums":
            kind = f"list of [`{field.enum}`](#{field.enum})"
        rows.append(
            {
                "path": code(path),
                "type": kind or md(allowed(field, vocabulary, "en")),
                "default": "required" if field.required else md(default_text(field)),
                "meaning": f"{md(label(field, vocabulary, 'en'))} / {md(label(field, vocabulary, 'zh'))}",
                "origin": "contract v1" if path in CONTRACT_V1 else "**extension** (optional)",
            }
        )
    return rows


def enum_tables(fields: tuple[Field, ...], vocabulary: Vocabulary) -> list[dict[str, Any]]:
    """One table per enum the deal file uses, in the order the fields first use them."""
    used = dict.fromkeys(f.enum for _, f in paths(fields) if f.enum)
    return [
        {
            "name": enum,
            "rows": [
                {
                    "id": code(term_id),
                    "zh": md(spec.zh),
                    "en": md(spec.en),
                    "aliases": ", ".join(md(a) for a in spec.aliases),
                }
                for term_id, spec in vocabulary.enums[enum].items()
            ],
        }
        for enum in used
        if enum
    ]


def advice_rows(advice_schema: dict[str, Any]) -> list[dict[str, str]]:
    """``(path, type, meaning)`` for every key of an advice document, from the advice schema."""
    definitions = advice_schema["$defs"]
    rows: list[dict[str, str]] = []

    def visit(node: dict[str, Any], prefix: str) -> None:
        for name, prop in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            target = prop.get("$ref") or prop.get("items", {}).get("$ref")
            inner = definitions[target.rsplit("/", 1)[-1]] if target else prop.get("items", prop)
            required = name in node.get("required", ())
            rows.append(
                {
                    "path": code(path),
                    "type": _json_type(prop, inner),
                    "meaning": md(prop.get("description", "")) + ("" if required else " (not always present)"),
                }
            )
            if inner.get("type") == "object":
                visit(inner, f"{path}[]." if prop.get("type") == "array" else f"{path}.")

    visit(definitions["document"], "")
    return rows


def _json_type(prop: dict[str, Any], inner: dict[str, Any]) -> str:
    """The type of an advice key in Markdown: values as code, a long list of ids summarised."""
    if "const" in prop:
        return code(json.dumps(prop["const"]))
    array = prop.get("type") == "array"
    single = inner if array else prop
    if "enum" in single:
        listed = single["enum"]
        kind = " \\| ".join(map(code, listed)) if len(listed) <= MAX_LISTED else f"id ({len(listed)} known)"
    else:
        kind = single.get("type", "object")
        kind = " or ".join(kind) if isinstance(kind, list) else kind
    return f"list of {kind}" if array else kind


def reference(knowledge: KnowledgeBase) -> str:
    """The deal-format reference in Markdown (``docs/deal-format.md``) for ``knowledge``'s vocabulary."""
    vocabulary = knowledge.vocabulary
    deal_schema = schema_mod.deal_schema(vocabulary)
    fields = schema_mod.fields(deal_schema)
    example = yaml.safe_load((scenarios_dir() / EXAMPLE).read_text(encoding="utf-8"))
    header = [f"scenarios/{EXAMPLE}, written out by the same code as `dealcoach deal new`"]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # our own template; every value from the vocabulary is escaped by md()
    )
    example_text = commented(example, fields, vocabulary, "en", header)
    return environment.get_template(TEMPLATE.name).render(
        regenerate=REGENERATE,
        example=example_text,
        fence=fence(example_text),
        fields=field_rows(fields, vocabulary),
        enums=enum_tables(fields, vocabulary),
        base_signals=", ".join(map(code, CONTRACT_V1_SIGNALS)),
        added_signals=", ".join(code(s) for s in vocabulary.ids("signal") if s not in CONTRACT_V1_SIGNALS) or "none",
        advice=advice_rows(schema_mod.advice_schema(vocabulary, list(knowledge.concepts))),
    )
