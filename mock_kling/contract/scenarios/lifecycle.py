"""The lifecycle as a Hypothesis state machine over submit / query / list / let time pass: status
only forward, terminal states stick, videos exactly when succeed, created_at fixed, updated_at
non-decreasing, external_task_id lookups equal task_id lookups, every task listed after create,
paging never repeats or skips, callbacks follow the status history."""

from __future__ import annotations

import functools
import itertools
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from mock_kling.contract.client.api import list_tasks, query_task, submit
from mock_kling.contract.client.polling import follow_to_end, look
from mock_kling.contract.generate.first_failure import FirstFailure
from mock_kling.contract.generate.strategies import BENIGN_PROMPTS, external_id, minimal_body
from mock_kling.contract.kit import Kit
from mock_kling.contract.reporting.masking import mask_urls
from mock_kling.contract.scenarios.checks import ContractViolation
from mock_kling.contract.scenarios.deliveries import check_deliveries, wait_for_deliveries
from mock_kling.contract.scenarios.history import TaskHistory

MAX_TASKS = 6
PAGE_WINDOW = 40  # tasks compared between small pages and one big page
SEARCH_PAGES = 4  # pages of 500 searched for a new task
# Prompt markers the fake understands; a real API gets none (every task runs its course).
FAKE_PLANS = ("", "mock:fail", "mock:fail_at_submit", "mock:stuck")


Method = TypeVar("Method", bound=Callable[..., None])


def _step(method: Method) -> Method:
    """Mark the machine as failed when a rule raises, so teardown does not pile on; where the
    first failure is kept (a paid target), do nothing once one is."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> None:
        if self.failure.halted:
            return
        try:
            with self.failure.guard():
                method(self, *args, **kwargs)
        except BaseException:
            self.failed = True
            raise
        self.failed = self.failed or self.failure.halted

    return cast(Method, run)


def lifecycle_machine(kit: Kit, failure: FirstFailure | None = None) -> type[RuleBasedStateMachine]:
    """A state machine class bound to `kit` (Hypothesis builds one instance per example);
    `failure` keeps the first violation where a re-run would re-send paid creates."""
    target = kit.target
    kept = failure or FirstFailure(False)
    plans = FAKE_PLANS if target.is_fake else ("",)
    keys = itertools.count(1)

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.tasks: list[TaskHistory] = []
            self.endless: set[str] = set()
            self.failed = False
            self.failure = kept
            if target.can_advance:
                target.reset()  # a fake the suite controls (it started it, or was let): start clean

        @initialize(plan=st.sampled_from(plans), external=st.booleans(), callback=st.booleans())
        @_step
        def first_submit(self, plan: str, external: bool, callback: bool) -> None:
            """Every example has at least one task (budget permitting)."""
            if target.budget.allows(1):
                self.submit(plan, external, callback)

        @precondition(lambda self: len(self.tasks) < MAX_TASKS and target.budget.allows(1))
        @rule(plan=st.sampled_from(plans), external=st.booleans(), callback=st.booleans())
        @_step
        def submit(self, plan: str, external: bool, callback: bool) -> None:
            body = minimal_body(prompt=f"{BENIGN_PROMPTS[0]} {plan}".strip())
            ext = external_id() if external else None
            key = (
                f"lc-{uuid.uuid4().hex[:8]}-{next(keys)}"
                if callback and kit.callbacks_reachable
                else None
            )
            if ext:
                body["external_task_id"] = ext
            if key:
                body["callback_url"] = kit.local.callback_url(key)
            created = submit(target, body, "lifecycle: submit")
            history = TaskHistory.from_created(created, ext, key)
            self.tasks.append(history)
            if plan == "mock:stuck":
                self.endless.add(history.task_id)
            self._check_listed(history)

        @precondition(lambda self: bool(self.tasks))
        @rule(data=st.data(), by_external=st.booleans())
        @_step
        def query(self, data: st.DataObject, by_external: bool) -> None:
            task = data.draw(st.sampled_from(self.tasks), label="task")
            look(
                kit,
                task,
                f"lifecycle: query by {'external id' if by_external else 'task id'}",
                by_external,
            )

        @precondition(lambda self: any(t.external_id for t in self.tasks))
        @rule(data=st.data())
        @_step
        def both_lookups(self, data: st.DataObject) -> None:
            task = data.draw(
                st.sampled_from([t for t in self.tasks if t.external_id]), label="task"
            )
            assert task.external_id is not None
            by_id = query_task(target, task.task_id, "lifecycle: lookup by task_id")
            by_external = query_task(target, task.external_id, "lifecycle: lookup by external id")
            _check_same_task(by_id, by_external, task)
            task.observe(by_id, "lifecycle: lookup by task_id")
            task.observe(by_external, "lifecycle: lookup by external id")

        @rule(page_size=st.integers(1, 7))
        @_step
        def page_through(self, page_size: int) -> None:
            reference = list_tasks(target, 1, 500, "lifecycle: list one big page")[:PAGE_WINDOW]
            seen: list[dict[str, Any]] = []
            for page_num in range(1, PAGE_WINDOW // page_size + 2):
                if len(seen) >= len(reference):
                    break
                page = list_tasks(target, page_num, page_size, f"lifecycle: list page {page_num}")
                if not page:
                    break
                seen.extend(page)
            _check_pages([t["task_id"] for t in seen], [t["task_id"] for t in reference], page_size)
            self._observe_listed(seen)

        @precondition(lambda self: target.can_advance or any(not t.ended for t in self.tasks))
        @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0]))
        @_step
        def let_time_pass(self, seconds: float) -> None:
            kit.pass_time(seconds)

        def teardown(self) -> None:
            if not self.tasks or self.failed:
                return
            with self.failure.guard():
                self._to_the_end()

        def _to_the_end(self) -> None:
            follow_to_end(kit, self.tasks, "lifecycle: to the end", self.endless)
            kit.pass_time(60.0)  # terminal states must stick
            for task in self.tasks:
                look(kit, task, "lifecycle: after the end")
            for task in self.tasks:
                if task.callback_key is not None:
                    self._check_callbacks(task)

        def _check_listed(self, task: TaskHistory) -> None:
            for page_num in range(1, SEARCH_PAGES + 1):
                page = list_tasks(target, page_num, 500, "lifecycle: list after create")
                if any(t["task_id"] == task.task_id for t in page) or len(page) < 500:
                    break
            if not any(t["task_id"] == task.task_id for t in page):
                raise ContractViolation(
                    "lifecycle.listed", f"task {task.task_id} is missing from the list after create"
                )

        def _observe_listed(self, listed: list[dict[str, Any]]) -> None:
            by_id = {t.task_id: t for t in self.tasks}
            for item in listed:
                if item["task_id"] in by_id:
                    by_id[item["task_id"]].observe(item, "lifecycle: a list item")

        def _check_callbacks(self, task: TaskHistory) -> None:
            assert task.callback_key is not None
            if task.task_id in self.endless:
                return
            check_deliveries(task, wait_for_deliveries(kit, task), "lifecycle")

    return Lifecycle


def _check_same_task(by_id: dict[str, Any], by_external: dict[str, Any], task: TaskHistory) -> None:
    a, b = mask_urls(by_id), mask_urls(by_external)
    if a["task_status"] != b["task_status"]:  # it moved on between the two calls: compare the rest
        stable = ("task_id", "created_at", "task_info")
        a, b = {k: a.get(k) for k in stable}, {k: b.get(k) for k in stable}
    if a != b:
        differing = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        raise ContractViolation(
            "lifecycle.external_lookup",
            f"task {task.task_id}: lookup by external id {task.external_id!r} differs from lookup "
            f"by task_id in {', '.join(differing)}",
        )


def _check_pages(paged: list[str], reference: list[str], page_size: int) -> None:
    repeated = sorted({i for i in paged if paged.count(i) > 1})
    if repeated:
        raise ContractViolation(
            "lifecycle.paging", f"pages of size {page_size} repeat task(s) {', '.join(repeated)}"
        )
    if paged[: len(reference)] != reference:
        skipped = [i for i in reference if i not in paged]
        problem = f"skip task(s) {', '.join(skipped)}" if skipped else "reorder tasks"
        raise ContractViolation(
            "lifecycle.paging", f"pages of size {page_size} {problem} (compared with one big page)"
        )
