"""Drill sessions in SQLite: every answer is committed the moment it is given.

A closed terminal, Ctrl-C or a killed process therefore loses nothing, and ``--resume`` replays
the stored answers to rebuild the deal exactly where the trainee stopped. The session also keeps
the drill as it was when it started, so editing a scenario file never breaks a session in
progress. WAL mode and a busy timeout let several drills write to one database at once.

The schema is versioned with SQLite's ``user_version``; :data:`MIGRATIONS` runs forward from
whatever version a database has.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dealcoach.engine.userdirs import data_dir

DB_ENV = "DEALCOACH_DB"
LOCK_WAIT_SECONDS = 30

MIGRATIONS: tuple[str, ...] = (
    # 1: sessions and their answers
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        trainee TEXT NOT NULL,
        drill TEXT NOT NULL,
        lang TEXT NOT NULL,
        spec TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE TABLE answers (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        position INTEGER NOT NULL,
        step_id TEXT NOT NULL,
        answer TEXT NOT NULL,
        score REAL NOT NULL,
        max_score REAL NOT NULL,
        concepts TEXT NOT NULL,
        answered_at TEXT NOT NULL,
        PRIMARY KEY (session_id, position)
    );
    """,
    # 2: where a drill generated from a live deal came from; faster lookups by trainee
    """
    ALTER TABLE sessions ADD COLUMN source TEXT;
    CREATE INDEX sessions_by_trainee ON sessions (trainee, drill, finished_at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StorageError(Exception):
    """The database cannot be used (unreadable, or made by a newer dealcoach)."""


def default_path() -> Path:
    """``DEALCOACH_DB``, else ``drills.sqlite3`` in the user's data folder."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV])
    return data_dir() / "drills.sqlite3"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Answer:
    position: int
    step_id: str
    answer: list[str]
    score: float
    max_score: float
    concepts: list[str]
    answered_at: str


@dataclass
class Session:
    id: int
    trainee: str
    drill: str
    lang: str
    spec: dict[str, Any]
    started_at: str
    finished_at: str | None
    source: str | None
    answers: list[Answer]


class Store:
    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, isolation_level=None)
            self._use_wal()
            self._migrate()
        except sqlite3.DatabaseError as err:
            raise StorageError(f"{path}: cannot use this file as the drill database ({err})") from None
        except OSError as err:
            raise StorageError(f"{path}: {err.strerror or err}") from None

    def _use_wal(self) -> None:
        """Switch to write-ahead logging, so drills can write side by side. The switch needs the
        file to itself for a moment and, unlike other statements, SQLite does not wait for that:
        it answers "locked" at once while another process is opening the same new database."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"{self.path} was written by a newer dealcoach (schema {version}, "
                    f"this one knows {SCHEMA_VERSION}); upgrade dealcoach to read it"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in filter(str.strip, MIGRATIONS[number].split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    def start(self, trainee: str, drill: str, lang: str, spec: dict[str, Any], source: str | None = None) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO sessions (trainee, drill, lang, spec, started_at, source) VALUES (?, ?, ?, ?, ?, ?)",
                (trainee, drill, lang, json.dumps(spec, ensure_ascii=False), now(), source),
            )
            return int(cursor.lastrowid or 0)

    def record(self, session_id: int, answer: Answer) -> None:
        """Store one answer; committed before this returns."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    answer.position,
                    answer.step_id,
                    json.dumps(answer.answer, ensure_ascii=False),
                    answer.score,
                    answer.max_score,
                    json.dumps(answer.concepts),
                    answer.answered_at,
                ),
            )

    def finish(self, session_id: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE sessions SET finished_at = ? WHERE id = ?", (now(), session_id))

    def unfinished(self, trainee: str, drill: str | None) -> Session | None:
        """The trainee's most recent session that has not finished (of this drill, if given)."""
        query = "SELECT id FROM sessions WHERE trainee = ? AND finished_at IS NULL"
        params: list[Any] = [trainee]
        if drill:
            query += " AND drill = ?"
            params.append(drill)
        row = self.db.execute(query + " ORDER BY id DESC LIMIT 1", params).fetchone()
        return self.session(row[0]) if row else None

    def session(self, session_id: int) -> Session:
        row = self.db.execute(
            "SELECT id, trainee, drill, lang, spec, started_at, finished_at, source FROM sessions WHERE id = ?",
            (session_id,),
        ).fetchone()
        answers = [
            Answer(r[0], r[1], json.loads(r[2]), r[3], r[4], json.loads(r[5]), r[6])
            for r in self.db.execute(
                "SELECT position, step_id, answer, score, max_score, concepts, answered_at FROM answers "
                "WHERE session_id = ? ORDER BY position",
                (session_id,),
            )
        ]
        return Session(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6], row[7], answers)

    def sessions(self, trainee: str | None = None) -> list[Session]:
        query, params = "SELECT id FROM sessions", []
        if trainee:
            query, params = query + " WHERE trainee = ?", [trainee]
        return [self.session(r[0]) for r in self.db.execute(query + " ORDER BY id", params).fetchall()]

    def close(self) -> None:
        self.db.close()
