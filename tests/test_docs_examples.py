"""Every python and sh block of README.md and docs/ runs as written, against a fake: a page's
blocks in order in one temporary folder (tests/docs_examples.py says how), so a renamed option
or a changed answer breaks the build rather than a reader."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .docs_examples import ROOT, PageRun, blocks, pages

pytestmark = pytest.mark.slow

PAGES = [page for page in pages() if blocks(page)]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_the_page_runs_as_written(page: Path, tmp_path: Path):
    run = PageRun(tmp_path)
    try:
        found = blocks(page)
        for at, block in enumerate(found):
            run.run(block, found[at + 1 :])
    finally:
        run.stop()


def test_illustrative_blocks_are_rare_and_say_why():
    """Only blocks that need what a test cannot have (real credentials, paid tasks) are left out."""
    left_out = [b for page in pages() for b in blocks(page) if b.illustrative]
    assert len(left_out) <= 5, [b.page for b in left_out]
    for block in left_out:
        reason = block.code.lstrip().splitlines()[0].removeprefix("# illustrative:").strip()
        assert len(reason) > 10, block.page
    every = sum(len(blocks(page)) for page in pages())
    assert every >= 20  # the extraction finds the blocks at all


def test_getting_started_as_written(tmp_path: Path):
    """A reader who follows only docs/getting-started.md gets a task to `succeed` and a first
    pytest test green."""
    page = ROOT / "docs" / "getting-started.md"
    run = PageRun(tmp_path)
    try:
        found = blocks(page)
        outputs = [run.run(block, found[at + 1 :]) for at, block in enumerate(found)]
    finally:
        run.stop()
    create, advance, query = (line for line in outputs[2].splitlines() if line.strip())
    assert json.loads(create)["data"]["task_status"] == "submitted"
    assert json.loads(advance)["now_ms"] > 0
    task = json.loads(query)["data"]
    assert task["task_status"] == "succeed"
    assert task["task_result"]["videos"][0]["url"].endswith(".mp4")
    assert re.search(r"^1 passed", outputs[-1], flags=re.M), outputs[-1]
    assert (tmp_path / "test_first.py").is_file()
