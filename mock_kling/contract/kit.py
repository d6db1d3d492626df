"""What every check gets: the target, Hypothesis settings, the local server, a recorder for
observations, and how to let time pass (advance the fake's clock, or wait for a real API)."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hypothesis import settings as Settings

from mock_kling.contract.client.local_server import LocalServer
from mock_kling.contract.client.target import Target
from mock_kling.contract.generate.first_failure import FirstFailure
from mock_kling.contract.reporting.report import Recorder

if TYPE_CHECKING:  # strategies import hypothesis-jsonschema, too slow for conftest import time
    from mock_kling.contract.generate.strategies import RequestShape


@dataclass
class Kit:
    """One test's view of the session: a target and the tools to check it."""

    target: Target
    settings: Settings
    local: LocalServer
    recorder: Recorder = field(default_factory=Recorder)
    poll_budget_s: float = 600.0
    poll_interval_s: float = 5.0
    progress: Callable[[str], None] = field(default=lambda line: None)

    @property
    def bills(self) -> bool:
        """Does an accepted create cost money here (any target but the fake)?"""
        return not self.target.is_fake

    def first_failure(self, always: bool = False) -> FirstFailure:
        """Keeps Hypothesis from re-sending a failing example's create where creates bill (or
        `always`: examples of image bodies too large to print and not worth shrinking)."""
        return FirstFailure(always or self.bills)

    @property
    def callbacks_reachable(self) -> bool:
        """Can the target POST to the local server? In process or on loopback, or a public URL."""
        if self.target.in_process or self.local.public_url:
            return True
        host = urlsplit(self.target.name).hostname or ""
        try:
            return host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def shape(self) -> RequestShape:
        """What generated requests may use on this target."""
        from mock_kling.contract.generate.strategies import RequestShape

        fetches = not self.target.is_fake  # a real API downloads image URLs; the fake does not
        image_url = self.local.image_url if not fetches or self.local.public_url else None
        callback = self.local.callback_url("fuzz") if self.callbacks_reachable else None
        return RequestShape(image_url, callback, self.target.is_fake, self.target.profile)

    def examples(self, submits_each: int = 1) -> int:
        """Examples to run: the profile's, fewer if each costs submits the budget lacks."""
        wanted = int(self.settings.max_examples)
        if submits_each == 0:
            return wanted
        return self.target.budget.affordable(wanted * submits_each) // submits_each

    def pass_time(self, seconds: float) -> None:
        """Move the fake's manual clock on by `seconds`, or wait one poll interval (real time)."""
        if self.target.can_advance:
            self.target.advance(seconds)
        else:
            threading.Event().wait(self.poll_interval_s)

    def deadline(self) -> float:
        """A time.monotonic() value after which polling a remote target gives up."""
        return time.monotonic() + self.poll_budget_s
