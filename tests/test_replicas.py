"""Replicas: `serve --workers N` on a shared store, the shared manual clock, and callbacks that
survive a replica killed mid-delivery."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from mock_kling.cli import main

from .test_serve import Server


def test_workers_refuse_the_memory_store():
    result = CliRunner().invoke(main, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "--workers 2 needs a shared store" in result.output


@pytest.mark.slow  # a server process with two workers
def test_workers_share_one_port_and_print_one_banner(tmp_path: Path):
    server = Server("--workers", "2", "--state", str(tmp_path / "fake.db"))
    try:
        for _ in range(20):  # the kernel spreads connections over both workers
            answer = requests.get(f"{server.url}/__mock__/health", timeout=10)
            assert answer.status_code == 200
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert server.banner.count("listening on") == 1
    assert "2 workers on this port" in server.banner
