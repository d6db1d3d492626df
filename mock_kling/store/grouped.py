"""`Store.commit` for the stores whose `atomic()` keeps every other writer out (memory within its
process, SQLite's write transaction across processes): inside one group, compare each fact with
what the caller read, then write everything (a counted task: added to the usage as stored)."""

from __future__ import annotations

from mock_kling.core.commits import writable
from mock_kling.core.store import Change, Committed, Store


def commit_in_group(store: Store, change: Change) -> Committed:
    """`change` written by `store`'s own calls inside one `atomic()` group, or nothing."""
    with store.atomic():
        if not _as_read(store, change):
            return "changed"
        task = change.task
        if task is not None:
            if store.id_taken(task.task_id) or store.id_taken(task.video_id):
                return "id_taken"
            external = task.request.external_task_id
            if external is not None and store.external_id_taken(change.account, external):
                return "external_id_taken"
            store.add_task(task)
        _write(store, change)
        if change.counted is not None:
            usage = writable(store, store.usage(change.account))
            usage.count(change.counted)
            store.put_usage(change.account, usage)
        for delivery in change.deliveries:
            store.add_delivery(delivery)
        return "done"


def _as_read(store: Store, change: Change) -> bool:
    account = change.account
    facts: list[tuple[object, object]] = []
    if change.usage is not None:
        facts.append((store.usage(account), change.usage[0]))
    if change.fault_rules is not None:
        facts.append((store.fault_rules(), change.fault_rules[0]))
    if change.next_outcomes is not None:
        facts.append((store.next_outcomes(), change.next_outcomes[0]))
    if change.callback_faults is not None:
        facts.append((store.callback_faults(), change.callback_faults[0]))
    if change.limits is not None:
        facts.append((store.limits(account), change.limits[0]))
    return all(stored is read or stored == read for stored, read in facts)


def _write(store: Store, change: Change) -> None:
    account = change.account
    if change.usage is not None:
        store.put_usage(account, change.usage[1])
    if change.fault_rules is not None:
        store.put_fault_rules(change.fault_rules[1])
    if change.next_outcomes is not None:
        store.put_next_outcomes(change.next_outcomes[1])
    if change.callback_faults is not None:
        store.put_callback_faults(change.callback_faults[1])
    if change.limits is not None:
        store.set_limits(account, change.limits[1])
