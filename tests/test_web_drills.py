"""Drills in the browser: the terminal's drills, sessions and SQLite store, one step per request,
resumable in the terminal and the other way round, stale and invalid answers refused."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import time

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from dealcoach.cli import main
from dealcoach.engine.drills import drillsession
from dealcoach.engine.drills.storage import Store
from dealcoach.engine.playbook.kb import scenarios_dir
from dealcoach.engine.web.app import create_app

DRILL = "bank-oa-decision-maker"  # has single-choice steps and a diagnose step


@pytest.fixture(scope="module")
def app(builtin, tmp_path_factory):
    return create_app(tmp_path_factory.mktemp("served"), knowledge=builtin)


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "drills.sqlite3"
    monkeypatch.setenv("DEALCOACH_DB", str(path))
    return path


@pytest.fixture
def client(app, db):
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


def start(client, trainee="小王", drill=DRILL) -> str:
    response = client.post("/drills/start", data={"trainee": trainee, "drill": drill})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def current_step(page: str) -> tuple[str, str, list[str]]:
    """The step number, the kind of input and the choices of the page's form."""
    step = re.search(r'name="step" value="(\d+)"', page)
    assert step, "no step on the page"
    inputs = re.findall(r'<input type="(radio|checkbox)" name="choice" value="([^"]+)"', page)
    return step.group(1), inputs[0][0], [value for _, value in inputs]


def answer_first(client, url: str) -> str:
    step, _, choices = current_step(client.get(url).text)
    response = client.post(url, data={"step": step, "choice": choices[0]})
    assert response.status_code == 303, response.text
    return step


def play_to_end(client, url: str) -> str:
    for _ in range(50):
        page = client.get(url).text
        if 'id="debrief"' in page:
            return page
        answer_first(client, url)
    raise AssertionError("the drill did not end")


def stored(db, session_id: int):
    store = Store(db)
    try:
        return store.session(session_id)
    finally:
        store.close()


def test_every_bundled_drill_is_listed_with_a_start_button(client):
    page = client.get("/drills").text
    for name in drillsession.bundled():
        assert f'name="drill" value="{name}"' in page


def test_starting_a_drill_stores_a_session_and_opens_its_first_step(client, db):
    url = start(client)
    assert re.fullmatch(r"/drills/sessions/\d+", url)
    session = stored(db, int(url.rsplit("/", 1)[1]))
    assert (session.trainee, session.drill, session.answers) == ("小王", DRILL, [])
    assert current_step(client.get(url).text)[0] == "1"


def test_a_single_choice_step_is_radio_buttons_and_keyboard_ready(client):
    page = client.get(start(client)).text
    assert current_step(page)[1] == "radio" and " autofocus>" in page and "<legend" in page


def test_a_drill_needs_the_trainees_name(client):
    response = client.post("/drills/start", data={"trainee": "  ", "drill": DRILL})
    assert response.status_code == 400 and "give the trainee&#39;s name" in response.text


def test_a_name_of_several_lines_is_refused(client):
    response = client.post("/drills/start", data={"trainee": "a\nb", "drill": DRILL})
    assert response.status_code == 400 and "one line" in response.text


def test_an_unknown_drill_is_a_404_naming_it_escaped(client):
    response = client.post("/drills/start", data={"trainee": "x", "drill": "<b>nope</b>"})
    assert response.status_code == 404 and "&lt;b&gt;nope&lt;/b&gt;" in response.text and "<b>nope" not in response.text


def test_an_answer_is_stored_and_its_feedback_shown_with_the_next_step(client, db):
    url = start(client)
    answer_first(client, url)
    page = client.get(url).text
    assert stored(db, int(url.rsplit("/", 1)[1])).answers[0].position == 0
    assert 'id="step-1"' in page and "Your last answer" in page and "Score " in page
    assert current_step(page)[0] == "2"


def test_playing_to_the_end_shows_the_debrief_and_finishes_the_session(client, db):
    url = start(client)
    page = play_to_end(client, url)
    session = stored(db, int(url.rsplit("/", 1)[1]))
    total = sum(a.score for a in session.answers)
    most = sum(a.max_score for a in session.answers)
    assert session.finished_at is not None
    assert f"Score {total:g}/{most:g}" in page and "By concept" in page and 'name="choice"' not in page


def test_a_diagnose_step_is_checkboxes_and_may_be_answered_with_none(client, db):
    url = start(client)
    for _ in range(20):
        step, kind, _ = current_step(client.get(url).text)
        if kind == "checkbox":
            break
        answer_first(client, url)
    else:
        pytest.fail("no diagnose step")
    assert client.post(url, data={"step": step}).status_code == 303
    assert stored(db, int(url.rsplit("/", 1)[1])).answers[-1].answer == []


def test_an_answer_to_a_step_already_answered_is_refused(client, db):
    url = start(client)
    step, _, choices = current_step(client.get(url).text)
    assert client.post(url, data={"step": step, "choice": choices[0]}).status_code == 303
    again = client.post(url, data={"step": step, "choice": choices[0]})
    assert again.status_code == 409 and "answered already" in again.text
    assert len(stored(db, int(url.rsplit("/", 1)[1])).answers) == 1


def test_a_choice_that_was_not_offered_is_refused(client, db):
    url = start(client)
    response = client.post(url, data={"step": "1", "choice": "<i>made-up</i>"})
    assert response.status_code == 400 and "choose exactly one of the choices shown" in response.text
    assert stored(db, int(url.rsplit("/", 1)[1])).answers == []


def test_two_choices_for_a_single_choice_step_are_refused(client):
    url = start(client)
    _, _, choices = current_step(client.get(url).text)
    assert client.post(url, data={"step": "1", "choice": choices[:2]}).status_code == 400


@pytest.mark.parametrize("number", ["999", "abc", "1e3", "99999999999999999999"])
def test_an_unknown_session_is_a_404(client, number):
    response = client.get(f"/drills/sessions/{number}")
    assert response.status_code == 404 and "no drill session" in response.text


def test_the_browser_holds_no_claim_between_requests(client, db):
    url = start(client)
    answer_first(client, url)
    client.get(url)
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0


def test_a_session_open_in_a_terminal_is_refused_with_its_message(client, db):
    url = start(client)
    session_id = int(url.rsplit("/", 1)[1])
    with sqlite3.connect(db) as connection:  # another live process on this machine has it open
        connection.execute(
            "INSERT INTO claims VALUES (?, ?, ?, ?, ?)",
            (session_id, socket.gethostname(), os.getppid(), "t", time.time()),
        )
    response = client.get(url)
    assert response.status_code == 409 and "is open in another dealcoach" in response.text


def test_a_session_started_in_the_terminal_is_resumed_in_the_browser(client, db, tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["drill", "run", DRILL, "--trainee", "终端", "--answers", str(answers)])
    assert result.exit_code == 2 and "--resume" in result.output
    listing = client.get("/drills", params={"trainee": "终端"}).text
    url = re.search(r'<a class="resume" href="(/drills/sessions/\d+)"', listing).group(1)
    assert current_step(client.get(url).text)[0] == "2"
    play_to_end(client, url)
    assert stored(db, int(url.rsplit("/", 1)[1])).finished_at is not None


def test_a_session_started_in_the_browser_is_resumed_in_the_terminal(client, db, tmp_path):
    url = start(client, trainee="浏览器")
    answer_first(client, url)
    answers = tmp_path / "answers.txt"
    answers.write_text("1\n" * 30, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["drill", "run", "--resume", "--trainee", "浏览器", "--answers", str(answers), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert "(resuming at step 2)" in result.output and "--- Debrief ---" in result.output
    assert 'id="debrief"' in client.get(url).text


def test_the_trainees_page_lists_their_sessions_and_report(client):
    url = start(client, trainee="小李")
    answer_first(client, url)
    page = client.get("/drills", params={"trainee": "小李"}).text
    assert f'href="{url}"' in page and "unfinished" in page and 'id="report"' in page and "attempt(s)" in page


def test_a_trainee_name_with_markup_is_escaped(client):
    page = client.get(start(client, trainee='<img src=x onerror="1">')).text
    assert "<img src=x" not in page and "&lt;img src=x onerror=&#34;1&#34;&gt;" in page


def test_the_drill_speaks_the_pages_language(client):
    url = start(client)
    answer_first(client, url)
    page = client.get(url + "?lang=zh").text
    assert "第 2 步" in page and "得分" in page and "要点：" in page


def test_a_damaged_database_is_a_503_naming_it(client, db):
    db.write_bytes(b"not a database at all" * 100)
    response = client.get("/drills", params={"trainee": "x"})
    assert response.status_code == 503 and "cannot use this file as the drill database" in response.text


LIVE_DEAL = "battery-plant-new-logo.yaml"  # an example deal with stakeholders to identify and moves to choose


@pytest.fixture(scope="module")
def deals_app(builtin, tmp_path_factory):
    served = tmp_path_factory.mktemp("deals")
    shutil.copy(scenarios_dir() / LIVE_DEAL, served / LIVE_DEAL)
    (served / "broken.yaml").write_text("name: x\nstage: nowhere\n", encoding="utf-8")
    return create_app(served, knowledge=builtin)


@pytest.fixture
def deals_client(deals_app, db):
    return TestClient(deals_app, base_url="http://127.0.0.1", follow_redirects=False)


def start_from_deal(client, deal=LIVE_DEAL, trainee="小陈"):
    return client.post("/drills/from-deal", data={"trainee": trainee, "deal": deal})


def test_the_drills_page_offers_a_drill_from_each_deal_file_in_the_folder(deals_client):
    page = deals_client.get("/drills").text
    assert 'action="/drills/from-deal"' in page and f'<option value="{LIVE_DEAL}">' in page


def test_a_folder_without_deal_files_offers_no_drill_from_a_deal(client):
    page = client.get("/drills").text
    assert 'action="/drills/from-deal"' not in page and "no deal files in this folder" in page


def test_a_drill_from_a_deal_is_stored_under_the_terminals_name_and_opens_its_first_step(deals_client, db):
    response = start_from_deal(deals_client)
    assert response.status_code == 303, response.text
    session = stored(db, int(response.headers["location"].rsplit("/", 1)[1]))
    assert session.drill == "deal:battery-plant-new-logo" and session.source.endswith(LIVE_DEAL)
    page = deals_client.get(response.headers["location"] + "?lang=en").text
    assert "Practice: " in page and current_step(page)[0] == "1"


def test_a_drill_from_a_deal_played_in_the_browser_is_finished_in_the_terminal(deals_client, tmp_path):
    url = start_from_deal(deals_client, trainee="浏览器实战").headers["location"]
    answer_first(deals_client, url)
    answers = tmp_path / "answers.txt"
    answers.write_text("1\n" * 60, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["drill", "run", "--resume", "--trainee", "浏览器实战", "--answers", str(answers), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert "(resuming at step 2)" in result.output and "--- Debrief ---" in result.output


@pytest.mark.parametrize("name", ["../secret.yaml", "/etc/passwd.yaml", "missing.yaml", ""])
def test_a_deal_outside_the_folder_or_missing_is_refused_before_any_drill(deals_client, db, name):
    response = start_from_deal(deals_client, deal=name)
    assert response.status_code == 400 and "Traceback" not in response.text
    assert not db.exists() or not Store(db).sessions("小陈")


def test_a_deal_file_with_problems_is_a_422_naming_the_file_and_field(deals_client):
    response = start_from_deal(deals_client, deal="broken.yaml")
    assert response.status_code == 422 and "broken.yaml" in response.text and "stage" in response.text
