"""What the control API answers a poller (the dashboard): the newest N items, or what a journal
took in after a cursor, so one poll costs what changed rather than the whole state."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from mock_kling.core.attempts import Attempt
from mock_kling.core.errors import KlingError
from mock_kling.core.journal import RequestRecord

MAX_LIMIT = 100_000


class Record(Protocol):
    def to_json(self) -> dict[str, Any]: ...


Item = TypeVar("Item")
R = TypeVar("R", bound=Record)


def request_key(record: RequestRecord) -> str:
    """A request's cursor: its request_id (unique)."""
    return record.request_id


def attempt_key(attempt: Attempt) -> str:
    """An attempt's cursor: what tells it from every other entry of the callback journal."""
    return f"{attempt.seq}.{attempt.attempt}.{attempt.at_ms}.{attempt.result}.{attempt.fault}"


def limit(args: Mapping[str, str]) -> int | None:
    """The `limit` query parameter: an integer in [1, MAX_LIMIT], or None when not given."""
    text = args.get("limit", "")
    if text == "":
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise KlingError(
            1200, f"query parameter limit must be an integer in [1, {MAX_LIMIT}] (got {text!r})"
        )
    return int(text)


def newest(items: Sequence[Item], args: Mapping[str, str]) -> Sequence[Item]:
    """The first `limit` items of a newest-first list (all of them without `limit`)."""
    count = limit(args)
    return items if count is None else items[:count]


def journal(items: Sequence[R], key: Callable[[R], str], args: Mapping[str, str]) -> Any:
    """A journal (oldest first) as the control API answers it. Without `since`: the list (its
    last `limit` entries). With `since`: {"items": entries after the entry whose cursor is
    `since` ("" = from the start), "cursor": the last entry's cursor, "restart": true when the
    items do not follow on from `since` (it left the journal, by a reset or the journal's bound,
    or `limit` cut the items): then they replace what the poller holds}."""
    count, since = limit(args), args.get("since")
    if since is None:
        kept = items if count is None else items[max(len(items) - count, 0) :]
        return [item.to_json() for item in kept]
    start = _after(items, key, since)
    restart = start is None
    fresh = items[start or 0 :]
    if count is not None and len(fresh) > count:
        fresh, restart = fresh[len(fresh) - count :], True
    cursor = key(items[-1]) if items else ""
    return {"items": [item.to_json() for item in fresh], "cursor": cursor, "restart": restart}


def _after(items: Sequence[R], key: Callable[[R], str], since: str) -> int | None:
    """The index after the entry whose cursor is `since` (searched from the newest: a poller is
    usually a few entries behind); 0 for ""; None when no entry has it."""
    if since == "":
        return 0
    for index in range(len(items) - 1, -1, -1):
        if key(items[index]) == since:
            return index + 1
    return None
