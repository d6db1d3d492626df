"""The negative mutations break the create contract's own limits: each length, count and enum
they cross is read from the vendor profile's contract, so a contract change moves them too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mock_kling.apispec import derived
from mock_kling.contract.generate import mutations
from mock_kling.contract.generate.strategies import minimal_body
from mock_kling.core.profiles import PROFILES


@pytest.fixture(autouse=True)
def fresh_mutations() -> Iterator[None]:
    mutations.mutations.cache_clear()
    yield
    mutations.mutations.cache_clear()


def _broken(name: str, profile: str = "official") -> Any:
    return json.loads(mutations.named(name, profile).breaks(minimal_body()).data)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_limits_are_the_schemas(profile: str) -> None:
    properties = derived.schema(profile, "create_request")["properties"]
    prompt = _broken("prompt-too-long", profile)["prompt"]
    assert len(prompt) == properties["prompt"]["maxLength"] + 1
    negative = _broken("negative_prompt-too-long", profile)["negative_prompt"]
    assert len(negative) == properties["negative_prompt"]["maxLength"] + 1
    images = _broken("image_list-too-many", profile)["image_list"]
    assert len(images) == properties["image_list"]["maxItems"] + 1
    assert len(_broken("image_list-empty", profile)["image_list"]) == 0
    for field in ("mode", "duration", "model_name"):
        name = "model_name-unknown" if field == "model_name" else f"{field}-not-in-enum"
        assert _broken(name, profile)[field] not in properties[field]["enum"]


def test_rules_name_the_schemas_limits() -> None:
    rules = {mutation.name: mutation.rule for mutation in mutations.MUTATIONS}
    assert rules["prompt-too-long"] == "prompt has at most 2500 characters"
    assert rules["image_list-too-many"] == "image_list has at most 4 items"
    assert rules["aspect_ratio-not-in-enum"] == "aspect_ratio is 16:9, 9:16 or 1:1"
    assert rules["duration-not-in-enum"] == 'duration is "5" or "10"'


def test_a_changed_contract_moves_the_mutations(monkeypatch: pytest.MonkeyPatch) -> None:
    original = derived.schema

    def tighter(profile: str, name: str) -> dict[str, Any]:
        schema = original(profile, name)
        schema["properties"]["prompt"]["maxLength"] = 100
        schema["properties"]["image_list"]["maxItems"] = 2
        schema["properties"]["mode"]["enum"] = ["std", "pro", "ultra"]
        return schema

    monkeypatch.setattr(derived, "schema", tighter)
    assert len(_broken("prompt-too-long")["prompt"]) == 101
    assert len(_broken("image_list-too-many")["image_list"]) == 3
    assert _broken("mode-not-in-enum")["mode"] not in ("std", "pro", "ultra")
    assert mutations.named("mode-not-in-enum").rule == "mode is std, pro or ultra"


def test_a_rule_the_profile_drops_keeps_the_official_limit() -> None:
    """chainhub documents aspect_ratio as a free string: the mutation names the official rule,
    which the suite then skips as not a rule of that profile."""
    assert "enum" not in derived.schema("chainhub", "create_request")["properties"]["aspect_ratio"]
    assert mutations.named("aspect_ratio-not-in-enum", "chainhub").rule == (
        "aspect_ratio is 16:9, 9:16 or 1:1"
    )
