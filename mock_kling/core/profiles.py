"""Vendor profiles as data: Kling's official API and the resellers in the seed documents, each
with its prefixes, auth style, request rules and answer shape."""

from __future__ import annotations

from dataclasses import dataclass, field

JWT, KEY = "jwt", "key"
V1, KLING_V1 = "/v1", "/kling/v1"  # Kling's own prefix; the resellers' prefix
ROUTE = "/videos/multi-image2video"  # the task route, under each prefix a profile serves


@dataclass(frozen=True)
class Profile:
    """One vendor's version of the API. Where its documents are silent, Kling's rules apply
    (every reseller forwards to Kling)."""

    name: str
    title: str
    prefixes: tuple[str, ...] = (KLING_V1,)
    auth: tuple[str, ...] = (KEY,)
    required: tuple[str, ...] = ("image_list", "prompt")
    aliases: dict[str, str] = field(default_factory=dict)  # vendor field -> Kling field
    require_one_of: tuple[str, ...] = ()  # at least one of these (a field and its alias)
    free_strings: tuple[str, ...] = ()  # enum fields the vendor documents as free strings
    create_data: tuple[str, ...] | None = None  # keys of `data` in the create answer; None: all
    request_id_documented: bool = True
    differences: str = ""

    @property
    def prefix(self) -> str:
        """The prefix a client of this vendor uses."""
        return self.prefixes[-1] if self.name != "official" else V1


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            "official",
            "Kling official API (api-singapore.klingai.com)",
            prefixes=(V1, KLING_V1),
            auth=(JWT, KEY),
            differences="JWT (HS256, iss = access key); `model_name` optional; the fake also "
            "serves /kling/v1 and plain keys, so one server covers every client",
        ),
        Profile(
            "newapi",
            "new-api gateways (your-domain.com, api.ezmodel.cloud)",
            required=("image_list", "prompt"),
            aliases={"model": "model_name"},
            require_one_of=("model", "model_name"),
            create_data=("task_id", "task_status"),
            request_id_documented=False,
            differences="`model` required (`model_name` accepted as its alias); create answers "
            "`data{task_id, task_status}` only; plain key",
        ),
        Profile(
            "chainhub",
            "chainhub proxy (api.chainhub.tech)",
            required=("model_name", "mode", "duration", "image_list", "prompt"),
            free_strings=("aspect_ratio",),
            differences="`model_name`, `mode` and `duration` required; `aspect_ratio` a free "
            "string; plain key",
        ),
        Profile(
            "cometapi",
            "CometAPI (api.cometapi.com)",
            required=("image_list",),
            request_id_documented=False,
            differences="only `image_list` required (`prompt` optional); `request_id` not in "
            "its create schema; plain key",
        ),
    )
}

# Every prefix some profile serves, Kling's first.
PREFIXES: tuple[str, ...] = tuple(
    dict.fromkeys(prefix for profile in PROFILES.values() for prefix in profile.prefixes)
)


def get(name: str) -> Profile:
    """The profile called `name`; KeyError lists the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None
