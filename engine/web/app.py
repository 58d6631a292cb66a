"""The web app: one compiled knowledge base per process, shared by every request, and pages
added as routers.

A page module (``deals``, and later ``board``, ``drills``, ``playbook``) defines ``router`` (a
FastAPI ``APIRouter``), ``NAV`` (its entry in the navigation, or None) and optionally ``WORDS``
(its interface text in both languages); adding a page is adding its name to :data:`PAGES`. Its
routes get the shared state with ``site(request)`` (or a ``SiteDep`` parameter), the language with
``lang_of(request)``, and answer with ``render(request, "its.html.j2", ...)``: a template in
``templates/`` that extends ``base.html.j2`` and calls ``t("key")`` for its words.

What a browser sends is untrusted, and the app may be reachable from other pages the same
browser has open (a site can post a form to 127.0.0.1), so every request goes through:
a size limit (413), a host check (against DNS rebinding), a same-origin check on anything that
changes state, and a Content-Security-Policy that lets the page run only the vendored htmx.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dealcoach import __version__
from dealcoach.engine.deals import schema as schema_mod
from dealcoach.engine.deals.schema import Field
from dealcoach.engine.deals.vocabulary import LANGS, Lang
from dealcoach.engine.matching.runner import Advisor, Outcome
from dealcoach.engine.playbook import kb as kb_mod
from dealcoach.engine.web.words import WORDS

HERE = Path(__file__).resolve().parent
PAGES = (
    "deals",
    "crmimport",
    "board",
    "drills",
    "playbook",
    "api",
)  # modules that add routes, in the order of the navigation
MAX_BODY = 2_000_000  # bytes, as for a deal file (yamlsource.MAX_BYTES)
LARGER_BODIES = {"/deals/import": 20_000_000}  # CRM export files, uploaded together
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
LANG_COOKIE = "dealcoach_lang"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it Chromium sends "Origin: null" on a plain form post, which the
    # same-origin check below must refuse; same-origin still tells nothing to other sites.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class Nav:
    """A page's entry in the navigation: where it is and what it is called (zh, en)."""

    path: str
    label: tuple[str, str]


@dataclass
class Site:
    """What every request shares: the served folder and the compiled playbook. The engine keeps
    state while it runs, so advice is computed under a lock (one deal at a time per process)."""

    folder: Path
    kb: kb_mod.KnowledgeBase
    advisor: Advisor
    default_lang: Lang
    nav: list[Nav]
    words: dict[str, tuple[str, str]]
    templates: jinja2.Environment
    fields: tuple[Field, ...] = ()
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, deal: Any, *, keep_facts: bool = False) -> Outcome:
        with self.lock:
            return self.advisor.run(deal, keep_facts=keep_facts)


def site(request: Request) -> Site:
    """The app's shared state, for a route (``Depends(site)``) or a helper."""
    return request.app.state.site


SiteDep = Annotated[Site, Depends(site)]


def lang_of(request: Request) -> Lang:
    """The language asked for in the address (``?lang=en``), else the one chosen before (cookie),
    else the app's default."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value  # type: ignore[return-value]
    return site(request).default_lang


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page or fragment from this package's templates, with what every page needs."""
    shared = site(request)
    lang = lang_of(request)
    words = shared.words

    def t(key: str, *args: object) -> str:
        zh, en = words[key]
        return (zh if lang == "zh" else en).format(*args)

    html = shared.templates.get_template(template).render(
        request=request, lang=lang, t=t, nav=shared.nav, version=__version__, folder=shared.folder, **context
    )
    return HTMLResponse(html, status_code=status_code)


def create_app(
    folder: str | Path,
    kb_dirs: Sequence[str] = (),
    *,
    lang: Lang = "en",
    hosts: Sequence[str] = LOCAL_HOSTS,
    knowledge: kb_mod.KnowledgeBase | None = None,
) -> FastAPI:
    """The app serving the deal files in ``folder`` with the built-in playbook and the company
    layers in ``kb_dirs`` (or an already loaded ``knowledge``). ``hosts`` are the names the app
    answers to; requests for any other host are refused."""
    knowledge = knowledge or kb_mod.load(kb_mod.layer_dirs(kb_dirs))
    app = FastAPI(
        title="dealcoach",
        version=__version__,
        description="Advice on key-account deals from a rule-based playbook, served locally.",
        docs_url=None,  # FastAPI's documentation pages load their scripts from a CDN: the app stays offline
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    modules = [importlib.import_module(f"{__package__}.{name}") for name in PAGES]
    words = dict(WORDS)
    for module in modules:
        words.update(getattr(module, "WORDS", {}))
    app.state.site = Site(
        folder=Path(folder).resolve(),
        kb=knowledge,
        advisor=Advisor(knowledge),
        default_lang=lang,
        nav=[module.NAV for module in modules if getattr(module, "NAV", None)],
        words=words,
        templates=_environment(),
        fields=schema_mod.fields(schema_mod.deal_schema(knowledge.vocabulary)),
    )
    for module in modules:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _add_error_pages(app)
    app.middleware("http")(_headers_and_language)
    app.middleware("http")(_same_origin)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))
    app.add_middleware(BodyLimit, limit=MAX_BODY, larger=LARGER_BODIES)
    return app


def _environment() -> jinja2.Environment:
    """Our own templates; everything inserted is escaped unless a template says otherwise."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )
    environment.filters["tojson_text"] = lambda value: json.dumps(value, ensure_ascii=False, indent=2)
    return environment


async def _headers_and_language(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Security headers on every answer, with the time the app took (``Server-Timing``, which
    bench/bench_web.py reads); ``?lang=`` remembered in a cookie for the next pages."""
    start = time.perf_counter()
    response = await call_next(request)
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1000:.2f}"
    response.headers.update(SECURITY_HEADERS)
    chosen = request.query_params.get("lang")
    if chosen in LANGS and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="strict", httponly=True)
    return response


async def _same_origin(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Refuse a state-changing request that another site's page made the browser send: a form on
    any web page can post to 127.0.0.1, and this app writes files."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("origin")
        cross = request.headers.get("sec-fetch-site") == "cross-site"
        if cross or (origin and urlsplit(origin).netloc != request.headers.get("host")):
            return PlainTextResponse("dealcoach: refused a request sent from another site", status_code=403)
    return await call_next(request)


def _add_error_pages(app: FastAPI) -> None:
    """Errors as a short message in the page's language (JSON under /api/), never a traceback."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _error(request, exc.status_code, str(exc.detail))

    async def crash(request: Request, exc: Exception) -> Response:
        return _error(request, 500, "internal error: this is a bug in dealcoach; the server log has the details")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, crash)


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status)
    return render(request, "error.html.j2", status_code=status, status=status, message=message)


class BodyLimit:
    """413 for a request body larger than ``limit`` bytes, whether it announces its length or not:
    a body without a length (chunked) is read up to the limit before the app sees it, and refused
    as soon as it goes beyond."""

    def __init__(self, app: ASGIApp, limit: int, larger: dict[str, int] | None = None):
        self.app, self.limit, self.larger = app, limit, larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.limit)
        refusal = PlainTextResponse(f"the request is larger than {limit // 1_000_000} MB", status_code=413)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                await refusal(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > limit:
                await refusal(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
