"""The Redis store's Lua scripts (the `.lua` files beside this module): each one runs on the
server as one atomic step, by EVALSHA (loaded again when the server does not know it)."""

from __future__ import annotations

import itertools
import secrets
from importlib import resources
from typing import Any

import redis

# Each script: its file, with the files prepended to it (lib.lua first: `p`, the helpers).
_SCRIPTS = {
    "add_task": (),
    "add_clock": (),
    "commit": (),
    "replan": (),
    "steps_due": (),
    "steps_announce": (),
    "next_step": (),
    "raise_clock": (),
    "reset": (),
    "page": (),
    "all_tasks": (),
    "find_task": (),
    "task_by_video": (),
    "id_taken": (),
    "admission": (),
    "submit_facts": (),
    "usage": (),
    "put_usage": (),
    "journal_push": (),
    "add_delivery": (),
    "claim_due": (),
    "next_due": (),
    "put_back": ("release",),
    "finish": ("release",),
    "cancel": (),
}


def source(name: str) -> str:
    """The text of `lua/<name>.lua` as shipped in the package."""
    return (resources.files(__package__) / "lua" / f"{name}.lua").read_text(encoding="utf-8")


def script(name: str) -> str:
    """The whole script `name` as Redis runs it: lib.lua, the files it needs, then its own."""
    return "\n".join([source("lib"), *(source(part) for part in _SCRIPTS[name]), source(name)])


class Scripts:
    """Every script registered on one client, run on one namespace: `scripts("page", a, b)`.
    The namespace's key prefix is each script's first declared key (KEYS[1]): its hash tag puts
    the script on the slot of the namespace's keys. `scripts.once("commit", ...)` adds a key of
    that call's own (KEYS[2]), under which the script keeps its answer: a retry of the call
    answers the same without changing anything twice."""

    def __init__(self, client: redis.Redis | redis.RedisCluster, prefix: str) -> None:
        self._keys = [prefix]
        self._once = f"{prefix}once:{secrets.token_hex(6)}:"
        self._calls = itertools.count(1)
        self._scripts = {name: client.register_script(script(name)) for name in _SCRIPTS}

    def __call__(self, name: str, *args: Any) -> Any:
        return self._scripts[name](keys=self._keys, args=args)

    def once(self, name: str, *args: Any) -> Any:
        keys = [*self._keys, f"{self._once}{next(self._calls)}"]
        return self._scripts[name](keys=keys, args=args)
