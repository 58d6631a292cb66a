"""Drill answers survive what goes wrong around them: a second process on the same session, a
full disk, a damaged or read-only database, Ctrl-C while answers are piped in."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.drills import storage
from tests.conftest import ROOT

DRILL = ["drill", "run", "bank-oa-decision-maker", "--lang", "en", "--trainee", "amy"]
ANSWERS = ["2", "opponent", "4", "1", "2", "1"]  # one answer per step, in order
RESUME = ["drill", "run", "--resume", "--lang", "en", "--trainee", "amy"]


def run(db: Path, args: list[str], answers: list[str]):
    result = CliRunner().invoke(main, [*args, "--db", str(db)], input="".join(f"{a}\n" for a in answers))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def stored(db: Path) -> list[list[str]]:
    [session] = storage.Store(db).sessions("amy")
    return [a.answer for a in session.answers]


@pytest.mark.slow
def test_a_session_open_in_one_process_is_refused_to_another_and_no_answer_is_lost(tmp_path):
    db = tmp_path / "d.db"
    assert run(db, DRILL, ANSWERS[:1]).exit_code == 2  # the answers ran out: saved, resumable
    first = subprocess.Popen(
        [sys.executable, "-m", "dealcoach", *RESUME, "--db", str(db)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first.stdout is not None and first.stdin is not None
    for line in first.stdout:  # until the first process has claimed the session and waits for an answer
        if "(resuming at step 2)" in line:
            break
    else:
        pytest.fail(f"the first process stopped: {first.stderr.read()}")
    second = run(db, RESUME, ANSWERS[1:])
    assert second.exit_code == 2
    assert "session 1 is open in another dealcoach (process" in second.stderr
    first.stdin.write("".join(f"{a}\n" for a in ANSWERS[1:]))
    first.stdin.close()
    assert first.wait(timeout=120) == 0
    answers = stored(db)
    assert len(answers) == 6 and answers[:2] == [["王敏"], ["opponent"]]


def test_a_claim_left_by_a_dead_process_is_taken_over(tmp_path):
    db = tmp_path / "d.db"
    assert run(db, DRILL, ANSWERS[:1]).exit_code == 2  # the answers ran out: saved, resumable
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store = storage.Store(db)
    store.db.execute("UPDATE claims SET pid = ?", (int(dead.stdout),))
    assert run(db, RESUME, ANSWERS[1:]).exit_code == 0
    assert len(stored(db)) == 6


def full_disk(monkeypatch, failures: int) -> None:
    """The next ``failures`` answers meet a full disk, as SQLite reports it."""
    real = storage.Store._claim
    left = [failures]

    def claim(self, db, session_id):
        if left[0] and db.execute("SELECT count(*) FROM answers").fetchone()[0] >= 1:
            left[0] -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, db, session_id)

    monkeypatch.setattr(storage.Store, "_claim", claim)


def test_an_answer_the_disk_could_not_take_is_kept_and_saved_with_the_next(tmp_path, monkeypatch):
    db = tmp_path / "d.db"
    full_disk(monkeypatch, failures=1)
    result = run(db, DRILL, ANSWERS)
    assert result.exit_code == 0
    assert "Not saved yet" in result.stderr and "database or disk is full" in result.stderr
    assert len(stored(db)) == 6


def test_answers_still_unsaved_at_the_end_are_shown_so_none_is_lost(tmp_path, monkeypatch):
    db = tmp_path / "d.db"
    full_disk(monkeypatch, failures=100)
    result = run(db, DRILL, ANSWERS)
    assert result.exit_code == 2
    assert "5 answer(s) could not be saved" in result.stderr
    # the options the answers chose, in the order amy's first attempt shows them (seeded, tests/test_drills.py)
    assert result.stderr.rstrip().endswith("opponent\namiable\nfeatures-to-purchasing\ninfluential_opponent\ndefuse")


def damaged(path: Path, how: str) -> None:
    run(path, DRILL, ANSWERS[:2])
    db = sqlite3.connect(path)
    if how == "bad json":
        db.execute("UPDATE answers SET answer = '[not json' WHERE position = 1")
    elif how == "no option":
        db.execute("""UPDATE answers SET answer = '["nobody"]' WHERE position = 1""")
    elif how == "extra rows":
        for position in range(2, 12):
            db.execute(
                "INSERT INTO answers SELECT session_id, ?, step_id, answer, score, max_score, concepts, answered_at "
                "FROM answers WHERE position = 0",
                (position,),
            )
    elif how == "bad spec":
        db.execute("UPDATE sessions SET spec = '{\"name\": 1}'")
    elif how == "no tables":
        db.executescript("DROP TABLE answers; DROP TABLE claims; DROP TABLE sessions;")
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    if how == "malformed pages":
        data = bytearray(path.read_bytes())
        data[4096:] = b"\xff" * (len(data) - 4096)  # every page after the first
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["bad json", "no option", "extra rows", "bad spec", "no tables", "malformed pages"])
def test_a_damaged_database_gets_a_clear_message(tmp_path, how):
    db = tmp_path / "d.db"
    damaged(db, how)
    for args in (RESUME, ["drill", "report"]):
        result = run(db, args, ANSWERS[2:])
        if args is RESUME or how in ("bad json", "no tables", "malformed pages"):
            assert result.exit_code == 2, (how, args, result.output)
            assert result.stderr.startswith("dealcoach: "), result.stderr
            assert len(result.stderr.splitlines()) == 1


def test_resume_without_the_layers_the_session_started_with_names_them(tmp_path):
    db = tmp_path / "d.db"
    run(db, DRILL, ANSWERS[:1])
    layer = tmp_path / "acme"
    sqlite3.connect(db).execute(
        "UPDATE sessions SET spec = json_set(spec, '$.layers', json(?), '$.scenario.steps[0].kind', 'riddle')",
        (json.dumps([str(layer)]),),
    ).connection.commit()
    result = run(db, RESUME, ANSWERS[1:])
    assert result.exit_code == 2
    assert f"it was started with --kb {layer}" in result.stderr


def test_report_reads_a_database_it_may_not_write(tmp_path, monkeypatch):
    db = tmp_path / "d.db"
    run(db, DRILL, ANSWERS)
    os.chmod(db, 0o444)
    if os.access(db, os.W_OK):  # root writes anything: make opening for writing fail as it would
        opened = storage.Store.__init__

        def read_only(self, path, *, readonly=False):
            if not readonly:
                raise storage.StorageError(f"{path}: cannot use this file (attempt to write a readonly database)")
            opened(self, path, readonly=True)

        monkeypatch.setattr(storage.Store, "__init__", read_only)
    result = run(db, ["drill", "report", "--trainee", "amy"], [])
    assert result.exit_code == 0, result.output
    assert "amy" in result.output


@pytest.mark.slow
def test_ctrl_c_in_a_piped_drill_exits_130_and_says_progress_is_saved(tmp_path):
    db = tmp_path / "d.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "dealcoach", *DRILL, "--db", str(db)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("2\n")
    process.stdin.flush()
    for line in process.stdout:
        if "Right: 王敏" in line:
            break
    else:
        pytest.fail("the drill stopped before the first feedback")
    time.sleep(0.5)  # waiting for the next piped answer
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Progress saved; continue with --resume." in out
    assert stored(db) == [["王敏"]]
