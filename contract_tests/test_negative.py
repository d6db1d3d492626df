"""Negative fuzzing: a valid request with exactly one rule broken is refused with a 4xx, the
error envelope and a code of the parameter family; never 2xx, never 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from mock_kling.contract.api import send_create
from mock_kling.contract.checks import check_refused
from mock_kling.contract.kit import Kit
from mock_kling.contract.mutations import MUTATIONS, Mutation, named
from mock_kling.contract.strategies import create_requests, minimal_body
from mock_kling.contracts import derived

# Which open question of the spec (section 12) a refusal of the rule answers.
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


def _param(mutation: Mutation) -> Any:
    # Settled rules are free; an unsettled one may be accepted by a real API: one submit each.
    return pytest.param(
        mutation, id=mutation.name, marks=pytest.mark.cost(0 if mutation.settled else 1)
    )


@pytest.mark.parametrize("mutation", [_param(m) for m in MUTATIONS])
def test_one_broken_rule_is_refused(kit: Kit, mutation: Mutation) -> None:
    mutation = named(mutation.name, kit.target.profile)  # with the target's contract's limits
    if not applies(mutation, kit.target.profile):
        pytest.skip(f"{mutation.rule!r} is not a rule of the {kit.target.profile} profile")
    costly = not mutation.settled and not kit.target.is_fake
    examples = kit.examples() if costly else kit.settings.max_examples
    if examples == 0:
        kit.target.budget.require(1)
    first: list[str] = []

    @settings(kit.settings, max_examples=examples)
    @given(create_requests(kit.shape(), max_images=2))
    def run(body: dict[str, Any]) -> None:
        if costly:
            kit.target.budget.require(1)
        sent = mutation.breaks(body)
        headers = {"Content-Type": sent.content_type}
        answer = send_create(kit.target, data=sent.data, headers=headers)
        if not first:
            message = answer.body.get("message") if isinstance(answer.body, dict) else None
            first.append(f"{answer.describe()}: {message}")
        where = f"negative[{mutation.name}] ({mutation.rule})"
        check_refused(answer, "create", where, mutation.codes, profile=kit.target.profile)

    try:
        run()
    finally:
        if first and mutation.name in QUESTION_OF:
            kit.recorder.observe(QUESTION_OF[mutation.name], f"negative[{mutation.name}]", first[0])


def applies(mutation: Mutation, profile: str) -> bool:
    """A contract rule counts when the vendor's request contract refuses the broken body."""
    if not mutation.schema_rule:
        return True
    broken = json.loads(mutation.breaks(minimal_body()).data)
    return not derived.validator(profile, "create_request").is_valid(broken)
