"""The composition root of one fake: a Backend wired to the contracts, the store and the
callback sender. Every way of running the fake (serve, fixtures, tests, benchmarks) builds its
backend here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mock_kling.callbacks.queue import Sender, http_post
from mock_kling.contracts import derived
from mock_kling.core.backend import Backend
from mock_kling.core.clock import Clock
from mock_kling.core.config import Config

if TYPE_CHECKING:
    from jsonschema.protocols import Validator


def build_backend(
    config: Config | None = None, clock: Clock | None = None, *, sender: Sender = http_post
) -> Backend:
    """A fake Kling's state and operations, with the create contract of each vendor profile."""
    return Backend(config, clock, sender, create_validator=_create_validator)


def _create_validator(profile_name: str) -> Validator:
    return derived.validator(profile_name, "create_request")
