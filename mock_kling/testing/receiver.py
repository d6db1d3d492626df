"""The `kling_receiver` fixture's callback receiver: the shared one of mock_kling.callbacks."""

from __future__ import annotations

from mock_kling.callbacks.receiver import Delivery
from mock_kling.callbacks.receiver import Receiver as CallbackReceiver

__all__ = ["CallbackReceiver", "Delivery"]
