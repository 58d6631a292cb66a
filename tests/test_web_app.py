"""The web app's frame: navigation, language, offline assets, security headers, the host and
same-origin checks, and error pages that never show a traceback."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from dealcoach.engine.web import app as app_mod
from dealcoach.engine.web.app import LANG_COOKIE, Nav, create_app


@pytest.fixture(scope="module")
def app(builtin, tmp_path_factory):
    made = create_app(tmp_path_factory.mktemp("served"), knowledge=builtin)

    def broken() -> None:
        raise RuntimeError("secret detail of a bug")

    made.add_api_route("/broken", broken)
    return made


@pytest.fixture
def client(app):
    return TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)


def test_every_page_has_the_navigation_and_a_language_switch(client):
    page = client.get("/deals").text
    assert '<a href="/deals" aria-current="page">Deals</a>' in page
    assert 'href="?lang=zh"' in page and 'hreflang="zh"' in page


def test_the_language_chosen_in_the_address_is_remembered(client):
    first = client.get("/deals?lang=zh")
    assert first.cookies.get(LANG_COOKIE) == "zh" and '<a href="/deals" aria-current="page">项目</a>' in first.text
    assert '<html lang="zh-CN">' in client.get("/deals").text


def test_an_unknown_language_is_ignored(client):
    assert '<html lang="en">' in client.get("/deals?lang=xx").text


def test_the_page_loads_only_what_the_app_serves(client):
    page = client.get("/deals/new").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(not s.startswith(("http:", "https:", "//")) for s in sources)
    assert "/static/htmx.min.js" in sources


def test_htmx_is_vendored_with_its_licence(client):
    script = client.get("/static/htmx.min.js")
    assert script.status_code == 200 and script.text.startswith("/* htmx 2.")
    assert "Zero-Clause BSD" in client.get("/static/htmx.LICENSE").text


def test_every_answer_forbids_scripts_from_anywhere_else(client):
    headers = client.get("/deals").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_a_request_for_another_host_name_is_refused(client):
    assert client.get("/deals", headers={"host": "attacker.example"}).status_code == 400


def test_a_post_from_another_site_is_refused(client):
    response = client.post("/deals/preview", data={"name": "x"}, headers={"origin": "http://attacker.example"})
    assert response.status_code == 403
    assert (
        client.post("/deals/preview", data={"name": "x"}, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    )


def test_a_post_from_the_app_itself_is_accepted(client):
    response = client.post("/deals/preview", data={"name": "x"}, headers={"origin": "http://127.0.0.1"})
    assert response.status_code == 200


def test_an_unknown_page_is_a_404_page_in_the_layout(client):
    response = client.get("/nothing/here")
    assert response.status_code == 404 and "<nav" in response.text


def test_a_bug_shows_a_short_message_never_a_traceback(client):
    response = client.get("/broken")
    assert response.status_code == 500 and "bug in dealcoach" in response.text
    assert "Traceback" not in response.text and "secret detail" not in response.text


def test_a_page_module_is_added_by_naming_it(builtin, tmp_path, monkeypatch):
    """What a later page (board, drills, playbook) does: a module with a router and a NAV entry."""
    module = type(app_mod)("dealcoach.engine.web.demo")
    module.router = APIRouter()
    module.router.add_api_route("/demo", lambda: {"ok": True})
    module.NAV = Nav("/demo", ("演示", "Demo"))
    monkeypatch.setitem(__import__("sys").modules, "dealcoach.engine.web.demo", module)
    monkeypatch.setattr(app_mod, "PAGES", (*app_mod.PAGES, "demo"))
    client = TestClient(create_app(tmp_path, knowledge=builtin), base_url="http://127.0.0.1")
    assert client.get("/demo").json() == {"ok": True}
    assert '<a href="/demo">Demo</a>' in client.get("/deals").text
