"""The suite's own session: its plugin, and its checks in cheap-first order (free checks run
before those that spend the submit budget; `cost(n, first=True)` before the others of cost n).
The order is the suite's own choice for its own files: the plugin a user loads reorders
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["mock_kling.contract.plugin"]
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    from mock_kling.contract.plugin import cost_of  # loaded by pytest_plugins, not before

    slots = [i for i, item in enumerate(items) if _HERE in Path(item.path).resolve().parents]
    ordered = sorted((items[i] for i in slots), key=cost_of)
    for index, item in zip(slots, ordered, strict=True):
        items[index] = item
