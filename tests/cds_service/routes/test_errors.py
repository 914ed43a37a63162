"""Bad requests get clear 4xx answers with an OperationOutcome body, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import hook_request, med_request, ms_condition


def assert_outcome(response: Any, status: int, *needles: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    text = " ".join(i["diagnostics"] for i in body["issue"])
    for needle in needles:
        assert needle in text, text


def valid_select() -> dict[str, Any]:
    return hook_request(
        "order-select", drafts=[med_request("m1", text="MSC")], conditions=[ms_condition()]
    )


def test_malformed_json_is_400(client: TestClient) -> None:
    """A body that is not JSON is a 400 saying so."""
    response = client.post(
        "/cds-services/ms-order-select",
        content=b'{"hook": ',
        headers={"content-type": "application/json"},
    )
    assert_outcome(response, 400, "not valid JSON")


def test_non_object_body_is_400(client: TestClient) -> None:
    """A JSON body that is not an object is a 400."""
    assert_outcome(client.post("/cds-services/ms-order-select", json=[1, 2]), 400, "object")


@pytest.mark.parametrize("field", ["hook", "hookInstance", "context"])
def test_missing_envelope_field_is_400_naming_it(client: TestClient, field: str) -> None:
    """A missing hook, hookInstance or context is a 400 that names the field."""
    body = valid_select()
    del body[field]
    assert_outcome(client.post("/cds-services/ms-order-select", json=body), 400, field)


def test_hook_not_matching_service_is_400(client: TestClient) -> None:
    """Calling the order-select service with a patient-view hook is a 400."""
    body = hook_request("patient-view")
    assert_outcome(client.post("/cds-services/ms-order-select", json=body), 400, "does not match")


def test_missing_patient_id_is_400(client: TestClient) -> None:
    """A context without patientId is a 400 naming context.patientId."""
    body = valid_select()
    del body["context"]["patientId"]
    assert_outcome(
        client.post("/cds-services/ms-order-select", json=body), 400, "context.patientId"
    )


def test_order_select_without_selections_is_400(client: TestClient) -> None:
    """order-select requires selections."""
    body = valid_select()
    del body["context"]["selections"]
    assert_outcome(
        client.post("/cds-services/ms-order-select", json=body), 400, "context.selections"
    )


def test_draft_orders_must_be_a_bundle(client: TestClient) -> None:
    """draftOrders that is not a Bundle is a 400."""
    body = valid_select()
    body["context"]["draftOrders"] = {"resourceType": "List"}
    assert_outcome(
        client.post("/cds-services/ms-order-select", json=body), 400, "context.draftOrders"
    )


def test_fhir_authorization_without_server_is_400(client: TestClient) -> None:
    """fhirAuthorization without fhirServer breaks the spec's rule: 400."""
    body = valid_select()
    body["fhirAuthorization"] = {
        "access_token": "secret-token-value",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "x",
    }
    response = client.post("/cds-services/ms-order-select", json=body)
    assert_outcome(response, 400, "fhirServer")
    assert "secret-token-value" not in response.text


def test_unknown_service_is_404(client: TestClient) -> None:
    """An unknown service id is a 404 OperationOutcome."""
    assert_outcome(client.post("/cds-services/nope", json=valid_select()), 404, "nope")


def test_unknown_route_is_404_outcome(client: TestClient) -> None:
    """Any unknown path answers 404 with an OperationOutcome."""
    assert_outcome(client.get("/nothing-here"), 404)


def test_wrong_method_is_405_outcome(client: TestClient) -> None:
    """GET on a service is a 405 OperationOutcome, not an HTML page."""
    assert_outcome(client.get("/cds-services/ms-order-select"), 405)


def test_missing_required_prefetch_without_server_is_412(client: TestClient) -> None:
    """Patient prefetch absent and no fhirServer to fetch from: 412."""
    body = valid_select()
    del body["prefetch"]["patient"]
    assert_outcome(
        client.post("/cds-services/ms-order-select", json=body), 412, "patient", "fhirServer"
    )


def test_no_prefetch_at_all_without_server_is_412(client: TestClient) -> None:
    """A request with no prefetch and no fhirServer: 412."""
    body = valid_select()
    del body["prefetch"]
    assert_outcome(client.post("/cds-services/ms-order-select", json=body), 412)


def test_null_patient_prefetch_is_not_fetched(client: TestClient) -> None:
    """prefetch.patient = null means 'no data': no 412, cards from what is there."""
    body = valid_select()
    body["prefetch"]["patient"] = None
    response = client.post("/cds-services/ms-order-select", json=body)
    assert response.status_code == 200
    assert len(response.json()["cards"]) == 1


def test_non_json_content_type_is_415(client: TestClient) -> None:
    """A text/plain body is refused with 415."""
    response = client.post(
        "/cds-services/ms-order-select", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert_outcome(response, 415)


def test_error_messages_never_echo_values(client: TestClient) -> None:
    """Diagnostics name fields, never the values sent (which may be PHI)."""
    body = valid_select()
    body["context"]["patientId"] = {"name": "Jane Q Patient"}
    response = client.post("/cds-services/ms-order-select", json=body)
    assert_outcome(response, 400, "context.patientId")
    assert "Jane" not in response.text


@pytest.mark.parametrize("value", [[], "x", 3])
def test_prefetch_that_is_not_an_object_is_400(client: TestClient, value: Any) -> None:
    """A prefetch that is a list, a string or a number is a 400 naming prefetch."""
    body = {**valid_select(), "prefetch": value}
    assert_outcome(client.post("/cds-services/ms-order-select", json=body), 400, "prefetch")


def test_null_prefetch_is_no_prefetch(client: TestClient) -> None:
    """`prefetch: null` is no prefetch at all: the patient cannot be had, 412."""
    body = {**valid_select(), "prefetch": None}
    assert_outcome(client.post("/cds-services/ms-order-select", json=body), 412, "patient")


def test_an_unknown_top_level_member_is_kept_out_of_the_way(client: TestClient) -> None:
    """A vendor member outside the CDS Hooks envelope does not stop the warning."""
    body = {**valid_select(), "vendorThing": {"a": [1]}}
    response = client.post("/cds-services/ms-order-select", json=body)
    assert response.status_code == 200, response.text
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["mscWarning"]


def test_an_escaped_operation_outcome_in_prefetch_is_a_stand_in(client: TestClient) -> None:
    """prefetch.patient an OperationOutcome spelt with a \\u escape: missing, so 412."""
    body = valid_select()
    body["prefetch"]["patient"] = {"resourceType": "OperationOutcome", "issue": []}
    raw = json.dumps(body).replace('"OperationOutcome"', '"Operation\\u004futcome"')
    assert '"Operation\\u004futcome"' in raw
    response = client.post(
        "/cds-services/ms-order-select", content=raw, headers={"content-type": "application/json"}
    )
    assert_outcome(response, 412, "patient")
