"""One SQLite database file shared by threads and processes: a connection per thread (WAL mode,
a busy timeout), re-entrant write transactions, the schema, and every SQLite failure turned into
a StoreError that names the store."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from mock_kling.core.errors import KlingError

if sys.platform != "win32":
    import fcntl
from mock_kling.core.store import StoreError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    n INTEGER PRIMARY KEY,            -- creation order, all accounts
    task_id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    ordinal INTEGER NOT NULL,         -- creation order within the account, from 1
    external_id TEXT,
    video_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    request TEXT NOT NULL,            -- JSON, never changes
    plan TEXT NOT NULL                -- JSON: timeline and outcome
);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_by_ordinal ON tasks (account, ordinal);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_by_external_id ON tasks (account, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_by_video_id ON tasks (video_id);
CREATE TABLE IF NOT EXISTS accounts (
    account TEXT PRIMARY KEY,
    tasks INTEGER NOT NULL DEFAULT 0,
    limits TEXT,                      -- JSON, set through the control API
    usage TEXT                        -- JSON
);
CREATE TABLE IF NOT EXISTS steps (    -- the next unannounced step of each running task
    task_id TEXT PRIMARY KEY,
    step INTEGER NOT NULL,
    at_ms INTEGER,                    -- NULL: stuck (a re-plan may give it more steps)
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS steps_by_time ON steps (at_ms, seq);
CREATE TABLE IF NOT EXISTS rules (kind TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (n INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (n INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    due_ms INTEGER NOT NULL,
    data TEXT NOT NULL,               -- JSON
    claimed_by TEXT,                  -- "pid:token" of the store that sends it now
    lease_until INTEGER               -- wall-clock ms: after it, anyone may claim it again
);
CREATE INDEX IF NOT EXISTS deliveries_by_task ON deliveries (task_id, seq);
CREATE INDEX IF NOT EXISTS deliveries_by_due ON deliveries (due_ms);
"""
TABLES = ("tasks", "accounts", "steps", "rules", "meta", "requests", "attempts", "deliveries")
Row = tuple[Any, ...]


class Database:
    """A SQLite file, safe from any thread; `url` names it in error messages."""

    def __init__(self, path: str, url: str, busy_timeout: float = 5.0) -> None:
        self.path, self.url, self._timeout = path, url, busy_timeout
        self._local = threading.local()
        self._lock = threading.RLock()  # this process's writers queue here, not on the file
        self._connections: list[sqlite3.Connection] = []
        self._writer_fd = _open_writer_lock(path)
        with self.atomic():
            version = self.one("PRAGMA user_version")
            if version is not None and version[0] not in (0, SCHEMA_VERSION):
                raise StoreError(url, f"its schema version is {version[0]}, not 1")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.run(statement)
            self.run(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def failed(self, exc: BaseException) -> StoreError:
        return StoreError(self.url, str(exc))

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """A write transaction (BEGIN IMMEDIATE); re-entrant per thread. It commits, also when a
        KlingError refusal leaves it (what was done stays done, as in memory), and rolls back
        on any other exception."""
        local = self._local
        if getattr(local, "depth", 0):
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        with self._lock, self._writer():
            self.run("BEGIN IMMEDIATE")
            local.depth = 1
            try:
                yield
            except KlingError:
                self._end("COMMIT")
                raise
            except BaseException:
                self._end("ROLLBACK")
                raise
            self._end("COMMIT")

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """Writers of other processes queue on `<file>-writer` (a flock), and the kernel wakes
        the next one the moment a write ends. SQLite's own wait for its write lock sleeps 1, 2,
        5, 10, 15, 20 ms and more between tries: a second process would idle through most of
        its turn (measured: `--workers 2` submitted 1.0x what one worker did, 1.4x with this).
        The wait has no time limit: a writer holds the file for one short transaction; one
        that dies lets go at once; one frozen inside a write (SIGSTOP) holds the others until
        it resumes or dies."""
        fd = self._writer_fd
        if fd is not None:  # None: no flock here (Windows), SQLite's own wait
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _end(self, statement: str) -> None:
        self._local.depth = 0
        try:
            self.connection().execute(statement)
        except sqlite3.Error as exc:
            if statement == "COMMIT":
                self._rollback()
                raise self.failed(exc) from exc

    def _rollback(self) -> None:
        with suppress(sqlite3.Error):  # no transaction left to roll back
            self.connection().execute("ROLLBACK")

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(
                    self.path, timeout=self._timeout, isolation_level=None,
                    check_same_thread=False,
                )  # fmt: skip
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")  # a killed process loses nothing
            except sqlite3.Error as exc:
                raise self.failed(exc) from exc
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def run(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; how many rows it changed."""
        try:
            return self.connection().execute(sql, tuple(params)).rowcount
        except sqlite3.Error as exc:
            raise self.failed(exc) from exc

    def run_many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        try:
            self.connection().executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self.failed(exc) from exc

    def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        try:
            return self.connection().execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise self.failed(exc) from exc

    def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        try:
            row: Row | None = self.connection().execute(sql, tuple(params)).fetchone()
            return row
        except sqlite3.Error as exc:
            raise self.failed(exc) from exc

    def value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """The first column of the first row (None: no row)."""
        row = self.one(sql, params)
        return None if row is None else row[0]

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
            self._local = threading.local()
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None


def _open_writer_lock(path: str) -> int | None:
    """The file the writers of `path` take turns on (`<path>-writer`, beside SQLite's `-wal` and
    `-shm`), open; None where there is no flock, or the database is not a file."""
    if sys.platform == "win32" or path == ":memory:" or path.startswith("file:"):
        return None
    try:
        return os.open(path + "-writer", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None  # a read-only folder: SQLite's own wait
