"""The deals page: the deal files in the served folder, and the deal editor.

The editor is one HTML form (:mod:`dealcoach.engine.web.form`) that works without JavaScript:
its buttons save the deal, add a row or remove one, and the server answers with the page again,
everything typed still in it. With htmx (vendored) the advice panel is refreshed as the rep
types: the form is posted to ``/deals/preview``, which answers with the panel and, out of band,
the message under every input (empty where the input is fine).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from dealcoach.engine.deals.intake import NAMED_FROM
from dealcoach.engine.problems import InputError
from dealcoach.engine.web import coach, files, form
from dealcoach.engine.web.app import Nav, lang_of, render, site
from dealcoach.engine.yamlsource import load

router = APIRouter(include_in_schema=False)
NAV = Nav("/deals", ("项目", "Deals"))
MAX_FIELDS = 20_000  # inputs in one post: 200 stakeholders of 13 fields, with room
WORDS: dict[str, tuple[str, str]] = {
    "deals_title": ("项目文件", "Deal files"),
    "deals_none": ("这个文件夹里还没有项目文件。", "There are no deal files in this folder yet."),
    "deals_in": ("{} 中的项目文件", "Deal files in {}"),
    "new_deal": ("新建项目", "New deal"),
    "download": ("下载", "Download"),
    "file": ("文件名（在所服务的文件夹内）", "File name (inside the served folder)"),
    "save": ("保存", "Save"),
    "saved": ("已保存到 {}。", "Saved to {}."),
    "not_saved": ("没有保存：先改正标出的 {} 处问题。", "Not saved: first fix the {} problem(s) marked."),
    "exists": (
        "{} 已经存在；换一个文件名，或打开那个文件再编辑。",
        "{} already exists; choose another name, or open that file to edit it.",
    ),
    "add": ("添加{}", "Add a {}"),
    "remove": ("删除", "Remove"),
    "remove_row": ("删除第 {} 行", "Remove row {}"),
    "row": ("第 {} 行", "Row {}"),
    "the_deal": ("项目", "The deal"),
    "advice": ("建议", "Advice"),
    "updating": ("更新中…", "updating…"),
    "problems": ("这个项目有 {} 处问题，改正后才能给出建议：", "Fix these {} problem(s) to get advice:"),
    "health": ("健康度", "Health"),
    "criteria": ("五项标准", "Criteria"),
    "focus": ("本阶段关键角色", "Roles that matter now"),
    "met": ("（已接触）", " (met)"),
    "nobody_met": ("（无人接触）", " (nobody met)"),
    "colon": ("：", ": "),
    "comma": ("、", ", "),
    "semicolon": ("；", "; "),
    "red_flags": ("危险信号", "Red flags"),
    "deductions": ("扣分明细", "Points taken off"),
    "steps": ("下一步（{} 条，最重要的在前）", "Next steps ({}, most important first)"),
    "no_advice": (
        "没有规则适用于这个项目。补充干系人、预算和信息点后再看。",
        "No playbook rule applies to this deal yet. Add stakeholders, the budget and information points.",
    ),
    "who": ("涉及", "Who"),
    "why": ("原因", "Why"),
    "playbook": ("依据", "Playbook"),
    "chain": ("推理链", "Reasoning chain"),
    "why_not": ("为什么没有这条建议？", "Why not this rule?"),
    "why_not_rule": ("没有触发的规则", "A rule that gave no advice"),
    "ask": ("查看原因", "Explain"),
    "more": ("备注与其他", "Notes and more"),
    "field_notes": ("备注", "notes"),
    "field_extra": ("其他数据（JSON）", "extra data (JSON)"),
    "none_chosen": ("—", "—"),
    "plain": ("{}", "{}"),
}


async def _posted(request: Request) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The deal's inputs in order, and the editor's own controls (names starting with ``_``). Read
    here, in the event loop, so that the route itself (the engine's work) runs in a worker thread."""
    posted = await request.form(max_fields=MAX_FIELDS, max_files=0)
    pairs = [(name, value) for name, value in posted.multi_items() if not isinstance(value, UploadFile)]
    controls = {name: value for name, value in pairs if name.startswith("_")}
    return pairs, controls


Posted = Annotated[tuple[list[tuple[str, str]], dict[str, str]], Depends(_posted)]


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/deals", status_code=303)


@router.get("/deals", response_class=HTMLResponse)
def deal_list(request: Request) -> HTMLResponse:
    return render(request, "deals.html.j2", names=files.listing(site(request).folder))


@router.get("/deals/new", response_class=HTMLResponse)
def new_deal(request: Request) -> HTMLResponse:
    return editor(request, {"stakeholders": [{}]}, file="", opened="")


@router.get("/deals/edit", response_class=HTMLResponse)
def open_deal(request: Request, file: str = "") -> HTMLResponse:
    """The editor on a deal file of the folder; a file that is not even YAML is shown as an error
    (the editor could not show what it holds, and must not overwrite it with nothing)."""
    shared = site(request)
    try:
        path = files.existing(shared.folder, file)
        document = load(str(path))
    except files.RefusedError as err:
        return render(request, "error.html.j2", status_code=404, status=404, message=str(err))
    except InputError as err:
        message = "; ".join(str(problem).replace(str(shared.folder) + "/", "") for problem in err.problems)
        return render(request, "error.html.j2", status_code=422, status=422, message=message)
    if not isinstance(document.data, dict):
        message = f"{file}: a deal file must be a mapping with keys such as name, account, stakeholders"
        return render(request, "error.html.j2", status_code=422, status=422, message=message)
    return editor(request, document.data, file=file, opened=file)


@router.get("/deals/download")
def download(request: Request, file: str = "") -> Response:
    shared = site(request)
    try:
        path = files.existing(shared.folder, file)
    except files.RefusedError as err:
        return render(request, "error.html.j2", status_code=404, status=404, message=str(err))
    kind = "application/json" if path.suffix == ".json" else "application/yaml"
    return FileResponse(path, media_type=kind, filename=path.name)


@router.post("/deals/edit", response_class=HTMLResponse)
def edit(request: Request, posted: Posted) -> HTMLResponse:
    """A button of the editor: save, add a row or remove one; the editor again, as typed."""
    pairs, controls = posted
    data = form.read(pairs, site(request).fields)
    action, _, argument = controls.get("_op", "save").partition(":")
    file, opened = controls.get("_file", "").strip(), controls.get("_opened", "")
    records = {spec.name: spec for spec in site(request).fields if spec.kind == "records"}
    if action == "add" and argument in records:
        index = form.add_row(data, argument)
        first = records[argument].children[0].name
        return editor(request, data, file=file, opened=opened, focus=form.input_id((argument, index, first)))
    if action == "remove":
        name, _, index = argument.partition(":")
        if name in records and index.isdigit():
            form.remove_row(data, name, int(index))
        return editor(request, data, file=file, opened=opened)
    return save(request, data, file, opened)


def save(request: Request, data: dict[str, Any], file: str, opened: str) -> HTMLResponse:
    """Write the deal to ``file`` (YAML, or JSON for a .json name) when it is valid and the name is
    allowed; otherwise the editor with the problems at their fields, nothing written."""
    shared = site(request)
    evaluation = coach.evaluate(shared, data, lang_of(request))
    if evaluation.problems:
        alert = ("not_saved", len(evaluation.problems))
        return editor(request, data, file=file, opened=opened, evaluation=evaluation, alert=alert)
    try:
        path = files.writable(shared.folder, file)
    except files.RefusedError as err:
        return editor(request, data, file=file, opened=opened, evaluation=evaluation, file_error=("plain", str(err)))
    if path.exists() and file != opened:
        return editor(request, data, file=file, opened=opened, evaluation=evaluation, file_error=("exists", file))
    files.write(path, serialise(form.prune(data, shared.fields), json_file=path.suffix.lower() == ".json"))
    response = editor(request, data, file=file, opened=file, evaluation=evaluation, notice=("saved", file))
    response.headers["HX-Push-Url"] = f"/deals/edit?file={quote(file)}"
    return response


def serialise(data: dict[str, Any], *, json_file: bool) -> str:
    if json_file:
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


@router.post("/deals/preview", response_class=HTMLResponse)
def preview(request: Request, posted: Posted) -> HTMLResponse:
    """The advice panel for the deal as typed, and each input's message, out of band."""
    pairs, _ = posted
    shared = site(request)
    data = form.read(pairs, shared.fields)
    evaluation = coach.evaluate(shared, data, lang_of(request))
    paths = form.layout(shared.fields, data)
    return render(
        request,
        "preview.html.j2",
        evaluation=evaluation,
        errors=form.place(evaluation.problems, paths),
        ids=[form.input_id(path) for path in paths],
        **_advice_words(request),
    )


@router.post("/deals/whynot", response_class=HTMLResponse)
def why_not(request: Request, posted: Posted) -> HTMLResponse:
    """Why a rule gave no advice on the deal as typed."""
    pairs, controls = posted
    shared = site(request)
    rule_id = controls.get("_rule", "")
    if rule_id not in shared.kb.rule_by_id:
        return render(request, "whynot.html.j2", lines=[], problem=f"no rule with id {rule_id!r}")
    try:
        lines = coach.why_not(shared, form.read(pairs, shared.fields), rule_id, lang_of(request))
    except InputError as err:
        return render(request, "whynot.html.j2", lines=[], problem="; ".join(p.message for p in err.problems[:3]))
    return render(request, "whynot.html.j2", lines=lines, problem="")


def editor(
    request: Request,
    data: dict[str, Any],
    *,
    file: str,
    opened: str,
    evaluation: coach.Evaluation | None = None,
    notice: tuple[Any, ...] | None = None,
    alert: tuple[Any, ...] | None = None,
    file_error: tuple[Any, ...] | None = None,
    focus: str = "",
) -> HTMLResponse:
    shared = site(request)
    lang = lang_of(request)
    evaluation = evaluation or coach.evaluate(shared, data, lang)
    paths = form.layout(shared.fields, data)
    names = {
        "stakeholders": _names(data.get("stakeholders"), "name"),
        "competitors": _names(data.get("competitors"), "name"),
    }
    return render(
        request,
        "editor.html.j2",
        data=data,
        fields=shared.fields,
        labels=form.Labels(shared.kb.vocabulary, lang, shared.words),
        form=form,
        named_from=NAMED_FROM,
        names=names,
        file=file,
        opened=opened,
        evaluation=evaluation,
        errors=form.place(evaluation.problems, paths),
        notice=notice,
        alert=alert,
        file_error=file_error,
        focus=focus,
        **_advice_words(request),
    )


def _advice_words(request: Request) -> dict[str, Any]:
    """What the advice panel needs to name things: the vocabulary's labels and concept titles."""
    shared = site(request)
    lang = lang_of(request)
    return {
        "label": lambda enum, value: shared.kb.vocabulary.label(enum, value, lang),
        "form_id": lambda path: form.input_id(form.parse_name(path) or ()),
        "concept": lambda concept_id: (
            shared.kb.concepts[concept_id].title(lang) if concept_id in shared.kb.concepts else concept_id
        ),
    }


def _names(rows: Any, key: str) -> list[str]:
    return list(dict.fromkeys(str(row[key]) for row in form.rows(rows) if row.get(key)))
