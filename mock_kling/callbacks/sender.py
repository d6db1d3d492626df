"""The callback sender: POST a task object to a callback URL over HTTP, bounded in time and size."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mock_kling.core.delivery import answer_error

if TYPE_CHECKING:
    from http.client import HTTPConnection

USER_AGENT = "mock-kling"
_MAX_ANSWER_BYTES = 64 * 1024


def http_post(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
    """POST body as application/json with http.client (no redirects followed: 3xx is a failure),
    User-Agent "mock-kling", read at most 64 KiB of the answer and close. Never raises. The whole
    attempt takes at most `timeout` seconds: socket timeouts bound each read only, so a receiver
    that drips its answer a byte at a time is cut off by a watchdog."""
    expired = threading.Event()
    status, error = _post(url, body, timeout, expired)
    if expired.is_set() and status is None:
        return None, "timeout"
    return status, error


def _expire(connection: HTTPConnection, expired: threading.Event) -> None:
    """The watchdog: wake up a read blocked on `connection` (its socket may be gone already)."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _post(
    url: str, body: bytes, timeout: float, expired: threading.Event
) -> tuple[int | None, str | None]:
    # imported at the first send, not at start-up (serve answers sooner)
    from http.client import HTTPConnection, HTTPException, HTTPSConnection, RemoteDisconnected

    connection: HTTPConnection | None = None
    watchdog: threading.Timer | None = None
    try:
        parts = urlsplit(url)
        host, https = parts.hostname, parts.scheme == "https"
        if parts.scheme not in ("http", "https") or not host:
            return None, f"bad callback url {url!r}: not an http(s) URL"
        port = parts.port or (443 if https else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection_class = HTTPSConnection if https else HTTPConnection
        connection = connection_class(host, port, timeout=timeout)
        watchdog = threading.Timer(timeout, _expire, (connection, expired))
        watchdog.daemon = True
        watchdog.start()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Connection": "close",
        }
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(_MAX_ANSWER_BYTES)
        status = response.status
    except TimeoutError:
        return None, "timeout"
    except ConnectionRefusedError as exc:
        return None, f"connection refused: {exc}"
    except RemoteDisconnected:
        return None, "connection closed without an answer"
    except ConnectionResetError as exc:
        return None, f"connection reset: {exc}"
    except socket.gaierror as exc:
        return None, f"name resolution failed: {exc}"
    except (OSError, HTTPException, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # the contract is "never raises"
        return None, f"unexpected {type(exc).__name__}: {exc}"
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if connection is not None:
            connection.close()
    return status, answer_error(status)
