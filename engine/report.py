"""Rendering advice for people and programs: text for a terminal, Markdown, or JSON.

The text and Markdown layouts are Jinja templates in ``kb/templates`` (a company layer may
replace them); JSON follows the public output contract (``dealcoach.advice/1``) exactly, with the
deal-level ``assessment`` added next to ``advice`` as the contract allows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dealcoach.engine import templating
from dealcoach.engine.advice import CATEGORIES, SCHEMA_ID, Advice
from dealcoach.engine.assessment import Assessment
from dealcoach.engine.deal import Deal
from dealcoach.engine.kb import KnowledgeBase
from dealcoach.engine.problems import InputError, Problem, quote
from dealcoach.engine.vocabulary import Lang

FORMATS = ("text", "markdown", "json")
HEADLINE_COUNT = 3


def document(
    deal: Deal, advice: list[Advice], assessment: Assessment, lang: Lang, *, explain: bool = False
) -> dict[str, Any]:
    """The JSON document for one deal: the contract's keys, then the assessment."""
    return {
        "schema": SCHEMA_ID,
        "deal": deal.name,
        "lang": lang,
        "advice": [a.as_json(explain) for a in advice],
        "assessment": assessment.as_json(),
    }


def to_json(documents: list[dict[str, Any]]) -> str:
    """One deal: its document. Several: a JSON array of documents, in the order given."""
    payload: Any = documents[0] if len(documents) == 1 else documents
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def render(
    kb: KnowledgeBase,
    fmt: str,
    deal: Deal,
    advice: list[Advice],
    assessment: Assessment,
    lang: Lang,
    *,
    explain: bool = False,
) -> str:
    """Text or Markdown for one deal: health first, the three most important steps, then the rest
    grouped by category."""
    concepts = kb.concepts
    items = [
        dict(a.as_json(explain), concept_titles=[f"{c} {concepts[c].title(lang)}" for c in a.concepts]) for a in advice
    ]
    top, rest = items[:HEADLINE_COUNT], items[HEADLINE_COUNT:]
    groups = [(category, [a for a in rest if a["category"] == category]) for category in CATEGORIES]
    name = "report.md.j2" if fmt == "markdown" else "report.text.j2"
    context = {
        "lang": lang,
        "deal": deal.model_dump(),
        "top": top,
        "groups": [(c, members) for c, members in groups if members],
        "explain": explain,
        "total": len(items),
        "assessment": assessment.as_json(),
    }
    try:
        return templating.render(templating.load_template(kb.env, name), context, templating.MAX_REPORT_CHARS)
    except templating.TemplateRenderError as err:
        file, line = str(_layout_path(kb, name)), err.line
        message = f"the report layout failed on the deal {quote(deal.name)}: {err}"
        raise InputError([Problem(file, line, 1 if line else 0, message=message)]) from None


def _layout_path(kb: KnowledgeBase, name: str) -> Path:
    """The layout in use: the last layer that has one (layers are searched latest first)."""
    found = [layer / "templates" / name for layer in kb.layers if (layer / "templates" / name).is_file()]
    return found[-1] if found else Path(name)
