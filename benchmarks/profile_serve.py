"""Profiles `mock-kling serve` under wrk load with py-spy and prints the top frames by own time
(and by total time):
`python benchmarks/profile_serve.py [--endpoint get|list|post|post-urls] [--store S] [--gil]`."""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import bodies
from clients import submit
from harness import API_KEY, API_PATH, start_fake
from load import WrkResult, run_wrk

_STDLIB = {
    "json",
    "http",
    "email",
    "urllib",
    "concurrent",
    "logging",
    "encodings",
    "re",
    "collections",
}
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")


def frame_key(frame: str, lines: bool) -> str:
    """`function (file)` or, with `lines`, `function (file:line)`; paths shortened."""
    found = _FRAME.match(frame.strip())
    if not found:
        return frame.strip()
    path = found.group("file")
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    if lines and found.group("line"):
        return f"{found.group('function')} ({path}:{found.group('line')})"
    return f"{found.group('function')} ({path})"


def parse_raw(text: str, lines: bool) -> tuple[Counter[str], Counter[str], int]:
    """Own and total samples per frame from py-spy's raw (collapsed stack) output."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for row in text.splitlines():
        stack, _, count_text = row.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_key(f, lines) for f in stack.split(";") if "(" in f]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return own, total, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", choices=["get", "list", "post", "post-urls"], default="get")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second.")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--gil", action="store_true", help="Only samples holding the GIL.")
    parser.add_argument("--lines", action="store_true", help="Rank lines, not functions.")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--store", choices=["memory", "sqlite", "redis"], default="memory",
        help="The store serve runs on (redis: a fresh redis-server of its own).",
    )  # fmt: skip
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        raise SystemExit("py-spy is needed: pip install py-spy")
    options = ["--submitted-seconds", "0", "--processing-seconds", "0"]
    with tempfile.TemporaryDirectory(prefix="mock-kling-profile-") as folder, ExitStack() as stack:
        if args.store == "sqlite":
            options += ["--store", f"sqlite:///{Path(folder).resolve() / 'profile.db'}"]
        elif args.store == "redis":
            from store_redis import redis_server  # needs redis-py (pip install -e ".[dev]")

            options += ["--store", stack.enter_context(redis_server()).tcp]
        raw_file = Path(folder) / "profile.txt"
        body_file: Path | None = None
        with start_fake(*options, threads=args.threads) as fake:
            for _ in range(30):
                answer = submit(fake.url, API_KEY, bodies.STUCK_BODY)
            path = f"{API_PATH}/{answer['data']['task_id']}"
            if args.endpoint == "list":
                path = f"{API_PATH}?pageNum=1&pageSize=30"
            elif args.endpoint == "post":
                image = base64.b64encode(bodies.photo_png(400, 400)).decode()
                body_file = Path(folder) / "post.json"
                body_file.write_bytes(bodies.submit_body([image, image]))
                path = API_PATH
            elif args.endpoint == "post-urls":  # the anchors' small body: two image URLs
                body_file = Path(folder) / "post.json"
                body_file.write_bytes(bodies.ANCHOR_BODY)
                path = API_PATH
            url = fake.url + path
            auth = f"Bearer {API_KEY}"
            run_wrk(url, args.connections, 1, auth, body_file)  # warm-up
            command = [
                py_spy,
                "record",
                "--pid",
                str(fake.pid),
                "--duration",
                str(args.duration),
                "--rate",
                str(args.rate),
                "--format",
                "raw",
                "--output",
                str(raw_file),
                "--nonblocking",
                "--subprocesses",  # the server's worker processes (granian) too
                *(["--gil"] if args.gil else []),
            ]
            spy = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            results: list[WrkResult] = []
            load = threading.Thread(
                target=lambda: results.append(
                    run_wrk(url, args.connections, args.duration, auth, body_file)
                )
            )
            load.start()
            load.join(timeout=args.duration + 120)
            try:
                output, _ = spy.communicate(timeout=args.duration + 60)
            except subprocess.TimeoutExpired:
                spy.kill()
                output, _ = spy.communicate(timeout=30)
        if not raw_file.exists():
            raise SystemExit(f"py-spy wrote nothing: {output.decode(errors='replace')}")
        own, total, samples = parse_raw(raw_file.read_text(), args.lines)
    result = results[0] if results else None
    load_text = (
        f"{result.rps:,.0f} req/s, p99 {result.p99_ms:.1f} ms" if result else "no wrk result"
    )
    print(
        f"py-spy on mock-kling serve, {args.endpoint} at {args.connections} connections for "
        f"{args.duration} s ({load_text}); {samples} samples"
        f"{' holding the GIL' if args.gil else ' of non-idle threads'}"
    )
    print(f"\nTop {args.top} by own time")
    for frame, count in own.most_common(args.top):
        print(f"  {count / samples * 100:5.1f}%  {frame}")
    print("\nOwn time by package")
    for package, count in by_package(own).most_common():
        print(f"  {count / samples * 100:5.1f}%  {package}")
    print(f"\nTop {args.top} mock_kling functions by total time (the function and its callees)")
    ours = Counter(
        {
            k: v
            for k, v in total.items()
            if "(mock_kling/" in k and k.split(" ")[0] != "serve" and "serving.py" not in k
        }
    )
    for frame, count in ours.most_common(args.top):
        print(f"  {count / samples * 100:5.1f}%  {frame}")


def by_package(own: Counter[str]) -> Counter[str]:
    """Own samples summed by package: the first folder of the frame's file; stdlib as one."""
    packages: Counter[str] = Counter()
    for frame, count in own.items():
        found = _FRAME.match(frame)
        path = found.group("file") if found else frame
        top = path.split("/", 1)[0] if "/" in path else "stdlib"
        packages["stdlib" if top in _STDLIB else top] += count
    return packages


if __name__ == "__main__":
    main()
