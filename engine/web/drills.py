"""Drills in the browser: the terminal's drills, sessions and SQLite store, played with buttons.

A page never holds a session open. Every request rebuilds the session from the store (as
``drill run --resume`` does), claims it, answers at most one step and releases it, so a session
started here can be resumed in a terminal and the other way round, and a session that a
terminal has open is refused here with the terminal's own message. The store is the one
``dealcoach drill run`` uses (``DEALCOACH_DB``, else ``drills.sqlite3`` in the data folder).

Each answer carries the step it answers: a second window (or a terminal) that answered first
makes it stale, and it is refused rather than stored as the answer to the next step.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from dealcoach.engine import yamlsource
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.drills import coaching, drillgen, drillreport, drillsession, storage
from dealcoach.engine.drills import drill as drill_mod
from dealcoach.engine.drills.drillsession import Play
from dealcoach.engine.playbook.kb import scenarios_dir
from dealcoach.engine.problems import InputError
from dealcoach.engine.web import files
from dealcoach.engine.web.app import Nav, Site, lang_of, render, site

router = APIRouter(include_in_schema=False)
NAV = Nav("/drills", ("演练", "Drills"))
MAX_TRAINEE = 80  # characters in a trainee's name
MAX_FIELDS = 100  # inputs in one post: a step's choices, with room
WORDS: dict[str, tuple[str, str]] = {
    "drills_title": ("演练", "Drills"),
    "drills_intro": (
        "和终端里的 dealcoach drill run 是同一套演练、同一个记录库："
        "在这里开始的演练可以在终端用 --resume 继续，反之亦然。",
        "The same drills and the same record as dealcoach drill run in a terminal: a drill started here "
        "can be continued there with --resume, and the other way round.",
    ),
    "trainee": ("学员姓名", "Trainee"),
    "trainee_show": ("查看记录", "Show their sessions"),
    "drill_steps": ("{} 步，约 {} 分钟", "{} steps, about {} min"),
    "drill_concepts": ("要点：{}", "Concepts: {}"),
    "trainee_is": ("学员：{}", "Trainee: {}"),
    "drill_start": ("开始：{}", "Start: {}"),
    "drill_broken": ("这个演练无法加载", "This drill cannot be loaded"),
    "sessions_of": ("{} 的演练", "Sessions of {}"),
    "sessions_none": ("{} 还没有演练记录。", "{} has not played a drill yet."),
    "unfinished": ("未完成", "unfinished"),
    "finished": ("已完成", "finished"),
    "resume": ("继续", "Continue"),
    "see_debrief": ("查看复盘", "See the debrief"),
    "report": ("学员报告", "Trainee report"),
    "session": ("第 {} 号演练", "Session {}"),
    "started": ("开始于 {}", "started {}"),
    "step_of": ("第 {} 步", "Step {}"),
    "answer": ("提交答案", "Answer"),
    "choose_one": ("选一项。", "Choose one."),
    "choose_any": ("选出所有适用的项；都不适用就什么也不选。", "Tick every one that applies; tick none if none does."),
    "score": ("得分", "Score"),
    "consequence": ("后果", "Consequence"),
    "so_far": ("到目前为止", "So far"),
    "total": ("合计 {}/{}", "Total {}/{}"),
    "last_answer": ("你上一步的结果", "Your last answer"),
    "debrief": ("复盘", "Debrief"),
    "debrief_score": ("总分 {}/{}（{}%）", "Score {}/{} ({}%)"),
    "certified": ("合格（及格线 {}%）", "Certified (pass mark {}%)"),
    "not_certified": ("尚未合格（及格线 {}%）", "Not yet certified (pass mark {}%)"),
    "by_concept": ("各要点得分", "By concept"),
    "costly": ("失分最多的几步", "The moves that cost most"),
    "study_plan": ("学习计划", "Study plan"),
    "practise": ("练习：{}", "Practise: {}"),
    "all_drills": ("所有演练", "All drills"),
    "from_deal_title": ("用自己的项目练习", "Practise on a live deal"),
    "from_deal_intro": (
        "从这个文件夹里的项目文件生成一次演练（和 dealcoach drill run --from-deal 相同）："
        "先认清客户那边每个人的角色，再从几个看似合理的做法里选出下一步。",
        "A drill made from a deal file in this folder (as dealcoach drill run --from-deal makes it): "
        "name each person's part in the buying decision, then pick the next moves among plausible ones.",
    ),
    "from_deal_file": ("项目文件", "Deal file"),
    "from_deal_start": ("开始练习", "Start the practice"),
    "from_deal_none": ("这个文件夹里还没有项目文件。", "There are no deal files in this folder yet."),
}


@contextmanager
def opened_store() -> Iterator[storage.Store]:
    """The drill database ``drill run`` uses; a database that cannot be used is a 503 saying why."""
    try:
        store = storage.Store(storage.default_path())
    except storage.StorageError as err:
        raise HTTPException(503, str(err)) from None
    try:
        yield store
    except storage.SessionBusyError as err:
        raise HTTPException(409, str(err)) from None
    except storage.StorageError as err:
        raise HTTPException(503, str(err)) from None
    except InputError as err:  # a company layer's template failed on the drill's deal
        raise HTTPException(422, "; ".join(str(p) for p in err.problems[:3])) from None
    finally:
        store.close()


def trainee_name(raw: str | None) -> str:
    """A trainee's name as typed, trimmed; 400 for one that is empty, too long or has control characters."""
    name = (raw or "").strip()
    if not name:
        raise HTTPException(400, "give the trainee's name")
    if len(name) > MAX_TRAINEE or any(unicodedata.category(ch) == "Cc" for ch in name):
        raise HTTPException(400, f"a trainee's name is one line of at most {MAX_TRAINEE} characters")
    return name


@router.get("/drills", response_class=HTMLResponse)
def drill_list(request: Request, trainee: str = "") -> HTMLResponse:
    """Every bundled drill with a button to start it, and the trainee's sessions and report."""
    shared = site(request)
    lang = lang_of(request)
    drills: list[tuple[str, drill_mod.Drill | None, str]] = []
    for name, path in drillsession.bundled().items():
        try:
            drills.append((name, drill_mod.load(path, shared.kb), ""))
        except InputError as err:  # a company layer the drill does not fit: say so, list the rest
            drills.append((name, None, "; ".join(str(p) for p in err.problems[:3])))
    sessions: list[storage.Session] = []
    report = ""
    name = trainee.strip()
    if name:
        name = trainee_name(name)
        with opened_store() as store:
            sessions = store.sessions(name)
        notes = coaching.load(shared.kb)
        report = drillreport.render(drillreport.progress(sessions, shared.kb, notes), shared.kb, notes, "text", lang)
    return render(
        request,
        "drills.html.j2",
        drills=drills,
        deals=files.listing(shared.folder),
        trainee=name,
        sessions=sessions[::-1],
        report=report,
    )


async def _fields(request: Request) -> list[tuple[str, str]]:
    """The posted fields, read here in the event loop so that the route itself (the engine's
    work) runs in a worker thread."""
    posted = await request.form(max_fields=MAX_FIELDS, max_files=0)
    return [(key, value) for key, value in posted.multi_items() if isinstance(value, str)]


Fields = Annotated[list[tuple[str, str]], Depends(_fields)]


@router.post("/drills/start")
def start(request: Request, fields: Fields) -> RedirectResponse:
    """A new session of a bundled drill for the trainee; the page of its first step."""
    posted = dict(fields)
    name = trainee_name(posted.get("trainee"))
    drill_name = posted.get("drill", "")
    path = drillsession.bundled().get(drill_name)
    if path is None:
        raise HTTPException(404, f"no drill {drill_name!r}; the drills are listed at /drills")
    shared = site(request)
    try:
        built = drill_mod.load(path, shared.kb)
    except InputError as err:
        raise HTTPException(422, "; ".join(str(p) for p in err.problems[:3])) from None
    with opened_store() as store, shared.lock:
        play = drillsession.start(shared.kb, store, built, name, lang_of(request), _examiner(shared))
        assert play.session_id is not None
        store.release(play.session_id)
    return RedirectResponse(f"/drills/sessions/{play.session_id}", status_code=303)


@router.post("/drills/from-deal")
def start_from_deal(request: Request, fields: Fields) -> RedirectResponse:
    """A new session of a drill made from a deal file in the served folder; the page of its first step.

    The drill is named ``deal:<file stem>`` as the terminal names it, and the store keeps the whole
    generated scenario, so ``drill run --resume`` in a terminal continues it even after the file changes.
    """
    posted = dict(fields)
    name = trainee_name(posted.get("trainee"))
    shared = site(request)
    deal_name = posted.get("deal", "")
    try:
        path = files.existing(shared.folder, deal_name)
    except files.RefusedError as err:
        raise HTTPException(400, str(err)) from None
    try:
        document = yamlsource.load(deal_name, text=yamlsource.read_text(str(path), regular=True))
        deal = deal_mod.validate(document, shared.kb.vocabulary)
        built = drillgen.from_deal(deal, shared.kb, path.stem)  # with its own engine: no lock needed
    except InputError as err:
        raise HTTPException(422, "; ".join(str(p) for p in err.problems[:3])) from None
    with opened_store() as store, shared.lock:
        play = drillsession.start(shared.kb, store, built, name, lang_of(request), _examiner(shared), source=str(path))
        assert play.session_id is not None
        store.release(play.session_id)
    return RedirectResponse(f"/drills/sessions/{play.session_id}", status_code=303)


@router.get("/drills/sessions/{number}", response_class=HTMLResponse)
def session_page(request: Request, number: str) -> HTMLResponse:
    """Where the session stands: the steps answered with their feedback, then the next step or the debrief."""
    with opened_store() as store, _resumed(request, store, number) as (play, session):
        return _page(request, play, session)


@router.post("/drills/sessions/{number}")
def answer(request: Request, number: str, fields: Fields) -> RedirectResponse:
    """One step answered: stored before the next page is shown (the feedback is on it)."""
    at = dict(fields).get("step", "")
    picked = [value for key, value in fields if key == "choice"]
    with opened_store() as store, _resumed(request, store, number) as (play, _):
        if play.finished or at != str(len(play.turns) + 1):
            raise HTTPException(
                409, f"step {at or '?'} of session {number} has been answered already (in another window or a terminal)"
            )
        assert play.step is not None
        allowed = {choice for choice, _ in play.choices()}
        if not set(picked) <= allowed or (play.step.kind != "diagnose" and len(picked) != 1):
            wanted = "one or more of" if play.step.kind == "diagnose" else "exactly one of"
            raise HTTPException(400, f"choose {wanted} the choices shown for step {at}")
        play.answer(list(dict.fromkeys(picked)))
        if play.storage_problem:
            raise HTTPException(503, f"the answer was not saved: {play.storage_problem}")
    return RedirectResponse(f"/drills/sessions/{number}#step-{at}", status_code=303)


@contextmanager
def _resumed(request: Request, store: storage.Store, number: str) -> Iterator[tuple[Play, storage.Session]]:
    """The session rebuilt from the store in the page's language, claimed for this request only."""
    shared = site(request)
    found = store.find(int(number)) if number.isdigit() and len(number) < 12 else None
    if found is None:
        raise HTTPException(404, f"no drill session {number!r}; a trainee's sessions are listed at /drills")
    with shared.lock:
        play = Play.resume(shared.kb, dataclasses.replace(found, lang=lang_of(request)), store, _examiner(shared))
        try:
            yield play, found
        finally:
            store.release(found.id)


def _examiner(shared: Site) -> drill_mod.Examiner:
    """Scores with the app's own engine (used under its lock): compiling another would take seconds."""
    return drill_mod.Examiner(shared.kb, shared.advisor)


def _page(request: Request, play: Play, session: storage.Session) -> HTMLResponse:
    debrief = play.debrief() if play.finished else None
    practice = drillsession.practice(scenarios_dir() / "drills") if debrief else {}
    score = sum(turn.verdict.score for turn in play.turns)
    most = sum(turn.verdict.max_score for turn in play.turns)
    return render(
        request,
        "drill.html.j2",
        play=play,
        session=session,
        debrief=debrief,
        practice=practice,
        by_concept=sorted(debrief.by_concept.items(), key=lambda kv: kv[1][0] / kv[1][1]) if debrief else [],
        score=score,
        most=most,
        percent=round(100 * debrief.score / debrief.max_score) if debrief and debrief.max_score else 0,
        concept=lambda concept_id: (
            play.kb.concepts[concept_id].title(play.lang) if concept_id in play.kb.concepts else concept_id
        ),
        number=_number,
    )


def _number(value: float) -> str:
    return f"{value:g}"
