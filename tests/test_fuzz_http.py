"""Any request body gets an allowed status, an OperationOutcome for errors, no logged error."""

from __future__ import annotations

import pytest
from hypothesis import event, given

from tests.harness import Harness
from tests.strategies import request_bodies

pytestmark = pytest.mark.fuzz


@given(request=request_bodies())
def test_any_body_gets_a_clean_answer(harness: Harness, request: tuple[str, bytes, str]) -> None:
    """Valid, damaged, truncated or junk bodies: 200/400/404/412/413/415, never a 500."""
    service, raw, content_type = request
    response = harness.post("any-body", service, raw, content_type)
    event(f"status {response.status_code}")
    harness.check(response)
