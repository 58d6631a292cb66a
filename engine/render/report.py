"""Rendering advice for people and programs: text for a terminal, Markdown, or JSON.

The text and Markdown layouts are Jinja templates in ``kb/templates`` (a company layer may
replace them); JSON follows the public output contract (``dealcoach.advice/1``) exactly, with the
deal-level ``assessment`` added next to ``advice`` as the contract allows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dealcoach.engine.advising.advice import CATEGORIES, SCHEMA_ID, Advice
from dealcoach.engine.advising.assessment import Assessment
from dealcoach.engine.batch.stream import Stream, piece
from dealcoach.engine.deals.deal import Deal
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.matching.runner import Outcome
from dealcoach.engine.playbook.kb import KnowledgeBase
from dealcoach.engine.problems import InputError, Problem, quote
from dealcoach.engine.render import templating
from dealcoach.engine.render.templating import layout_environment, markdown_text, terminal_safe, terminal_text

HEADLINE_COUNT = 3
WHY_NOT_SCHEMA_ID = "dealcoach.why-not/1"


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


def why_not_document(deal: Deal, outcome: Outcome, rule_id: str, explanation: list[str], lang: Lang) -> dict[str, Any]:
    """``--why-not`` for programs: whether the rule fired, and the explanation a person would read
    (one line each; lines indented by four spaces detail the line before)."""
    return {
        "schema": WHY_NOT_SCHEMA_ID,
        "deal": deal.name,
        "lang": lang,
        "rule": rule_id,
        "fired": any(firing.rule.id == rule_id for firing in outcome.firings),
        "explanation": explanation,
    }


def why_not_text(answer: dict[str, Any], fmt: str) -> str:
    """``--why-not`` for people: the deal's name, then the explanation; in Markdown a nested list,
    every line escaped."""
    if fmt != "markdown":
        return "\n".join(terminal_text(line) for line in [answer["deal"], *answer["explanation"]]) + "\n"
    lines = [f"**{markdown_text(answer['deal'])}**", ""]
    for line in answer["explanation"]:
        depth = (len(line) - len(line.lstrip())) // 2
        lines.append("  " * depth + "- " + markdown_text(line.strip()))
    return "\n".join(lines) + "\n"


def serialise(documents: list[tuple[str, dict[str, Any]]], fmt: str, *, several: bool) -> str:
    """JSON or JSON Lines for the advised deals, given as (file, document) pairs in order.

    The shape depends on what was asked, not on what was valid, so a script can rely on it: one
    file gives one object (the contract); several give an array whose elements each carry the
    ``file`` they came from. JSON Lines always gives one document per line with its ``file``.
    ``advise`` writes the same bytes deal by deal (:class:`~dealcoach.engine.batch.stream.Stream`).
    """
    out: list[str] = []
    stream = Stream(out.append, fmt, several=several)
    for file, doc in documents:
        stream.add(piece(file, doc, fmt, several=several))
    stream.close()
    return "".join(out)


def render(
    kb: KnowledgeBase,
    fmt: str,
    deal: Deal,
    advice: list[Advice],
    assessment: Assessment,
    lang: Lang,
    *,
    explain: bool = False,
    limit: int | None = None,
    width: int = 80,
    color: bool = False,
) -> str:
    """Text or Markdown for one deal: health first, the three most important steps, then the rest
    (up to ``limit`` in all) grouped by category, and how many more there are.

    The text layout wraps to ``width`` columns, never splitting a stakeholder's name, and colours
    priorities and headings when ``color`` is on. Whatever a layout prints is made safe for its
    format (see :func:`layout_environment`).
    """
    concepts = kb.concepts
    items = [
        dict(a.as_json(explain), concept_titles=[f"{c} {concepts[c].title(lang)}" for c in a.concepts])
        for a in advice[:limit]
    ]
    top, rest = items[:HEADLINE_COUNT], items[HEADLINE_COUNT:]
    groups = [(category, [a for a in rest if a["category"] == category]) for category in CATEGORIES]
    markdown = fmt == "markdown"
    safe = (lambda value: value) if markdown else terminal_safe
    name = "report.md.j2" if markdown else "report.text.j2"
    context = dict(
        lang=lang,
        deal=safe(deal.model_dump()),
        top=safe(top),
        groups=[(c, safe(members)) for c, members in groups if members],
        explain=explain,
        total=len(advice),
        hidden=len(advice) - len(items),
        assessment=safe(assessment.as_json()),
        width=width,
        color=color and not markdown,
        keep_whole=safe([person.name for person in deal.stakeholders]),
    )
    try:  # a company's layout can fail or run away on this deal: its problem, located, not a crash
        template = templating.load_template(layout_environment(kb.env, fmt), name)
        return templating.render(template, context, templating.MAX_REPORT_CHARS)
    except templating.TemplateRenderError as err:
        file, line = str(_layout_path(kb, name)), err.line
        message = f"the report layout failed on the deal {quote(deal.name)}: {err}"
        raise InputError([Problem(file, line, 1 if line else 0, message=message)]) from None


def _layout_path(kb: KnowledgeBase, name: str) -> Path:
    """The layout in use: the last layer that has one (layers are searched latest first)."""
    found = [layer / "templates" / name for layer in kb.layers if (layer / "templates" / name).is_file()]
    return found[-1] if found else Path(name)
