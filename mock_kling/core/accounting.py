"""A part of the Backend, accounting: admission, account limits and usage, fault rules and
callback faults set through the control API, and where callbacks may go."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from mock_kling.core.auth import Account
from mock_kling.core.commits import commit_decided, writable
from mock_kling.core.delivery import CallbackFault
from mock_kling.core.errors import KlingError
from mock_kling.core.events import Event, LimitsChanged
from mock_kling.core.faults import Fault, FaultRule, take_fault
from mock_kling.core.limits import Limits, check_request
from mock_kling.core.settings import Settings
from mock_kling.core.store import Change, Store


class Accounting:
    """Accounts over the fake's store; the Backend holds one and hands its calls on."""

    def __init__(
        self, store: Store, settings: Settings, emit: Callable[[Event], None],
        now_ms: Callable[[], int],
    ) -> None:  # fmt: skip
        self._store, self._settings, self._emit, self.now_ms = store, settings, emit, now_ms

    # --- admission: injected faults, the account's state and rate ---

    def plain_sailing(self, account: Account) -> bool:
        """No fault rule, rate limit or account state can touch this account's next call."""
        return self.plain_given(*self._store.admission(account.account_id))

    def plain_given(self, rules: list[FaultRule], limits: Limits | None) -> bool:
        """`plain_sailing` from what the store's `admission` answered."""
        return not rules and _unlimited(self.or_default(limits))

    def admit(self, account: Account, endpoint: str) -> Fault | None:
        """Injected faults first, then the account's state and rate limit; a Fault to apply."""
        if self.plain_sailing(account):
            # Nothing to consume (no rule's `times`) or count (no rate): read without the shared
            # lock. Linearizable: a rule or limit set meanwhile acts as if set after this call.
            return None
        store, account_id = self._store, account.account_id

        def decide() -> tuple[Change, Fault | KlingError | None]:
            rules = store.fault_rules()
            fault, left = take_fault(rules, endpoint, account_id, self._settings.fault_random)
            used = None if left is rules else (rules, left)
            limits = self.limits(account_id)
            if (fault is not None and (fault.code is not None or fault.drop)) or _unlimited(limits):
                return Change(account_id, fault_rules=used), fault
            read = store.usage(account_id)
            usage = writable(store, read)
            try:
                check_request(limits, usage, self.now_ms())
            except KlingError as refusal:  # the rule stays used up; the refusal is not counted
                return Change(account_id, fault_rules=used), refusal
            return Change(account_id, fault_rules=used, usage=(read, usage)), fault

        decided = commit_decided(store, decide)
        if isinstance(decided, KlingError):
            raise decided
        return decided

    # --- limits and usage -----------------------------------------------------------------------

    def limits(self, account_id: str) -> Limits:
        return self.or_default(self._store.limits(account_id))

    def or_default(self, limits: Limits | None) -> Limits:
        """An account's limits as stored (None: not set), or else the server's defaults."""
        return limits or self._settings.config.limits

    def set_limits(self, account_id: str, data: Any) -> Limits:
        """Change an account's limits from control-API JSON (ValueError when bad)."""

        def decide() -> tuple[Change, Limits]:
            read = self._store.limits(account_id)
            limits = (read or self._settings.config.limits).updated(data)
            return Change(account_id, limits=(read, limits)), limits

        with self._store.atomic():
            limits = commit_decided(self._store, decide)
            self._emit(LimitsChanged(account_id, limits))
            return limits

    def changed_limits(self) -> dict[str, Limits]:
        """Accounts whose limits were changed through the control API."""
        return self._store.changed_limits()

    def usage(self, account_id: str) -> dict[str, Any]:
        usage = writable(self._store, self._store.usage(account_id))
        running = usage.running(self.now_ms())  # refunds the units of tasks that failed
        return {"running": running, "units_spent": usage.spent}

    # --- fault rules and callback faults --------------------------------------------------------

    def add_fault_rule(self, rule: FaultRule) -> None:
        def decide() -> tuple[Change, None]:
            rules = self._store.fault_rules()
            return Change("", fault_rules=(rules, [*rules, rule])), None

        commit_decided(self._store, decide)

    def fault_rules(self) -> list[FaultRule]:
        return self._store.fault_rules()

    def clear_fault_rules(self) -> None:
        def decide() -> tuple[Change, None]:
            return Change("", fault_rules=(self._store.fault_rules(), [])), None

        commit_decided(self._store, decide)

    def add_callback_fault(self, fault: CallbackFault) -> None:
        def decide() -> tuple[Change, None]:
            faults = self._store.callback_faults()
            return Change("", callback_faults=(faults, [*faults, fault])), None

        commit_decided(self._store, decide)

    def callback_faults(self) -> list[CallbackFault]:
        """Callback faults not used up yet, with their remaining `times`."""
        return self._store.callback_faults()

    # --- where callbacks may go -------------------------------------------------------------

    def check_callback_host(self, url: str | None) -> None:
        """KlingError 1201 when the server allows callbacks to some hosts only, not `url`'s."""
        allowed = self._settings.config.callback_hosts
        host = urlsplit(url).hostname if url is not None else None
        if allowed is not None and host is not None and host.lower() not in allowed:
            shown = host if len(host) <= 100 else host[:100] + "..."
            raise KlingError(
                1201,
                f"callback_url host {shown!r} is not allowed on this server "
                f"(allowed: {', '.join(allowed) or 'none'})",
            )


def _unlimited(limits: Limits) -> bool:
    """Neither the account's state nor a rate limit can refuse its next call (no usage to count)."""
    return limits.state == "active" and limits.rate_per_second is None
