"""A callback receiver for the benchmarks (the shared one of mock_kling.callbacks): `ok` answers
200 at once, `hang` never answers; GET /stats gives the count, the arrival times (Unix ms) of the
first and last delivery, and how many hang now."""

from __future__ import annotations

import argparse
import threading

from mock_kling.callbacks.receiver import Receiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["ok", "hang"], default="ok")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hold-seconds", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="Stop after this.")
    args = parser.parse_args()
    receiver = Receiver(args.port, keep=False, hang_seconds=args.hold_seconds)
    if args.mode == "hang":
        receiver.hang()
    stopped = threading.Event()
    with receiver:
        print(f"receiver listening on {receiver.base_url}", flush=True)
        stopped.wait(args.max_seconds)


if __name__ == "__main__":
    main()
