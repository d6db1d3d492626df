"""The SQLite store beyond the conformance suite: fakes sharing one file, a store that fails and
recovers, readers beside an open write transaction, claims of a killed process, and store URLs
on the command line."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from mock_kling.assemble import build_backend
from mock_kling.cli import main
from mock_kling.core.backend import Backend
from mock_kling.core.clock import StoreClock
from mock_kling.core.config import Config
from mock_kling.core.delivery import Delivery
from mock_kling.http.app import create_app
from mock_kling.store import open_store
from mock_kling.store.sqlite import SqliteStore

from .conftest import API_PATH, valid_body
from .tasks import make_task

HEADERS = {"Authorization": "Bearer sk-k"}


def _fake(url: str, seed: int = 1) -> tuple[Backend, FlaskClient]:
    store = open_store(url)  # the manual clock kept in the file: replicas share its time
    backend = build_backend(Config(seed=seed, api_keys=["sk-k"]), StoreClock(store), store=store)
    return backend, create_app(backend=backend).test_client()


def _submit(client: FlaskClient, **overrides: Any) -> Any:
    return client.post(API_PATH, json=valid_body(**overrides), headers=HEADERS).get_json()


def test_two_fakes_on_one_file_share_tasks_and_never_issue_the_same_id(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/fake.db"
    (first, one), (_, two) = _fake(url), _fake(url)  # the same seed: the same id stream
    ids = []
    for n in range(5):
        ids.append(_submit(one, external_task_id=f"a{n}")["data"]["task_id"])
        ids.append(_submit(two, external_task_id=f"b{n}")["data"]["task_id"])
    assert len(set(ids)) == 10
    listed = two.get(f"{API_PATH}?pageNum=1&pageSize=500", headers=HEADERS).get_json()["data"]
    assert [task["task_id"] for task in listed] == ids[::-1]
    assert one.get(f"{API_PATH}/b4", headers=HEADERS).get_json()["data"]["task_id"] == ids[-1]
    refused = _submit(two, external_task_id="a0")
    assert refused["code"] == 1201  # the other fake's external id is taken here too
    first.advance(5)
    third, three = _fake(url)  # a restart: the manual clock resumes at the stored time
    assert third.now_ms() == first.now_ms()
    assert _submit(three)["data"]["task_id"] not in ids


def test_a_locked_store_answers_5000_naming_it_then_recovers(tmp_path: Path):
    path = tmp_path / "fake.db"
    url = f"sqlite:///{path}?timeout=0.05"
    backend, client = _fake(url)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, past the busy timeout
    answer = client.post(API_PATH, json=valid_body(), headers=HEADERS)
    assert answer.status_code == 500
    error = answer.get_json()
    assert error["code"] == 5000
    assert error["message"] == f"store {url} failed: database is locked"
    assert backend.task_count() == 0
    holder.execute("ROLLBACK")
    assert _submit(client)["code"] == 0  # the fake recovered by itself
    assert backend.task_count() == 1
    assert backend.errors == []  # a store failure is not a bug of the fake


def test_readers_read_while_a_write_transaction_is_open(tmp_path: Path):
    """WAL: a write transaction (BEGIN IMMEDIATE) blocks other writers only. Readers in other
    threads and other connections (processes) read the last commit at once: with a busy timeout
    of 0.05 s, a blocked reader would fail with "database is locked" instead."""
    path = str(tmp_path / "fake.db")
    store = SqliteStore(path, busy_timeout=0.05)
    store.add_task(make_task("1"))
    store.set_clock_ms(10)
    other = SqliteStore(path, busy_timeout=0.05)  # another process's connection to the file
    raw = sqlite3.connect(path, timeout=0, isolation_level=None)
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    opened, release = threading.Event(), threading.Event()

    def write() -> None:
        with store.atomic():
            store.add_task(make_task("2"))
            store.add_clock_ms(5)
            opened.set()
            assert release.wait(timeout=30)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert opened.wait(timeout=30)
        for reader in (store, other):  # another thread of the writing store; another store
            assert (reader.task_count(), reader.clock_ms()) == (1, 10)
            assert reader.task("1") is not None
            assert reader.task("2") is None  # not committed yet
        assert raw.execute("SELECT count(*) FROM tasks").fetchone() == (1,)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            raw.execute("BEGIN IMMEDIATE")  # a second writer waits (here: no wait at all)
    finally:
        release.set()
        writer.join(timeout=30)
    assert (other.task_count(), other.clock_ms()) == (2, 15)
    raw.close()
    other.close()
    store.close()


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="Linux shows flock waiters there")
def test_a_writer_of_another_process_waits_its_turn_on_the_writer_lock(tmp_path: Path):
    """Writers of two processes (two stores on one file) queue on `<file>-writer`: the second
    waits there, not in SQLite's sleeping retry, and writes as soon as the first one is done."""
    path = str(tmp_path / "fake.db")
    first, second = SqliteStore(path), SqliteStore(path)
    opened, release = threading.Event(), threading.Event()

    def write() -> None:
        with first.atomic():
            first.add_clock_ms(5)
            opened.set()
            assert release.wait(timeout=30)

    writer = threading.Thread(target=write)
    writer.start()
    assert opened.wait(timeout=30)

    def write_too() -> None:
        with second.atomic():  # a write transaction, as every check-and-change is
            second.add_clock_ms(1)

    waiter = threading.Thread(target=write_too)
    waiter.start()
    try:
        _wait_for_a_flock_waiter(path + "-writer")
        assert waiter.is_alive()
        assert second.clock_ms() is None  # the first write is not committed yet
    finally:
        release.set()
        writer.join(timeout=30)
        waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert second.clock_ms() == 6
    first.close()
    second.close()


def _wait_for_a_flock_waiter(path: str) -> None:
    """Return once /proc/locks shows a process blocked on a flock of `path` (within 30 s)."""
    inode = f":{os.stat(path).st_ino} "
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open("/proc/locks") as locks:
            if any("->" in line and "FLOCK" in line and inode in line for line in locks):
                return
    raise AssertionError(f"no writer waits on {path}")


def test_claims_of_a_killed_process_are_freed_when_a_store_opens(tmp_path: Path):
    path = str(tmp_path / "fake.db")
    store = SqliteStore(path)
    seq = store.next_delivery_seq()
    store.add_delivery(Delivery(seq, "t", "submitted", "http://r/h", {}, b"{}", 0, 0))
    (claimed,) = store.claim_due(0, 10)
    with sqlite3.connect(path) as db:  # as if a process that is gone had claimed it
        db.execute("UPDATE deliveries SET claimed_by = '2147483646:gone'")
    assert store.claim_due(0, 10) == []
    reopened = SqliteStore(path)
    (taken,) = reopened.claim_due(0, 10)
    assert taken == replace(claimed, taken_over=True, claim=taken.claim)  # journaled as such
    assert taken.claim != claimed.claim
    assert reopened.finish(taken)
    assert reopened.pending_deliveries() == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--store", "bogus://x"], "unknown store 'bogus://x'"),
        (["--store", "sqlite://host/x.db"], "write sqlite:///path/to/fake.db"),
        (["--store", "sqlite:///x.db?timeout=soon"], "timeout must be a number"),
        (["--store", "sqlite:///x.db", "--state", "y.db"], "give --store or --state, not both"),
    ],
)
def test_a_bad_store_url_is_a_one_line_error(arguments: list[str], message: str):
    result = CliRunner().invoke(main, ["serve", "--port", "0", *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_file_that_is_no_database_is_a_one_line_error(tmp_path: Path):
    old_state = tmp_path / "state.jsonl"
    old_state.write_text('{"kind":"meta","version":1,"seed":1}\n' * 100)
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--state", str(old_state)])
    assert result.exit_code == 1
    assert f"store sqlite:///{old_state} failed: file is not a database" in result.output
    assert "Traceback" not in result.output
