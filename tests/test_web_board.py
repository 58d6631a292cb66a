"""The pipeline board: every deal file in the served folder, reviewed as `dealcoach review` does,
sorted on the server by the address, one owner's view, files with problems listed beside it."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from dealcoach.cli import main
from dealcoach.engine.web.app import create_app

HOSTILE = '<script>alert("x")</script> & 😀\nline'


def deal(name, stage, value, met, owner=None, flags_for=("张总",)):
    people = [
        {"name": person, "roles": ["economic_buyer"], "contacted": met, "influence": 5, "attitude": "resist"}
        for person in flags_for
    ]
    data = {"name": name, "account": {"name": "客户"}, "stage": stage, "value": value, "stakeholders": people}
    if owner is not None:
        data["owner"] = owner
    return data


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    served = tmp_path_factory.mktemp("pipeline")
    deals = {
        "a.json": deal(HOSTILE, "decision", 2e6, False, owner="王磊"),
        "b.json": deal("平稳项目", "research", 3e5, True, owner="王磊"),
        "c.json": deal("C deal", "evaluation", 9e5, False, owner='<b>"Li"</b>'),
        "sub/d.json": deal("No owner", "intent", None, False),
    }
    for name, data in deals.items():
        (served / name).parent.mkdir(exist_ok=True)
        (served / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (served / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    (served / "invalid.json").write_text('{"name": "x", "stage": "nowhere"}', encoding="utf-8")
    return served


@pytest.fixture(scope="module")
def client(builtin, folder):
    return TestClient(create_app(folder, knowledge=builtin), base_url="http://127.0.0.1")


def files_in_order(page: str) -> list[str]:
    return re.findall(r'<tr class="deal" data-file="([^"]+)">', page)


def column(page: str, name: str) -> list[float]:
    return [float(v) for v in re.findall(rf'<td class="num {name}[^"]*">([0-9.]+)</td>', page)]


def test_every_valid_deal_in_the_folder_and_below_is_on_the_board(client):
    assert sorted(files_in_order(client.get("/board").text)) == ["a.json", "b.json", "c.json", "sub/d.json"]


def test_the_default_order_is_the_review_order(client, folder):
    result = CliRunner().invoke(main, ["review", str(folder), "--format", "json", "--allow-invalid"])
    review = json.loads(result.stdout)["deals"]
    expected = [line["file"].removeprefix(str(folder) + "/") for line in review]
    assert files_in_order(client.get("/board").text) == expected


def test_sorting_by_health_puts_the_weakest_deal_first(client):
    health = column(client.get("/board?sort=health").text, "health")
    assert health == sorted(health) and len(health) == 4


def test_sorting_by_health_descending_puts_the_strongest_first(client):
    health = column(client.get("/board?sort=health&order=desc").text, "health")
    assert health == sorted(health, reverse=True)


def test_sorting_by_stage_puts_the_latest_stage_first(client, builtin):
    page = client.get("/board?sort=stage").text
    labels = re.findall(r'<td class="stage">([^<]+)</td>', page)
    stages = [builtin.vocabulary.label("stage", s, "en") for s in ("decision", "evaluation", "research", "intent")]
    assert labels == stages


def test_sorting_by_red_flags_puts_the_deal_with_most_flags_first(client):
    counts = [
        int(n) for n in re.findall(r'<span class="flag-count">(\d+)</span>', client.get("/board?sort=flags").text)
    ]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]


def test_the_sorted_column_is_marked_and_its_link_reverses_the_order(client):
    page = client.get("/board?sort=health&order=asc").text
    assert 'aria-sort="ascending"><a class="sort" id="sort-health" href="/board?sort=health&amp;order=desc"' in page


def test_an_unknown_sort_is_refused_with_the_allowed_ones(client):
    response = client.get("/board?sort=<b>x</b>")
    assert response.status_code == 400
    assert "sort must be one of risk, health, stage, flags" in response.text and "<b>x</b>" not in response.text


def test_an_unknown_order_is_refused(client):
    response = client.get("/board?order=sideways")
    assert response.status_code == 400 and "order must be asc or desc" in response.text


def test_the_owner_view_shows_only_that_owners_deals(client):
    page = client.get("/board?owner=王磊").text
    assert sorted(files_in_order(page)) == ["a.json", "b.json"] and 'id="owner-view"' in page


def test_an_empty_owner_shows_the_deals_without_one(client):
    assert files_in_order(client.get("/board?owner=").text) == ["sub/d.json"]


def test_owners_link_to_their_view_keeping_the_sort(client):
    page = client.get("/board?sort=stage").text
    assert 'href="/board?sort=stage&amp;order=desc&amp;owner=%E7%8E%8B%E7%A3%8A"' in page


def test_each_deal_links_to_the_editor(client):
    assert 'href="/deals/edit?file=sub/d.json"' in client.get("/board").text


def test_each_deal_shows_at_most_three_steps_with_the_people_they_name(client):
    page = client.get("/board").text
    lists = re.findall(r'<ol class="steps">(.*?)</ol>', page, re.S)
    assert lists and all(1 <= item.count("<li>") <= 3 for item in lists)
    assert "[people: 张总" in page


def test_files_with_problems_are_listed_with_them_and_the_board_still_shows(client):
    page = client.get("/board").text
    invalid = page[page.index('id="invalid"') :]
    assert "broken.yaml" in invalid and "invalid.json:" in invalid and "stage" in invalid
    assert "Deal files with problems (2" in page and len(files_in_order(page)) == 4


def test_problems_name_the_file_relative_to_the_folder(client, folder):
    assert str(folder) not in client.get("/board").text


def test_what_a_deal_file_says_is_escaped(client):
    page = client.get("/board").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; 😀" in page
    assert "<b>" not in page and "&lt;b&gt;&#34;Li&#34;&lt;/b&gt;" in page


def test_the_themes_across_deals_are_shown(client):
    themes = client.get("/board").text.split('id="themes"')[1].split("</ul>")[0]
    assert "deals" in themes and "<li>" in themes


def test_the_board_speaks_chinese_when_asked(client):
    page = client.get("/board?lang=zh").text
    assert "管道看板" in page and "个项目" in page and "负责人" in page


def test_an_empty_folder_gives_an_empty_board(builtin, tmp_path):
    page = TestClient(create_app(tmp_path, knowledge=builtin), base_url="http://127.0.0.1").get("/board")
    assert page.status_code == 200 and "There are no valid deal files in this folder." in page.text


@pytest.fixture(scope="module")
def history(builtin, tmp_path_factory):
    """A folder whose deal moved on after two reviews were written into it (jsonl and json)."""
    served = tmp_path_factory.mktemp("history")
    (served / "reviews").mkdir()
    (served / "x.json").write_text(json.dumps(deal("X deal", "research", 5e5, False)), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(served)  # as the README says: the review is run inside the folder
        for fmt in ("jsonl", "json"):
            out = f"reviews/week-1.{fmt}"
            result = CliRunner().invoke(main, ["review", ".", "--format", fmt, "--out", out, "--lang", "en"])
            assert result.exit_code == 0, result.output
    (served / "x.json").write_text(json.dumps(deal("X deal", "evaluation", 5e5, True)), encoding="utf-8")
    return TestClient(create_app(served, knowledge=builtin), base_url="http://127.0.0.1")


@pytest.mark.parametrize("review", ["reviews/week-1.jsonl", "reviews/week-1.json"])
def test_since_an_earlier_review_each_deal_shows_what_moved(history, review):
    page = history.get("/board", params={"since": review, "lang": "en"}).text
    moved = re.search(r'<td class="moved">([^<]*)</td>', page).group(1)
    assert "stage research → evaluation" in moved and "cleared nobody at the account has been met yet" in moved
    assert f"What moved since {review}" in page


def test_without_since_the_board_shows_no_movement(history):
    assert 'class="moved"' not in history.get("/board").text


def test_review_files_in_the_folder_are_offered_and_not_listed_as_deals(history):
    page = history.get("/board", params={"lang": "en"}).text
    assert '<option value="reviews/week-1.jsonl">' in page and '<option value="reviews/week-1.json">' in page
    assert files_in_order(page) == ["x.json"] and 'id="invalid"' not in page


def test_the_boards_links_keep_the_review_compared_with(history):
    page = history.get("/board", params={"since": "reviews/week-1.jsonl"}).text
    assert "since=reviews%2Fweek-1.jsonl" in re.search(r'id="sort-health" href="([^"]+)"', page).group(1)


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("../outside.jsonl", "leads outside|may not contain"),
        ("/etc/passwd", "absolute"),
        ("reviews/missing.jsonl", "no such file"),
        ("x.json", "not a dealcoach review"),
    ],
)
def test_a_since_that_is_not_a_review_in_the_folder_is_a_400_saying_why(history, since, message):
    response = history.get("/board", params={"since": since})
    assert response.status_code == 400 and re.search(message, response.text) and "Traceback" not in response.text


def test_a_review_kept_in_the_folder_is_not_listed_among_the_deals(history):
    page = history.get("/").text
    assert "x.json" in page and "week-1.json" not in page
