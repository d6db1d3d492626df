"""The request contracts as the fake applies them outside the create body: the paging rules of
list_request.json."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from mock_kling.apispec import bundle
from mock_kling.core import requests


@functools.cache
def list_request() -> dict[str, Any]:
    """The list-request contract (shared: do not mutate)."""
    return bundle.schema("list_request")


def parse_paging(args: Mapping[str, str]) -> tuple[int, int]:
    """`pageNum` and `pageSize` from a query string, by the list-request contract's defaults and
    ranges (KlingError 1201 naming the rule)."""
    return requests.parse_paging(args, list_request())
