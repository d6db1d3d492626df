"""Commands sent straight down a connection of the calling thread's own, taken from a redis-py
client's pool once: the pool's way costs ~40 µs of CPU per command (its checks and metrics),
about twice what the command itself costs on the client."""

from __future__ import annotations

import os
import threading
from typing import Any

import redis
from redis.commands.core import Script


class Pinned:
    """Call it with a command (`pinned("GET", key)`): the raw reply, decoded as the client's
    connections decode. As the client does, a command whose connection failed is sent once more,
    on a new connection (a restarted server)."""

    def __init__(self, client: redis.Redis) -> None:
        self._pool = client.connection_pool
        self._local = threading.local()

    def __call__(self, *command: Any) -> Any:
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is None or local.pid != os.getpid():  # a forked child connects anew
            connection = local.connection = self._pool.get_connection()
            local.pid = os.getpid()
        try:
            connection.send_command(*command)
            return connection.read_response()
        except (redis.ConnectionError, redis.TimeoutError):
            # Drop the connection first: after a timeout a late reply could still arrive on it
            # and be read as the answer to the next command. The send connects anew.
            connection.disconnect()
            connection.send_command(*command)
            return connection.read_response()

    def script(self, script: Script, keys: list[Any], args: list[Any]) -> Any:
        """Run a registered script (loaded first when the server does not know it yet)."""
        try:
            return self("EVALSHA", script.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return script(keys=keys, args=args)
