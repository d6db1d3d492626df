"""Negative fuzzing: a valid request with exactly one rule broken is refused with a 4xx, the
error envelope and a code of the parameter family; never 2xx, never 5xx. Every one is a create
probe: a target looser than the docs may accept and bill it, so on a paid target each needs
--kling-allow-billable-probes (one example per rule there)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from mock_kling.apispec import derived
from mock_kling.contract.client.api import send_probe
from mock_kling.contract.generate.mutations import MUTATIONS, Mutation, named
from mock_kling.contract.generate.strategies import create_requests, minimal_body
from mock_kling.contract.kit import Kit
from mock_kling.contract.scenarios.checks import check_refused

# Which open question (mock_kling.contract.scenarios.questions) a refusal of the rule answers.
QUESTION_OF = {
    "duration-number": "q7",
    "model_name-unknown": "q7",
    "image_list-empty": "q6",
    "image_list-too-many": "q6",
    "prompt-empty": "q8",
    "prompt-too-long": "q8",
    "image-too-small": "q5",
    "image-ratio": "q5",
    "image-data-uri": "q5",
    "image-not-png-or-jpeg": "q5",
    "mode-not-in-enum": "q4",
}


@pytest.mark.cost(0)
@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_one_broken_rule_is_refused(kit: Kit, mutation: Mutation) -> None:
    mutation = named(mutation.name, kit.target.profile)  # with the target's contract's limits
    if not applies(mutation, kit.target.profile):
        pytest.skip(f"{mutation.rule!r} is not a rule of the {kit.target.profile} profile")
    kit.target.meter.probes.require(1)
    first: list[str] = []
    failure = kit.first_failure(always=True)

    @settings(kit.settings, max_examples=1 if kit.bills else kit.settings.max_examples)
    @given(create_requests(kit.shape(), max_images=2))
    def run(body: dict[str, Any]) -> None:
        if failure.halted:
            return
        sent = mutation.breaks(body)
        answer = send_probe(kit.target, data=sent.data, headers={"Content-Type": sent.content_type})
        if not first:
            message = answer.body.get("message") if isinstance(answer.body, dict) else None
            first.append(f"{answer.describe()}: {message}")
        where = f"negative[{mutation.name}] ({mutation.rule})"
        with failure.guard():
            check_refused(answer, "create", where, mutation.codes, profile=kit.target.profile)

    try:
        failure.run(run)
    finally:
        if first and mutation.name in QUESTION_OF:
            kit.recorder.observe(QUESTION_OF[mutation.name], f"negative[{mutation.name}]", first[0])


def applies(mutation: Mutation, profile: str) -> bool:
    """A contract rule counts when the vendor's request contract refuses the broken body."""
    if not mutation.schema_rule:
        return True
    broken = json.loads(mutation.breaks(minimal_body()).data)
    return not derived.validator(profile, "create_request").is_valid(broken)
