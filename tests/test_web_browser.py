"""The web app end to end in a real headless Chromium, against `dealcoach serve` in its own process:
a deal typed field by field, the advice changing as it is typed, the file saved and reopened,
problems shown at their inputs, nothing typed ever run as code. Screenshots go to tests/screenshots/
(gitignored)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest
import yaml

from dealcoach.engine.playbook import kb
from tests.conftest import NEEDS_CHROMIUM, SHOTS
from tests.test_web_serve import free_port, wait_for

pytestmark = NEEDS_CHROMIUM
HOSTILE = '<img src=x onerror="window.hacked=1"> "quoted" 😀'


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    served = tmp_path_factory.mktemp("served")
    shutil.copy(kb.scenarios_dir() / "bank-oa-network.yaml", served / "bank.yaml")
    return served


@pytest.fixture(scope="module")
def base(folder):
    """`dealcoach serve` on a free port, for the whole module."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dealcoach", "serve", str(folder), "--port", str(port), "--lang", "en"],
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/deals")
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


@pytest.fixture
def page(browser, base):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=base)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    yield page
    context.close()


def health(page) -> int:
    return int(page.locator("#health-score").inner_text())


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"web-{name}.png"), full_page=True)


def test_a_deal_typed_field_by_field_gets_advice_that_changes_and_is_saved(page, folder):
    page.goto("/deals/new")
    page.get_by_label("name *").first.fill("Harbour logistics platform")
    page.locator("#f-account-name").fill("Harbour Group")
    page.locator("#f-stage").select_option("evaluation")
    page.locator("#f-stakeholders-0-name").fill("Lin Tao")
    page.locator("#f-stakeholders-0-roles").select_option(["economic_buyer"])
    meet = page.locator("ol.advice > li[data-rule='coverage.meet-economic-buyer']")
    meet.wait_for()
    before = health(page)
    page.locator("#f-stakeholders-0-contacted").check()
    page.locator("#f-stakeholders-0-attitude").select_option("accept")
    meet.wait_for(state="detached")
    assert health(page) > before
    page.get_by_role("button", name="Add a stakeholder").click()
    page.locator("#f-stakeholders-1-name").wait_for()
    assert page.evaluate("document.activeElement.id") == "f-stakeholders-1-name"
    page.keyboard.type("Wu Fang")
    page.locator("#f-stakeholders-1-roles").select_option(["coach"])
    page.locator("#f-stakeholders-1-attitude").select_option("accept")
    page.locator("#f-stakeholders-1-contacted").check()
    page.locator("ol.advice > li[data-rule='coverage.coach-shares-criteria']").wait_for()
    shot(page, "editor-new")
    page.locator("#f-_file").fill("harbour.yaml")
    page.get_by_role("button", name="Save").first.click()
    page.get_by_role("status").filter(has_text="Saved to harbour.yaml.").wait_for()
    saved = yaml.safe_load((folder / "harbour.yaml").read_text(encoding="utf-8"))
    assert [p["name"] for p in saved["stakeholders"]] == ["Lin Tao", "Wu Fang"]
    page.goto("/deals")
    page.get_by_role("link", name="harbour.yaml").click()
    assert page.locator("#f-stakeholders-1-name").input_value() == "Wu Fang"
    assert page.locator("#f-stakeholders-1-contacted").is_checked()


def test_the_advice_follows_an_edit_of_an_opened_deal(page):
    page.goto("/deals/edit?file=bank.yaml")
    rule = "ol.advice > li[data-rule='coverage.coach-arranges-economic-buyer']"
    assert page.locator(rule).count() == 1
    before = health(page)
    page.locator("#f-stakeholders-0-contacted").check()
    page.wait_for_function(f'() => !document.querySelector("{rule}")')
    assert health(page) > before
    shot(page, "editor")


def test_a_problem_is_shown_at_its_input_as_it_is_typed(page):
    page.goto("/deals/edit?file=bank.yaml")
    page.locator("#f-value").fill("lots")
    page.locator("#e-f-value").filter(has_text="valid number").wait_for()
    assert page.locator("#advice .alert").is_visible()
    page.locator("#f-value").fill("2600000")
    page.locator("#health-score").wait_for()
    assert page.locator("#e-f-value").inner_text() == ""


def test_the_reasoning_chain_and_why_not_are_shown_on_request(page):
    page.goto("/deals/edit?file=bank.yaml")
    first = page.locator("ol.advice > li:has(details)").first
    assert not first.locator(".chain").is_visible()
    first.locator("summary").click()
    assert first.locator(".chain li").count() >= 1
    page.locator("#why-not-rule").select_option("coverage.find-a-coach")
    page.get_by_role("button", name="Explain").click()
    page.locator("#whynot-answer pre").filter(has_text="did not fire").wait_for()


def test_what_a_deal_says_is_shown_as_text_never_run(page):
    page.goto("/deals/edit?file=bank.yaml")
    page.locator("#f-name").fill(HOSTILE)
    page.locator("#advice h2").filter(has_text="quoted").wait_for()
    assert page.evaluate("window.hacked") is None
    assert page.locator("#advice h2").inner_text() == HOSTILE


def test_the_app_loads_nothing_from_a_network(page, base):
    page.goto("/deals/edit?file=bank.yaml")
    page.locator("#f-stage").select_option("decision")
    page.locator("#health-score").wait_for()
    assert [url for url in page.requests if not url.startswith(base)] == []


def test_the_editor_is_readable_on_a_phone(browser, base):
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base, is_mobile=True)
    page = context.new_page()
    page.goto("/deals/edit?file=bank.yaml&lang=zh")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-zh")
    context.close()


def test_the_advice_prints(page):
    page.goto("/deals/edit?file=bank.yaml")
    page.emulate_media(media="print")
    assert not page.locator("#deal-form").is_visible() and page.locator("ol.advice").is_visible()
    assert page.pdf()[:4] == b"%PDF"


def test_the_chinese_editor_is_labelled_in_chinese(page):
    page.goto("/deals/edit?file=bank.yaml&lang=zh")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#f-stakeholders-2-attitude option:checked").inner_text() == "怀疑"
    assert "健康度" in page.locator("#advice").inner_text()
    shot(page, "editor-zh")
    page.goto("/deals")
    shot(page, "deals-zh")
