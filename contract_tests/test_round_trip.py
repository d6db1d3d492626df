"""One accepted create, checked first among the paid checks: round trip, ids, timestamps and
progress (see mock_kling.contract.scenarios.round_trip)."""

from __future__ import annotations

import pytest

from mock_kling.contract.kit import Kit
from mock_kling.contract.scenarios.round_trip import check_round_trip


@pytest.mark.cost(1, first=True)
def test_one_create_round_trip(kit: Kit) -> None:
    kit.target.budget.require(1)
    check_round_trip(kit)
