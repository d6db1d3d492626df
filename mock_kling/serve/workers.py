"""Runs N server processes on one listening socket (pre-fork): each child builds its own fake on
the shared store and serves it; the parent forwards SIGTERM/SIGINT and waits for them all."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Callable
from types import FrameType


def run_forked(count: int, run_one: Callable[[int], int]) -> int:
    """Fork `count` children that each call `run_one(index)` (its result is the child's exit
    code); forward a stop to them and wait for all. The worst exit code of the children."""
    pids: list[int] = []
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # the child: serve, then leave without running the parent's cleanup
            os._exit(_child(run_one, index))
        pids.append(pid)
    _forward_stops(pids)
    return _wait_all(pids)


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
