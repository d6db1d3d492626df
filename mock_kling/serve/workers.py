"""Runs N server processes on one listening socket (pre-fork): each child builds its own fake on
the shared store and serves it; the parent forwards SIGTERM/SIGINT and waits for them all. A child
ends with its parent however the parent ends (Linux's parent-death signal; elsewhere a thread that
watches a pipe the parent holds)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType


def run_forked(
    count: int, run_one: Callable[[int], int], forked: Callable[[], None] = lambda: None
) -> int:
    """Fork `count` children that each call `run_one(index)` (its result is the child's exit
    code), then call `forked()` in the parent (to close what only the children need); forward
    a stop to them and wait for all. The worst exit code of the children."""
    pids: list[int] = []
    parent = os.getpid()
    watched, held = os.pipe()  # the parent holds `held` open until it dies
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # the child: serve, then leave without running the parent's cleanup
            os.close(held)
            _die_with(parent, watched)
            os._exit(_child(run_one, index))
        pids.append(pid)
    os.close(watched)
    forked()
    _forward_stops(pids)
    return _wait_all(pids)


_PR_SET_PDEATHSIG = 1


def _die_with(parent: int, watched: int) -> None:
    """Get SIGTERM (a graceful stop) when the parent process ends, however it ends."""
    libc_name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    if libc_name is not None:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0:
            os.close(watched)
            if os.getppid() != parent:  # it died before the signal was asked for
                os.kill(os.getpid(), signal.SIGTERM)
            return

    def watch() -> None:  # the pipe reads its end once every writer (the parent) is gone
        os.read(watched, 1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="mock-kling-parent-watch", daemon=True).start()


def _child(run_one: Callable[[int], int], index: int) -> int:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)  # the child's server installs its own
    code = 1
    try:
        code = run_one(index)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def _forward_stops(pids: list[int]) -> None:
    def forward(signum: int, _frame: FrameType | None) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.kill(pid, signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)


def _wait_all(pids: list[int]) -> int:
    worst = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)  # retried after a signal handler runs (PEP 475)
        code = os.waitstatus_to_exitcode(status)
        worst = max(worst, code if code >= 0 else 128 - code)
    return worst
