"""The pipeline board: every deal file in the served folder, reviewed as ``dealcoach review`` does.

Each deal is advised and assessed through :mod:`dealcoach.engine.review.run` (the same review
line, risk, red flags and top steps), and the board adds them up with the review's own
:class:`~dealcoach.engine.review.pipeline.Summary` (themes, stages, owners). Sorting and the
per-owner view are query parameters, so the page works without JavaScript and can be bookmarked.
A deal file with problems is listed with them; it never stops the board.

The review has no database of its own: its history is the files ``review --format json/jsonl``
writes. ``?since=NAME`` names one of them inside the served folder, and each deal shows what
moved since (as ``review --since`` marks it), matched by file name relative to the folder.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from dealcoach.engine import yamlsource
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.review import pipeline
from dealcoach.engine.review import render as review_render
from dealcoach.engine.review.pipeline import STEPS, Summary, order_key
from dealcoach.engine.review.run import review_one
from dealcoach.engine.web import files
from dealcoach.engine.web.app import Nav, Site, lang_of, render, site

router = APIRouter(include_in_schema=False)
NAV = Nav("/board", ("管道看板", "Pipeline"))
ORDERS = ("asc", "desc")
WORDS: dict[str, tuple[str, str]] = {
    "board_title": ("管道看板", "Pipeline board"),
    "board_sorted": ("排序", "Sort by"),
    "sort_risk": ("风险", "risk"),
    "sort_health": ("健康度", "health"),
    "sort_stage": ("阶段", "stage"),
    "sort_flags": ("危险信号数", "red flags"),
    "sort_asc": ("升序", "ascending"),
    "sort_desc": ("降序", "descending"),
    "board_order": ("顺序", "Order"),
    "board_sorted_by": ("项目（按{}，{}）", "Deals by {} ({})"),
    "board_apply": ("排序", "Sort"),
    "board_owner_view": ("{} 的项目", "Deals of {}"),
    "board_all_owners": ("显示所有负责人的项目", "Show every owner's deals"),
    "board_empty": ("这个文件夹里还没有有效的项目文件。", "There are no valid deal files in this folder."),
    "board_invalid": ("有问题的项目文件（{} 个，未列入看板）", "Deal files with problems ({}, left off the board)"),
    "board_edit": ("编辑", "Edit"),
    "board_file": ("文件", "File"),
    "board_since": ("与上次评审比较", "Compare with an earlier review"),
    "board_since_file": (
        "评审文件（在这个文件夹里运行 dealcoach review . --format jsonl --out 文件名 得到）",
        "Review file (made in this folder by dealcoach review . --format jsonl --out NAME)",
    ),
    "board_since_none": ("不比较", "no comparison"),
    "board_since_shown": ("与 {} 相比的变化", "What moved since {}"),
}
REVIEW_SUFFIXES = (".json", ".jsonl")  # what review --format json or jsonl writes
SORT_KEYS: dict[str, Callable[[dict[str, Any], list[str]], float]] = {
    "risk": lambda line, stages: line["risk"],
    "health": lambda line, stages: line["assessment"]["health"],
    "stage": lambda line, stages: _stage_rank(line["stage"], stages),
    "flags": lambda line, stages: len(line["assessment"]["red_flags"]),
}
DEFAULT_ORDER = {"risk": "desc", "health": "asc", "stage": "desc", "flags": "desc"}  # the most urgent first


@dataclasses.dataclass
class Invalid:
    """A deal file the board could not review, and why (one message per problem)."""

    file: str
    problems: list[str]


def _stage_rank(stage: str, stages: list[str]) -> int:
    return stages.index(stage) if stage in stages else len(stages)


@router.get("/board", response_class=HTMLResponse)
def board(
    request: Request, sort: str = "risk", order: str = "", owner: str | None = None, since: str = ""
) -> HTMLResponse:
    """The board, sorted by ``sort`` (risk, health, stage or flags) in ``order`` (asc, desc);
    ``owner`` shows one owner's deals (``owner=`` those without one); ``since`` names an earlier
    review in the folder to mark what moved."""
    if sort not in SORT_KEYS:
        raise HTTPException(400, f"sort must be one of {', '.join(SORT_KEYS)}, not {sort!r}")
    if order and order not in ORDERS:
        raise HTTPException(400, f"order must be asc or desc, not {order!r}")
    order = order or DEFAULT_ORDER[sort]
    shared = site(request)
    lang = lang_of(request)
    previous = earlier_review(shared.folder, since) if since else None
    lines, invalid = review_folder(shared, lang)
    for line in lines:
        line["movement"] = pipeline.movement(line, previous)
    shown = [line for line in lines if owner is None or (line["owner"] or "") == owner]
    summary = Summary()
    for line in shown:
        summary.add(line)
    vocabulary = shared.kb.vocabulary
    context = review_render.Context(vocabulary, lang, summary.as_json(vocabulary, lang), [], "")
    stages = shared.kb.vocabulary.ids("stage")
    sign = -1 if order == "desc" else 1
    shown.sort(key=lambda line: (sign * SORT_KEYS[sort](line, stages), order_key(line)))  # ties: the review's order
    return render(
        request,
        "board.html.j2",
        ctx=context,
        w={key: review_render.word(key, lang) for key in review_render.WORDS},
        stage_name=lambda stage: vocabulary.label("stage", stage, lang),
        lines=shown,
        invalid=invalid,
        sort=sort,
        order=order,
        owner=owner,
        since=since,
        reviews=[
            name
            for name in files.listing(shared.folder, suffixes=REVIEW_SUFFIXES)
            if files.is_review(shared.folder / name)
        ],
        sorts=list(SORT_KEYS),
        steps=STEPS,
        link=lambda **changes: board_link(
            {"sort": sort, "order": order, "owner": owner, "since": since or None, **changes}
        ),
        flip=lambda key: "asc" if key == sort and order == "desc" else "desc" if key == sort else DEFAULT_ORDER[key],
    )


def board_link(query: dict[str, str | None]) -> str:
    """The board's address for these settings (an owner of None: every owner)."""
    return "/board?" + urlencode({key: value for key, value in query.items() if value is not None})


def earlier_review(folder: Path, name: str) -> dict[str, dict[str, Any]]:
    """The deals of the review file ``name`` inside ``folder``, by file; 400 saying why for a
    name outside it, a missing file or one that is not a review."""
    try:
        path = files.existing(folder, name, suffixes=REVIEW_SUFFIXES)
        return pipeline.previous_review(yamlsource.read_text(str(path), regular=True))
    except files.RefusedError as err:
        raise HTTPException(400, f"since: {err}") from None
    except InputError as err:
        raise HTTPException(400, f"since: {name}: {err.problems[0].message}") from None
    except ValueError as err:
        raise HTTPException(400, f"since: {name}: {err}") from None


def review_folder(shared: Site, lang: str) -> tuple[list[dict[str, Any]], list[Invalid]]:
    """The review line of every valid deal file in the folder, and the files with problems."""
    lines, invalid = [], []
    for name in files.listing(shared.folder):
        path = shared.folder / name
        try:
            document = _document(path, name)
        except InputError as err:
            invalid.append(Invalid(name, [_relative(p, path, name) for p in err.problems]))
            continue
        with shared.lock:
            problems, text, _ = review_one(shared.kb, shared.advisor, (lang,), (name, document))  # type: ignore[arg-type]
        if problems:
            invalid.append(Invalid(name, [_relative(p, path, name) for p in problems]))
        else:
            lines.append(json.loads(text))
    return lines, invalid


def _document(path: Path, name: str) -> yamlsource.Document:
    """The file parsed, its problems naming it as the board does: relative to the folder."""
    return yamlsource.load(name, text=yamlsource.read_text(str(path), regular=True))


def _relative(problem: Problem, path: Path, name: str) -> str:
    return str(dataclasses.replace(problem, file=name) if problem.file == str(path) else problem)
