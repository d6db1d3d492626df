"""What Kling's documentation leaves open, observed: each probe runs on the target and on a
fresh in-process fake; the report gets both summaries and the masked answers side by side
(drift). A fake target must not drift from the in-process fake; every answer must keep its
contract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mock_kling.contract.client.options import in_process_target
from mock_kling.contract.client.target import Target
from mock_kling.contract.kit import Kit
from mock_kling.contract.reporting.masking import mask
from mock_kling.contract.scenarios.checks import ContractViolation, check_answer
from mock_kling.contract.scenarios.probes import PROBES, Exchange, Probe, facts, summary


@pytest.fixture(scope="module")
def reference(target: Target) -> Iterator[Target]:
    """The in-process fake the target is compared with, speaking the target's profile."""
    fake = in_process_target(None, target.prefix, profile=target.profile)
    yield fake
    fake.close()


@pytest.mark.parametrize(
    "probe",
    [
        pytest.param(p, id=p.name, marks=[pytest.mark.cost(p.cost), pytest.mark.needs(*p.needs)])
        for p in PROBES
    ],
)
def test_open_question(kit: Kit, reference: Target, probe: Probe) -> None:
    if probe.cost:
        kit.target.budget.require(probe.cost)
    reference.reset()
    observed = probe.run(kit)
    expected = probe.run(Kit(reference, kit.settings, kit.local))
    kit.recorder.observe(probe.question, probe.name, summary(observed), summary(expected))
    seen, known = facts(observed), facts(expected)
    for question in sorted(set(seen) | set(known)):
        kit.recorder.observe(question, probe.name, seen.get(question, "-"), known.get(question))
    ours, theirs = _masked(observed), _masked(expected)
    kit.recorder.drift(probe.name, ours == theirs, ours, theirs)
    for exchange in observed:
        _check(exchange, probe, kit.target.profile)
    if kit.target.is_fake and ours != theirs:
        raise ContractViolation(
            "drift",
            f"probe {probe.name}: a fake target answers unlike the in-process fake: "
            f"{ours} != {theirs}",
        )


def _masked(exchanges: list[Exchange]) -> list[Any]:
    return [mask(exchange.view()) for exchange in exchanges]


def _check(exchange: Exchange, probe: Probe, profile: str) -> None:
    where = f"probe {probe.name}: {exchange.label}"
    if exchange.endpoint == "other":
        if exchange.answer.status >= 500:
            raise ContractViolation("server_error", f"{where}: {exchange.answer.describe()}")
        return
    check_answer(exchange.answer, exchange.endpoint, where, profile)
