"""The board, the drills and the playbook browser in a real headless Chromium against a real
server: sort the board by clicking, play a drill to its debrief with the keyboard, open a rule.
Screenshots go to tests/screenshots/ (gitignored)."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import uvicorn

from dealcoach.engine.web import server
from dealcoach.engine.web.app import create_app
from tests.conftest import NEEDS_CHROMIUM, SHOTS

pytestmark = NEEDS_CHROMIUM
DRILL = "bank-oa-decision-maker"


def deal(name, stage, value, met):
    people = [{"name": "张总", "roles": ["economic_buyer"], "contacted": met, "influence": 5}]
    return {"name": name, "owner": "王磊", "account": {"name": "客户"}, "stage": stage, "value": value,
            "stakeholders": people}  # fmt: skip


@pytest.fixture(scope="module")
def base_url(builtin, tmp_path_factory):
    folder = tmp_path_factory.mktemp("deals")
    for index, (name, stage, value, met) in enumerate(
        [
            ("<b>决策</b> deal", "decision", 2e6, False),
            ("平稳项目", "research", 3e5, True),
            ("B deal", "evaluation", 9e5, False),
        ]
    ):
        (folder / f"{index}.json").write_text(json.dumps(deal(name, stage, value, met), ensure_ascii=False), "utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEALCOACH_DB", str(tmp_path_factory.mktemp("db") / "drills.sqlite3"))
        listener = server.bind("127.0.0.1", 0)
        config = uvicorn.Config(create_app(folder, knowledge=builtin), log_level="warning")
        running = uvicorn.Server(config)
        thread = threading.Thread(target=running.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        while not running.started:
            time.sleep(0.05)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        running.should_exit = True
        thread.join(10)


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.requests = requests
    yield page
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"web-{name}.png"), full_page=True)


def health_column(page) -> list[int]:
    return [int(cell) for cell in page.locator("#board td.health").all_inner_texts()]


def test_clicking_the_health_header_sorts_the_board_and_clicking_again_reverses_it(page):
    page.goto("/board")
    page.locator("#sort-health").click()
    page.wait_for_url(re.compile(r"sort=health&order=asc"))
    assert health_column(page) == sorted(health_column(page)) and len(health_column(page)) == 3
    shot(page, "board")
    page.locator("#sort-health").click()
    page.wait_for_url(re.compile(r"sort=health&order=desc"))
    assert health_column(page) == sorted(health_column(page), reverse=True)


def test_the_sort_form_works_without_a_mouse(page):
    page.goto("/board")
    page.locator("select[name=sort]").select_option("stage")
    page.locator(".sortbar button").press("Enter")
    page.wait_for_url(re.compile(r"sort=stage"))
    assert page.locator("#board td.stage").first.inner_text() == "decision"


def test_a_deal_name_with_markup_shows_as_text_on_the_board(page):
    page.goto("/board")
    assert page.locator("#board a.deal-name", has_text="<b>决策</b> deal").count() == 1


def test_a_drill_is_played_to_its_debrief_with_the_keyboard(page):
    page.goto("/drills")
    page.locator("#trainee-start").fill("小王")
    page.locator(f'button[name=drill][value="{DRILL}"]').click()
    page.wait_for_url(re.compile(r"/drills/sessions/\d+"))
    shot(page, "drill-step")
    for _ in range(30):
        if page.locator("#debrief").count():
            break
        first = page.locator("input[name=choice]").first
        first.focus()
        page.keyboard.press("Space")  # tick (or choose) the focused choice
        with page.expect_navigation():
            page.keyboard.press("Enter")  # and submit the form
    assert page.locator("#debrief-score").is_visible()
    assert re.search(r"Score \d+(\.\d+)?/\d+(\.\d+)? \(\d+%\)", page.locator("#debrief-score").inner_text())
    shot(page, "drill-debrief")


def test_a_rule_of_the_playbook_shows_its_examples_passing(page):
    page.goto("/playbook?category=coverage")
    page.locator("#rule-table a", has_text="coverage.find-a-coach").click()
    page.wait_for_url(re.compile(r"/playbook/rules/coverage.find-a-coach"))
    assert page.locator("ol.examples .status-met").count() >= 2
    shot(page, "playbook-rule")


def test_the_pages_load_nothing_from_elsewhere(page, base_url):
    for address in ("/board", "/drills", "/playbook"):
        page.goto(address)
        shot(page, address.strip("/") + "-page")
    assert [url for url in page.requests if not url.startswith(base_url)] == []


def play_with_keyboard(page) -> None:
    """Answer every step with its first choice, by keyboard, until the debrief shows."""
    for _ in range(60):
        if page.locator("#debrief").count():
            return
        page.locator("input[name=choice]").first.focus()
        page.keyboard.press("Space")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    raise AssertionError("the drill did not end")


def test_a_drill_made_from_a_deal_file_is_played_to_its_debrief(page):
    page.goto("/drills")
    page.locator("#trainee-deal").fill("小陈")
    page.locator("#deal-file").select_option("0.json")
    page.locator("#from-deal-form button").click()
    page.wait_for_url(re.compile(r"/drills/sessions/\d+"))
    assert "<b>决策</b> deal" in page.locator("h1").inner_text()
    shot(page, "drill-from-deal")
    play_with_keyboard(page)
    assert page.locator("#debrief-score").is_visible()
    page.set_viewport_size({"width": 390, "height": 844})  # and the debrief fits a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("address", ["/board", "/drills", "/playbook"])
def test_the_pages_fit_a_phone_screen(browser, base_url, address):
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base_url, is_mobile=True)
    page = context.new_page()
    page.goto(address)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone" + address.replace("/", "-"))
    context.close()
