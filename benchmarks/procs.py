"""A server's process tree from /proc: its processes, their CPU time, memory and peak reset."""

from __future__ import annotations

import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 onwards); [] if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (a granian main process and its workers, say)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 10_000:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process tree of `pid` has used so far."""
    total = 0
    for member in tree(pid):
        fields = _stat_fields(member)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _status_kb(pid: int) -> dict[str, int]:
    values = {"rss_kb": 0, "hwm_kb": 0}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            values["rss_kb"] = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            values["hwm_kb"] = int(line.split()[1])
    return values


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) in KiB, summed over the process tree of `pid`."""
    total = {"rss_kb": 0, "hwm_kb": 0}
    for member in tree(pid):
        for key, value in _status_kb(member).items():
            total[key] += value
    return total


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS in the whole tree (5 into clear_refs, Linux >= 4.0)."""
    try:
        for member in tree(pid):
            Path(f"/proc/{member}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
