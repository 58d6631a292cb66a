"""The HTML review in a real headless Chromium: self-contained, sortable, expandable, escaped,
printable, in both languages. Screenshots go to tests/screenshots/ (gitignored)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealcoach.cli import main

SHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium: install Debian's chromium package (.ci/run does)"
)

HOSTILE = '<img src=x onerror="window.hacked=1">'


def deal(name, stage, value, health_hint):
    people = [{"name": "张总", "roles": ["economic_buyer"], "contacted": health_hint, "influence": 5}]
    return {"name": name, "owner": "王磊", "account": {"name": "客户"}, "stage": stage, "value": value,
            "stakeholders": people}  # fmt: skip


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deals")
    for index, (name, stage, value, met) in enumerate(
        [(HOSTILE, "decision", 2e6, False), ("平稳项目", "research", 3e5, True), ("B deal", "evaluation", 9e5, False)]
    ):
        (folder / f"{index}.json").write_text(json.dumps(deal(name, stage, value, met), ensure_ascii=False), "utf-8")
    (folder / "broken.json").write_text('{"name": "x"}', encoding="utf-8")
    made = {}
    for lang in ("en", "zh"):
        out = folder / f"review-{lang}.html"
        result = CliRunner().invoke(
            main, ["review", str(folder), "--format", "html", "--lang", lang, "--out", str(out)]
        )
        assert result.exit_code == 1 and "broken.json" in result.stderr
        made[lang] = out
    return made


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, pages):
    context = browser.new_context()
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(pages["en"].as_uri())
    page.requests = requests
    yield page
    context.close()


def health_column(page):
    return [int(cell) for cell in page.locator("#deals tbody.deal tr:first-child td:nth-child(6)").all_inner_texts()]


def test_the_page_loads_nothing_from_a_network(page):
    assert [url for url in page.requests if not url.startswith("file:")] == []


def test_the_table_sorts_by_a_column_when_its_header_is_clicked(page):
    SHOTS.mkdir(exist_ok=True)
    page.locator("#deals th", has_text="health").click()
    assert health_column(page) == sorted(health_column(page))
    page.locator("#deals th", has_text="health").click()
    assert health_column(page) == sorted(health_column(page), reverse=True)
    page.screenshot(path=str(SHOTS / "review-sorted.png"), full_page=True)


def test_each_deal_expands_to_its_full_advice(page):
    details = page.locator("details").first
    assert not details.locator("ol").is_visible()
    details.locator("summary").click()
    assert details.locator("ol li").count() >= 1 and details.locator("ol").is_visible()
    page.screenshot(path=str(SHOTS / "review-expanded.png"), full_page=True)


def test_charts_are_inline_svg(page):
    assert page.locator("figure svg").count() == 2
    assert page.locator("figure svg rect").count() > 2


def test_what_a_deal_says_is_shown_as_text_never_run(page):
    assert page.evaluate("window.hacked") is None
    assert page.locator("#deals td", has_text=HOSTILE).count() == 1


def test_invalid_deals_are_listed_on_the_page(page):
    assert "broken.json" in page.locator("#skipped").inner_text()


def test_the_review_prints(page):
    assert page.pdf()[:4] == b"%PDF"


def test_the_chinese_review_is_labelled_in_chinese(browser, pages):
    page = browser.new_page()
    page.goto(pages["zh"].as_uri())
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "管道评审" and "健康度" in page.locator("#deals thead").inner_text()
    page.screenshot(path=str(SHOTS / "review-zh.png"), full_page=True)
    page.close()
