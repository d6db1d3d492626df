"""The SQLite Store: everything the fake remembers in one database file, durable across restarts
and shared by the processes on a host that open it (each change is one transaction). Tasks are
rows, paged newest first by their ordinal in the account; plans, rules, usage and journals are
JSON (store/codec.py); the callback queue is in store/sqlite/deliveries.py."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from contextlib import AbstractContextManager
from functools import lru_cache

from mock_kling.core.attempts import Attempt
from mock_kling.core.delivery import CallbackFault, Delivery
from mock_kling.core.faults import FaultRule
from mock_kling.core.journal import RequestRecord, bounded
from mock_kling.core.limits import Limits, Usage
from mock_kling.core.outcomes import Outcome
from mock_kling.core.rules import NextOutcome
from mock_kling.core.store import Change, Committed, SubmitFacts
from mock_kling.core.tasks import Step, Task, TaskRequest
from mock_kling.store import codec
from mock_kling.store.grouped import commit_in_group
from mock_kling.store.sqlite.db import TABLES, Database, Row
from mock_kling.store.sqlite.deliveries import SqliteDeliveries

_DECODED = 4096  # recently read requests and plans, by their JSON text (a page re-read is cheap)
_TASK = "SELECT task_id, account, created_at, video_id, request, plan FROM tasks"


@lru_cache(maxsize=_DECODED)
def _request(text: str) -> TaskRequest:
    return codec.request_from(codec.loads(text))


@lru_cache(maxsize=_DECODED)
def _plan(text: str) -> tuple[tuple[Step, ...], Outcome]:
    return codec.plan_from(codec.loads(text))


_ADD_CLOCK = """INSERT INTO meta (key, value) VALUES ('clock_ms', ?1)
    ON CONFLICT (key) DO UPDATE SET value = value + ?1 RETURNING value"""
_RAISE_CLOCK = """INSERT INTO meta (key, value) VALUES ('clock_ms', ?1)
    ON CONFLICT (key) DO UPDATE SET value = max(value, ?1) RETURNING value"""


class SqliteStore:
    """A Store in the SQLite file at `path` (created when missing)."""

    shared = True

    def __init__(
        self, path: str, *, url: str | None = None, busy_timeout: float = 5.0,
        request_limit: int = 10_000, attempt_limit: int = 100_000,
    ) -> None:  # fmt: skip
        self.url = url or f"sqlite:///{path}"
        self._db = Database(path, self.url, busy_timeout)
        self._request_limit, self._attempt_limit = request_limit, attempt_limit
        self._queue = SqliteDeliveries(self._db)

    def atomic(self) -> AbstractContextManager[object]:
        return self._db.atomic()

    def commit(self, change: Change) -> Committed:
        return commit_in_group(self, change)

    def loop_reads(self) -> None:
        """None: sqlite3 has no asynchronous calls; an event loop makes them from threads."""
        return None

    def close(self) -> None:
        self._queue.close()
        self._db.close()

    def reset(self) -> None:
        with self._db.atomic():
            for table in TABLES:
                self._db.run(f"DELETE FROM {table}")

    # --- tasks ------------------------------------------------------------------------------

    def add_task(self, task: Task) -> None:
        db, account = self._db, task.account_id
        with db.atomic():
            ordinal = db.value(
                "INSERT INTO accounts (account, tasks) VALUES (?, 1) ON CONFLICT (account) "
                "DO UPDATE SET tasks = tasks + 1 RETURNING tasks",
                (account,),
            )
            db.run(
                "INSERT INTO tasks (task_id, account, ordinal, external_id, video_id, created_at,"
                " request, plan) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (task.task_id, account, ordinal, task.request.external_task_id, task.video_id,
                 task.created_at, codec.dumps(codec.request_json(task.request)),
                 codec.dumps(codec.plan_json(task))),
            )  # fmt: skip
            self._schedule_step(task, 1, None)

    def replan(self, task_id: str, task: Task) -> None:
        db = self._db
        with db.atomic():
            db.run("UPDATE tasks SET plan = ? WHERE task_id = ?",
                   (codec.dumps(codec.plan_json(task)), task_id))  # fmt: skip
            row = db.one("SELECT step, at_ms, seq FROM steps WHERE task_id = ?", (task_id,))
            if row is not None:
                self._schedule_step(task, row[0], row)

    def task(self, task_id: str) -> Task | None:
        return self._task(self._db.one(f"{_TASK} WHERE task_id = ?", (task_id,)))

    def find_task(self, account: str, ref: str) -> Task | None:
        row = self._db.one(f"{_TASK} WHERE task_id = ? AND account = ?", (ref, account))
        if row is None:
            row = self._db.one(f"{_TASK} WHERE account = ? AND external_id = ?", (account, ref))
        return self._task(row)

    def external_id_taken(self, account: str, external_task_id: str) -> bool:
        sql = "SELECT 1 FROM tasks WHERE account = ? AND external_id = ?"
        return self._db.one(sql, (account, external_task_id)) is not None

    def id_taken(self, value: str) -> bool:
        sql = "SELECT EXISTS (SELECT 1 FROM tasks WHERE task_id = ?) OR "
        sql += "EXISTS (SELECT 1 FROM tasks WHERE video_id = ?)"
        return bool(self._db.value(sql, (value, value)))

    def page(self, account: str, page_num: int, page_size: int) -> list[Task]:
        count = self._db.value("SELECT tasks FROM accounts WHERE account = ?", (account,))
        high = (count or 0) - (page_num - 1) * page_size
        if high <= 0:
            return []
        sql = f"{_TASK} WHERE account = ? AND ordinal > ? AND ordinal <= ? ORDER BY ordinal DESC"
        return self._tasks(self._db.all(sql, (account, high - page_size, high)))

    def all_tasks(self) -> list[Task]:
        return self._tasks(self._db.all(f"{_TASK} ORDER BY n DESC"))

    def task_by_video(self, video_id: str) -> Task | None:
        return self._task(self._db.one(f"{_TASK} WHERE video_id = ?", (video_id,)))

    def task_count(self) -> int:
        return int(self._db.value("SELECT COALESCE(SUM(tasks), 0) FROM accounts"))

    def pop_reached_steps(self, now_ms: int) -> list[tuple[Task, Step]]:
        reached: list[tuple[Task, Step]] = []
        db = self._db
        if db.one("SELECT 1 FROM steps WHERE at_ms <= ? LIMIT 1", (now_ms,)) is None:
            return reached  # nothing due: no write lock taken (a driver looks 4 times a second)
        with db.atomic():
            due = db.all(
                "SELECT at_ms, seq, task_id, step FROM steps WHERE at_ms <= ? ORDER BY at_ms, seq",
                (now_ms,),
            )
            heapq.heapify(due)
            while due:
                _, _, task_id, index = heapq.heappop(due)
                task = self.task(task_id)
                assert task is not None, f"a step of the unknown task {task_id}"
                reached.append((task, task.timeline[index]))
                at_seq = self._schedule_step(task, index + 1, None)
                if at_seq is not None and at_seq[0] <= now_ms:
                    heapq.heappush(due, (*at_seq, task_id, index + 1))
        return reached

    def next_step_ms(self) -> int | None:
        value: int | None = self._db.value("SELECT MIN(at_ms) FROM steps")
        return value

    def _schedule_step(self, task: Task, index: int, current: Row | None) -> tuple[int, int] | None:
        """Make step `index` the task's next unannounced one (`current`: its steps row, when
        re-planned); forget a task whose end was announced. Returns its (at_ms, seq)."""
        db = self._db
        if task.announced_end(index):
            db.run("DELETE FROM steps WHERE task_id = ?", (task.task_id,))
            return None
        at = task.announce_at(index)
        if current is not None and current[1] == at:
            return None if at is None else (at, current[2])  # unchanged: keeps its place
        seq = self._counter("step_seq")
        db.run("INSERT OR REPLACE INTO steps (task_id, step, at_ms, seq) VALUES (?, ?, ?, ?)",
               (task.task_id, index, at, seq))  # fmt: skip
        return None if at is None else (at, seq)

    def _counter(self, key: str) -> int:
        """The next value of a counter (1 first)."""
        value: int = self._db.value(
            "INSERT INTO meta (key, value) VALUES (?, 1) ON CONFLICT (key) "
            "DO UPDATE SET value = value + 1 RETURNING value",
            (key,),
        )
        return value

    def _task(self, row: Row | None) -> Task | None:
        return None if row is None else next(self._decoded([row]))

    def _tasks(self, rows: list[Row]) -> list[Task]:
        return list(self._decoded(rows))

    def _decoded(self, rows: list[Row]) -> Iterator[Task]:
        for task_id, account, created_at, video_id, request, plan in rows:
            timeline, outcome = _plan(plan)
            yield Task(task_id, account, _request(request), created_at, video_id, timeline, outcome)

    # --- accounts ---------------------------------------------------------------------------

    def limits(self, account: str) -> Limits | None:
        text = self._db.value("SELECT limits FROM accounts WHERE account = ?", (account,))
        return None if text is None else codec.limits_from(codec.loads(text))

    def set_limits(self, account: str, limits: Limits) -> None:
        self._put_account("limits", account, codec.dumps(codec.limits_json(limits)))

    def changed_limits(self) -> dict[str, Limits]:
        rows = self._db.all("SELECT account, limits FROM accounts WHERE limits IS NOT NULL")
        return {account: codec.limits_from(codec.loads(text)) for account, text in rows}

    def usage(self, account: str) -> Usage:
        text = self._db.value("SELECT usage FROM accounts WHERE account = ?", (account,))
        return Usage() if text is None else codec.usage_from(codec.loads(text))

    def put_usage(self, account: str, usage: Usage) -> None:
        self._put_account("usage", account, codec.dumps(codec.usage_json(usage)))

    def admission(self, account: str) -> tuple[list[FaultRule], Limits | None]:
        return self.fault_rules(), self.limits(account)

    def submit_facts(self, account: str, usage_too: bool) -> SubmitFacts:
        limits = self.limits(account)
        usage = self.usage(account) if usage_too or limits is not None else None
        return SubmitFacts(usage, limits, self.next_outcomes())

    def _put_account(self, column: str, account: str, text: str) -> None:
        with self._db.atomic():
            self._db.run(
                f"INSERT INTO accounts (account, {column}) VALUES (?, ?) "
                f"ON CONFLICT (account) DO UPDATE SET {column} = excluded.{column}",
                (account, text),
            )

    # --- rules ------------------------------------------------------------------------------

    def fault_rules(self) -> list[FaultRule]:
        return [codec.fault_rule_from(data) for data in self._rules("faults")]

    def put_fault_rules(self, rules: list[FaultRule]) -> None:
        self._put_rules("faults", [codec.fault_rule_json(rule) for rule in rules])

    def next_outcomes(self) -> list[NextOutcome]:
        return [codec.next_outcome_from(data) for data in self._rules("outcomes")]

    def put_next_outcomes(self, rules: list[NextOutcome]) -> None:
        self._put_rules("outcomes", [codec.next_outcome_json(rule) for rule in rules])

    def callback_faults(self) -> list[CallbackFault]:
        return [codec.callback_fault_from(data) for data in self._rules("callback_faults")]

    def put_callback_faults(self, faults: list[CallbackFault]) -> None:
        self._put_rules("callback_faults", [codec.callback_fault_json(f) for f in faults])

    def _rules(self, kind: str) -> list[codec.JSON]:
        text = self._db.value("SELECT data FROM rules WHERE kind = ?", (kind,))
        return [] if text is None else list(codec.loads(text))

    def _put_rules(self, kind: str, rules: list[codec.JSON]) -> None:
        with self._db.atomic():
            sql = "INSERT OR REPLACE INTO rules (kind, data) VALUES (?, ?)"
            self._db.run(sql, (kind, codec.dumps(rules)))

    # --- journals ---------------------------------------------------------------------------

    def add_request(self, record: RequestRecord) -> None:
        self._append("requests", codec.record_json(bounded(record)), self._request_limit)

    def requests(self) -> list[RequestRecord]:
        return [codec.record_from(data) for data in self._journal("requests")]

    def add_attempt(self, attempt: Attempt) -> None:
        self._append("attempts", codec.attempt_json(attempt), self._attempt_limit)

    def attempts(self) -> list[Attempt]:
        return [codec.attempt_from(data) for data in self._journal("attempts")]

    def _append(self, table: str, data: codec.JSON, limit: int) -> None:
        """Add an entry, then drop the oldest beyond `limit`."""
        with self._db.atomic():
            n = self._db.value(f"INSERT INTO {table} (data) VALUES (?) RETURNING n",
                               (codec.dumps(data),))  # fmt: skip
            self._db.run(f"DELETE FROM {table} WHERE n <= ?", (n - limit,))

    def _journal(self, table: str) -> Iterator[codec.JSON]:
        rows = self._db.all(f"SELECT data FROM {table} ORDER BY n")
        return (codec.loads(text) for (text,) in rows)

    # --- the manual clock -------------------------------------------------------------------

    def clock_ms(self) -> int | None:
        value: int | None = self._db.value("SELECT value FROM meta WHERE key = 'clock_ms'")
        return value

    def set_clock_ms(self, now_ms: int) -> None:
        self._db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('clock_ms', ?)", (now_ms,))

    # One statement each: SQLite runs a statement atomically, in its own write transaction when
    # none is open, so concurrent moves from threads and processes never lose one another's.
    def add_clock_ms(self, delta_ms: int) -> int:
        return self._clock_move(_ADD_CLOCK, delta_ms)

    def raise_clock_ms(self, to_ms: int) -> int:
        return self._clock_move(_RAISE_CLOCK, to_ms)

    def _clock_move(self, sql: str, ms: int) -> int:
        # all(), not one(): the statement must run to its end for its transaction to commit
        ((value,),) = self._db.all(sql, (ms,))
        return int(value)

    # --- pending callback deliveries: the queue, a part of its own (deliveries.py) -------------

    def next_delivery_seq(self) -> int:
        return self._queue.next_delivery_seq()

    def add_delivery(self, delivery: Delivery) -> None:
        self._queue.add_delivery(delivery)

    def claim_due(self, now_ms: int, limit: int) -> list[Delivery]:
        return self._queue.claim_due(now_ms, limit)

    def put_back(self, delivery: Delivery) -> bool:
        return self._queue.put_back(delivery)

    def finish(self, delivery: Delivery) -> bool:
        return self._queue.finish(delivery)

    def cancel_deliveries(self, task_id: str, after_ms: int) -> None:
        self._queue.cancel_deliveries(task_id, after_ms)

    def next_delivery_ms(self) -> int | None:
        return self._queue.next_delivery_ms()

    def pending_deliveries(self) -> int:
        return self._queue.pending_deliveries()

    def claimed_deliveries(self) -> int:
        return self._queue.claimed_deliveries()
