"""The suite's HTTP server on 127.0.0.1: the shared callback receiver, serving generated images
(for URL inputs) and recording callback deliveries, each task on its own path."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from mock_kling.callbacks.receiver import Delivery, Receiver

__all__ = ["Delivery", "LocalServer"]


class LocalServer:
    """Start with start(), stop with stop() (or use as a context manager). `public_url`, when
    given, is the address the target must use to reach this server (a tunnel to it)."""

    def __init__(self, port: int = 0, public_url: str | None = None) -> None:
        self.receiver = Receiver(port)
        self.public_url = public_url.rstrip("/") if public_url else None

    @property
    def local_url(self) -> str:
        return self.receiver.base_url

    @property
    def url(self) -> str:
        return self.public_url or self.local_url

    def start(self) -> LocalServer:
        self.receiver.start()
        return self

    def stop(self) -> None:
        self.receiver.stop()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def image_url(self, data: bytes, kind: str) -> str:
        """Serve `data` and return its URL."""
        name = hashlib.sha256(data).hexdigest()[:16] + (".png" if kind == "png" else ".jpg")
        content_type = "image/png" if kind == "png" else "image/jpeg"
        self.receiver.put_file(f"/images/{name}", data, content_type)
        return f"{self.url}/images/{name}"

    def callback_url(self, key: str) -> str:
        return f"{self.url}/callback/{key}"

    def deliveries(self, key: str | None = None) -> list[Delivery]:
        return [d for d in self.receiver.deliveries if key is None or d.key == key]

    def wait_for(
        self, key: str, done: Callable[[list[Delivery]], bool], timeout: float
    ) -> list[Delivery]:
        """Wait until `done(deliveries of key)` is true or `timeout` seconds pass; return them."""
        self.receiver.wait_until(lambda got: done([d for d in got if d.key == key]), timeout)
        return self.deliveries(key)
