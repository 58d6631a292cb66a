"""The HTML review in a real headless Chromium: self-contained, sortable, expandable, escaped,
printable, in both languages with a switch between them. Screenshots go to tests/screenshots/
(gitignored)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from tests.conftest import NEEDS_CHROMIUM, SHOTS

pytestmark = NEEDS_CHROMIUM

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


def health_column(page, lang="en"):
    cells = page.locator(f"#deals-{lang} tbody.deal tr:first-child td:nth-child(6)")
    return [int(cell) for cell in cells.all_inner_texts()]


def deal_column(page, lang):
    return page.locator(f"#deals-{lang} tbody.deal tr:first-child td:nth-child(2)").all_inner_texts()


def test_the_page_loads_nothing_from_a_network(page):
    assert [url for url in page.requests if not url.startswith("file:")] == []


def test_the_table_sorts_by_a_column_when_its_header_is_clicked(page):
    SHOTS.mkdir(exist_ok=True)
    page.locator("#deals-en th", has_text="health").click()
    assert health_column(page) == sorted(health_column(page))
    page.locator("#deals-en th", has_text="health").click()
    assert health_column(page) == sorted(health_column(page), reverse=True)
    page.screenshot(path=str(SHOTS / "review-sorted.png"), full_page=True)


def test_each_deal_expands_to_its_full_advice(page):
    details = page.locator("#review-en details").first
    assert not details.locator("ol").is_visible()
    details.locator("summary").click()
    assert details.locator("ol li").count() >= 1 and details.locator("ol").is_visible()
    page.screenshot(path=str(SHOTS / "review-expanded.png"), full_page=True)


def test_charts_are_inline_svg(page):
    assert page.locator("#review-en figure svg").count() == 2
    assert page.locator("#review-en figure svg rect").count() > 2


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chart_labels_fit_inside_their_chart(page, lang):
    page.locator(f".switch button[data-lang={lang}]").click()
    lefts = page.evaluate(
        f"Array.from(document.querySelectorAll('#review-{lang} figure svg text')).map(t => t.getBBox().x)"
    )
    assert lefts and min(lefts) >= 0


def test_what_a_deal_says_is_shown_as_text_never_run(page):
    assert page.evaluate("window.hacked") is None
    assert page.locator("#deals-en td", has_text=HOSTILE).count() == 1
    assert page.locator("#deals-zh td", has_text=HOSTILE).count() == 1


def test_invalid_deals_are_listed_on_the_page(page):
    assert "broken.json" in page.locator("#skipped-en").inner_text()


def test_the_review_prints(page):
    assert page.pdf()[:4] == b"%PDF"


def test_the_chinese_review_opens_in_chinese(browser, pages):
    page = browser.new_page()
    page.goto(pages["zh"].as_uri())
    assert page.locator("html").get_attribute("lang") == "zh-CN" and page.title() == "管道评审"
    assert page.locator("#review-zh").is_visible() and not page.locator("#review-en").is_visible()
    assert page.locator("#review-zh h1").inner_text() == "管道评审"
    assert "健康度" in page.locator("#deals-zh thead").inner_text()
    page.close()


def test_the_page_holds_the_review_in_both_languages_and_shows_one(page):
    assert page.locator("#review-en").is_visible() and not page.locator("#review-zh").is_visible()
    assert page.locator("#review-zh h1").text_content() == "管道评审"
    assert deal_column(page, "zh") == deal_column(page, "en")  # the same deals, in the same order


def test_the_switch_shows_the_other_language_and_back(page):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "review-lang-en.png"), full_page=True)
    page.locator(".switch button", has_text="中文").click()
    assert page.locator("#review-zh").is_visible() and not page.locator("#review-en").is_visible()
    assert page.locator("html").get_attribute("lang") == "zh-CN" and page.title() == "管道评审"
    assert page.locator(".switch button[aria-pressed=true]").inner_text() == "中文"
    advice = page.locator("#review-zh details").first
    advice.locator("summary").click()
    assert "危险信号" in advice.inner_text() and "red flags" not in advice.inner_text()
    assert "高 · " in advice.inner_text() and "high" not in advice.inner_text()  # priorities and categories too
    page.screenshot(path=str(SHOTS / "review-lang-zh.png"), full_page=True)
    page.locator(".switch button", has_text="English").click()
    assert page.locator("#review-en").is_visible() and page.locator("html").get_attribute("lang") == "en"


def test_the_switched_language_sorts_its_own_table(page):
    page.locator(".switch button", has_text="中文").click()
    page.locator("#deals-zh th", has_text="健康度").click()
    assert health_column(page, "zh") == sorted(health_column(page, "zh"))


def test_an_address_ending_in_a_language_opens_that_language(browser, pages):
    page = browser.new_page()
    page.goto(pages["en"].as_uri() + "#zh")
    assert page.locator("#review-zh").is_visible() and page.locator("html").get_attribute("lang") == "zh-CN"
    page.close()


def test_each_language_reads_the_same_whichever_language_the_page_opens_in(pages):
    """The translation of every deal comes from the same engine run as the document itself: the
    Chinese section of the English page is the Chinese page's own, byte for byte, and vice versa."""
    en, zh = (pages[lang].read_text(encoding="utf-8") for lang in ("en", "zh"))
    assert en.count('<section class="review"') == zh.count('<section class="review"') == 2
    assert en[en.index("<section") :] == zh[zh.index("<section") :]
