"""Every endpoint answers in its contract, error answers included: list pages, unknown task and
external ids, out-of-range paging. All free."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_kling.contract.client.api import check_ok, list_tasks, send_list, send_query
from mock_kling.contract.kit import Kit
from mock_kling.contract.scenarios.checks import (
    PARAMETER_CODES,
    UNKNOWN_RESOURCE_CODES,
    ContractViolation,
    check_refused,
)

pytestmark = pytest.mark.cost(0)


@pytest.mark.needs("list")
def test_list_pages_conform(kit: Kit) -> None:
    @settings(kit.settings)
    @given(st.integers(1, 1000), st.integers(1, 500))
    def run(page_num: int, page_size: int) -> None:
        where = f"list pageNum={page_num} pageSize={page_size}"
        tasks = list_tasks(kit.target, page_num, page_size, where)
        if len(tasks) > page_size:
            raise ContractViolation("list.page_size", f"{where}: {len(tasks)} tasks")

    run()


@pytest.mark.needs("list")
def test_list_with_default_paging_conforms(kit: Kit) -> None:
    answer = send_list(kit.target, None, None)
    check_ok(answer, "list", "list without pageNum and pageSize", kit.target.profile)


@pytest.mark.parametrize(
    "ref",
    ["999999999999999999", "0", f"ct-unknown-{uuid.uuid4().hex}"],
    ids=["18-digit", "zero", "unknown-text"],  # stable ids: pytest-xdist's workers must agree
)
def test_unknown_task_is_refused(kit: Kit, ref: str) -> None:
    kit.target.routes.require("query_external" if ref.startswith("ct-") else "query")
    answer = send_query(kit.target, ref)
    where = f"query unknown id {ref!r}"
    check_refused(
        answer, "query", where, UNKNOWN_RESOURCE_CODES, "an unknown id", kit.target.profile
    )


@pytest.mark.needs("list")
@pytest.mark.parametrize(
    ("page_num", "page_size"),
    [(0, 10), (1001, 10), (1, 0), (1, 501), (-1, 10), ("x", 10), (1, "1.5")],
)
def test_paging_out_of_range_is_refused(kit: Kit, page_num: object, page_size: object) -> None:
    answer = send_list(kit.target, page_num, page_size)  # type: ignore[arg-type]
    where = f"list pageNum={page_num} pageSize={page_size} (ranges [1, 1000] and [1, 500])"
    check_refused(answer, "list", where, PARAMETER_CODES, "out-of-range paging", kit.target.profile)
