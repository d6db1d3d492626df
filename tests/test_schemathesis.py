"""Schemathesis, as an independent fuzzer, against the fake's own OpenAPI document (official
profile): every operation of the API (both prefixes) and of the control API, in process, with
every check on.

Two adjustments, both for reasons of Kling's, not of convenience:
- `unsupported_method` expects 405 for a method the path does not take; Kling's service-code table
  says HTTP 404 with code 1202 ("The requested method is invalid"), and the fake follows Kling. The
  built-in check is replaced by `kling_unsupported_method`, which asserts exactly that answer.
- Kling's image rules (PNG or JPEG, each side >= 300 px, ratio 1:2.5..2.5:1, <= 10 MB) need the
  picture, which JSON Schema cannot describe: the document types `image` as a string and lists the
  400. For schema-valid (positive) cases the test swaps each generated image for a real one, so
  `positive_data_acceptance` still judges every other field; negative cases go as generated.

The fake is reset before each case (a fault rule or a suspended account from one case must not
answer the next), and callbacks go to a stub: generated `callback_url`s never reach the network.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from mock_kling.assemble import build_backend
from mock_kling.core.auth import make_token
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import DEV_ACCESS_KEY, DEV_SECRET_KEY, Config
from mock_kling.http.app import create_app

from .images import png_b64

# Examples per operation and phase; a deeper run: MOCK_KLING_FUZZ_EXAMPLES=2000 (and
# MOCK_KLING_FUZZ_RANDOM=1 for new inputs instead of the same derandomized ones every run).
EXAMPLES = int(os.environ.get("MOCK_KLING_FUZZ_EXAMPLES", "40"))
DERANDOMIZE = not os.environ.get("MOCK_KLING_FUZZ_RANDOM")
CLOCK = ManualClock()
IMAGES = ("https://example.com/ref.png", png_b64(640, 360))
CALLBACKS: list[str] = []


def _stub_sender(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
    CALLBACKS.append(url)
    return 200, None


BACKEND = build_backend(Config(seed=8), CLOCK, sender=_stub_sender)  # nothing leaves
APP = create_app(backend=BACKEND)
CONFIG = SchemathesisConfig.from_dict({"checks": {"unsupported_method": {"enabled": False}}})
schema = schemathesis.openapi.from_wsgi("/__mock__/openapi.json", APP, config=CONFIG)


@schemathesis.check
def kling_unsupported_method(ctx: Any, response: Any, case: Any) -> bool | None:
    """Kling's table: a method the path does not take is HTTP 404 with code 1202."""
    method = (response.request.method or "").lower()
    declared = case.operation.schema.raw_schema["paths"][case.operation.path]
    if method in ("head", "options") or method in declared:
        return None
    assert response.status_code == 404, f"{method.upper()} answered {response.status_code}"
    assert response.json()["code"] == 1202, response.text
    return True


@schema.auth(refresh_interval=None)
class KlingJWT:
    """A fresh HS256 token from the dev key pair for every call, valid on the fake's clock."""

    def get(self, case: Any, ctx: Any) -> str:
        return make_token(DEV_ACCESS_KEY, DEV_SECRET_KEY, CLOCK.now_ms() / 1000)

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _real_images(case: Any) -> None:
    """Swap the images of a schema-valid create body for real ones (see the module's doc)."""
    meta, body = case.meta, case.body
    positive = meta is not None and meta.generation.mode.is_positive
    if not positive or not isinstance(body, dict) or not isinstance(body.get("image_list"), list):
        return
    for index, item in enumerate(body["image_list"]):
        if isinstance(item, dict) and isinstance(item.get("image"), str):
            item["image"] = IMAGES[index % len(IMAGES)]


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_document_and_the_fake_agree(case: Any) -> None:
    BACKEND.reset()
    _real_images(case)
    case.call_and_validate()
    assert not BACKEND.errors, BACKEND.errors
