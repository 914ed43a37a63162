"""schemathesis against the service's own /openapi.json, in-process.

Positive and negative (schema-violating) requests are generated from the
document; every answer must be a non-500 that the document describes (status
code, content type and body schema).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cds_service.app import create_app
from tests.conftest import TODAY, make_settings
from tests.harness import SENT
from tests.strategies import PROFILE

APP = create_app(make_settings(), clock=lambda: TODAY)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=150 if PROFILE == "fuzz" else 25)
def test_api_conforms_to_its_own_document(case: Any) -> None:
    """Generated calls never get a 500 and always get an answer the document describes."""
    SENT[f"schemathesis {case.method} {case.path}"] += 1
    # Excluded: one body schema cannot say that `hook` must be the path's service's
    # hook, nor which context fields each hook needs, so some schema-valid bodies
    # are rightly a 400 (documented, with an OperationOutcome; checked here).
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


def test_document_describes_the_hook_endpoint() -> None:
    """/openapi.json gives the HookRequest body, HookResponse 200 and OperationOutcome errors."""
    with TestClient(APP) as client:
        document = client.get("/openapi.json").json()
    hook = document["paths"]["/cds-services/{service_id}"]["post"]
    for media in ("application/json", "application/fhir+json"):
        ref = hook["requestBody"]["content"][media]["schema"]["$ref"]
        assert ref == "#/components/schemas/HookRequest"
    ok = hook["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok == "#/components/schemas/HookResponse"
    assert set(hook["responses"]) == {"200", "400", "401", "404", "412", "413", "415", "503"}
    assert "content" not in hook["responses"]["401"]  # bare, per CDS Hooks
    for status in ("400", "404", "412", "413", "415", "503"):
        content = hook["responses"][status]["content"]["application/fhir+json"]
        assert content["schema"]["$ref"] == "#/components/schemas/OperationOutcome"
    schemas = document["components"]["schemas"]
    assert {"HookRequest", "HookResponse", "Card", "OperationOutcome"} <= set(schemas)
    assert "HTTPValidationError" not in schemas
    assert schemas["HookRequest"]["required"] == ["hook", "hookInstance", "context"]
