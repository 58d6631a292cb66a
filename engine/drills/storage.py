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
import socket
import sqlite3
import sys
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
    # 3: which process has a session open, so that two cannot answer the same step
    """
    CREATE TABLE claims (
        session_id INTEGER PRIMARY KEY REFERENCES sessions(id),
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        since TEXT NOT NULL,
        heartbeat REAL NOT NULL
    );
    """,
)
TABLES = {"sessions", "answers", "claims"}
STALE_CLAIM_SECONDS = 30 * 60  # a claim from another machine, untouched this long, is abandoned
SCHEMA_VERSION = len(MIGRATIONS)


class StorageError(Exception):
    """The database cannot be used (unreadable, damaged, full, or made by a newer dealcoach)."""


class SessionBusyError(StorageError):
    """Another process has the session open: answering here too would mix two runs' answers."""


def default_path() -> Path:
    """``DEALCOACH_DB``, else ``drills.sqlite3`` in the user's data folder."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV])
    return data_dir() / "drills.sqlite3"


def _alive(host: str, pid: int, heartbeat: float) -> bool:
    """Whether a claim's process may still be answering: on this machine, whether the process
    exists; on another (a shared folder), whether it wrote within :data:`STALE_CLAIM_SECONDS`."""
    if host != socket.gethostname() or sys.platform == "win32":  # Windows: os.kill(pid, 0) is Ctrl-C
        return time.time() - heartbeat < STALE_CLAIM_SECONDS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


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
    """The drill database. ``readonly`` opens it for reading only (``drill report`` on a database
    the user may not write): no journal switch, no migration, and it must already be current."""

    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = path
        self.owner = (socket.gethostname(), os.getpid())
        try:
            if readonly:
                self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
                self._check_version()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, isolation_level=None)
                self._use_wal()
                self._migrate()
            self._check_tables()
        except sqlite3.DatabaseError as err:
            raise StorageError(f"{path}: cannot use this file as the drill database ({err})") from None
        except OSError as err:
            raise StorageError(f"{path}: {err.strerror or err}") from None

    def _check_version(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            newer = "a newer" if version > SCHEMA_VERSION else "an older"
            raise StorageError(
                f"{self.path} was written by {newer} dealcoach (schema {version}, this one knows {SCHEMA_VERSION}) "
                "and cannot be changed here; open it once with write access to bring it up to date"
            )

    def _check_tables(self) -> None:
        """A file whose version says "drill database" but whose tables are gone is damaged: say so now,
        not with "no such table" halfway through a drill."""
        found = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = sorted(TABLES - found)
        if missing:
            raise StorageError(
                f"{self.path}: the drill database is damaged (table {', '.join(missing)} missing); "
                "move the file away to start a new one"
            )

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
            if self.db.in_transaction:  # SQLite may have rolled back already (a full disk does)
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def _writing(self, what: str) -> Iterator[sqlite3.Connection]:
        """A write transaction whose failure (a full disk, a read-only or damaged file) is a
        :class:`StorageError` saying what could not be saved."""
        try:
            with self._transaction() as db:
                yield db
        except sqlite3.Error as err:
            raise StorageError(f"{self.path}: could not save {what}: {err}") from None

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
        """A new session, claimed by this process."""
        with self._writing("the new session") as db:
            cursor = db.execute(
                "INSERT INTO sessions (trainee, drill, lang, spec, started_at, source) VALUES (?, ?, ?, ?, ?, ?)",
                (trainee, drill, lang, json.dumps(spec, ensure_ascii=False), now(), source),
            )
            session_id = int(cursor.lastrowid or 0)
            self._claim(db, session_id)
            return session_id

    def claim(self, session_id: int) -> None:
        """Make this process the one that answers ``session_id``; :class:`SessionBusyError` if another
        live process has it open. A claim whose process has died is taken over."""
        with self._writing("the session's claim") as db:
            self._claim(db, session_id)

    def _claim(self, db: sqlite3.Connection, session_id: int) -> None:
        row = db.execute(
            "SELECT host, pid, since, heartbeat FROM claims WHERE session_id = ?", (session_id,)
        ).fetchone()
        if row and (row[0], row[1]) != self.owner and _alive(row[0], row[1], row[3]):
            raise SessionBusyError(
                f"session {session_id} is open in another dealcoach (process {row[1]} on {row[0]}, since {row[2]}); "
                "finish or stop it there, then resume here"
            )
        if not row or (row[0], row[1]) != self.owner:
            db.execute(
                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?)", (session_id, *self.owner, now(), time.time())
            )
        else:
            db.execute("UPDATE claims SET heartbeat = ? WHERE session_id = ?", (time.time(), session_id))

    def release(self, session_id: int) -> None:
        """Let another process open the session (when a drill stops, however it stops). Best effort:
        a claim that cannot be removed is abandoned, and taken over once its process has gone."""
        try:
            with self._transaction() as db:
                db.execute(
                    "DELETE FROM claims WHERE session_id = ? AND host = ? AND pid = ?", (session_id, *self.owner)
                )
        except sqlite3.Error:
            pass

    def record(self, session_id: int, answer: Answer) -> None:
        """Store one answer; committed before this returns. The session must still be this process's."""
        with self._writing(f"the answer to step {answer.position + 1}") as db:
            self._claim(db, session_id)
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
        with self._writing("the end of the session") as db:
            db.execute("UPDATE sessions SET finished_at = ? WHERE id = ?", (now(), session_id))
            db.execute("DELETE FROM claims WHERE session_id = ?", (session_id,))

    def unfinished(self, trainee: str, drill: str | None) -> Session | None:
        """The trainee's most recent session that has not finished (of this drill, if given)."""
        query = "SELECT id FROM sessions WHERE trainee = ? AND finished_at IS NULL"
        params: list[Any] = [trainee]
        if drill:
            query += " AND drill = ?"
            params.append(drill)
        with self._reading("the sessions"):
            row = self.db.execute(query + " ORDER BY id DESC LIMIT 1", params).fetchone()
        return self.session(row[0]) if row else None

    @contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """Reads whose failure (damaged pages, a row that is not what this code wrote) is a
        :class:`StorageError` naming the database and what could not be read."""
        try:
            yield
        except (sqlite3.Error, ValueError, TypeError, IndexError) as err:  # json.JSONDecodeError is a ValueError
            raise StorageError(
                f"{self.path}: the drill database is damaged: cannot read {what} ({err}); "
                "move the file away to start a new one"
            ) from None

    def find(self, session_id: int) -> Session | None:
        """The session with this id, or None when there is none (an id typed into an address)."""
        with self._reading(f"session {session_id}"):
            found = self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone()
            return self._session(session_id) if found else None

    def session(self, session_id: int) -> Session:
        with self._reading(f"session {session_id}"):
            return self._session(session_id)

    def _session(self, session_id: int) -> Session:
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
        with self._reading("the sessions"):
            ids = [r[0] for r in self.db.execute(query + " ORDER BY id", params).fetchall()]
        return [self.session(i) for i in ids]

    def close(self) -> None:
        self.db.close()
