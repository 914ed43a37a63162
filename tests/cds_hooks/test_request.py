"""The request envelope and each hook's context: parsed field by field, errors naming fields."""

from __future__ import annotations

from typing import Any

import pytest

from cds_hooks import (
    CONTEXT_MODELS,
    Hook,
    InvalidInput,
    OrderSelectContext,
    PatientViewContext,
    parse_context,
    parse_request,
)
from tests.builders import hook_request, med_request


def test_every_hook_has_its_context_model() -> None:
    """patient-view, order-select and order-sign each choose their own context model."""
    assert set(CONTEXT_MODELS) == set(Hook)
    assert CONTEXT_MODELS[Hook.PATIENT_VIEW] is PatientViewContext
    assert CONTEXT_MODELS[Hook.ORDER_SELECT] is OrderSelectContext


def test_a_valid_request_parses_with_its_context() -> None:
    """An order-select request gives its envelope, then its selections and drafts."""
    body = hook_request("order-select", drafts=[med_request("m1", text="MSC")])
    request = parse_request(body)
    context = parse_context(Hook.ORDER_SELECT, request.context)
    assert isinstance(context, OrderSelectContext)
    assert context.selections == ["MedicationRequest/m1"]
    assert context.patientId == body["context"]["patientId"]


@pytest.mark.parametrize("body", [[], "x", 3, None])
def test_a_body_that_is_not_an_object_is_invalid(body: Any) -> None:
    """Only a JSON object can be a request."""
    with pytest.raises(InvalidInput, match="JSON object"):
        parse_request(body)


def test_missing_envelope_fields_are_each_named() -> None:
    """hook, hookInstance and context missing: one diagnostic per field, no values."""
    with pytest.raises(InvalidInput) as caught:
        parse_request({"prefetch": {}})
    fields = sorted(d.split(":")[0] for d in caught.value.diagnostics)
    assert fields == ["context", "hook", "hookInstance"]


def test_context_errors_are_prefixed_and_withhold_values() -> None:
    """A bad patientId is named as context.patientId; the value sent is not quoted."""
    context = {"patientId": {"name": "Jane Q Patient"}, "selections": []}
    with pytest.raises(InvalidInput) as caught:
        parse_context(Hook.ORDER_SELECT, context)
    text = " ".join(caught.value.diagnostics)
    assert "context.patientId" in text and "context.selections" in text
    assert "context.draftOrders" in text and "Jane" not in text


def test_an_access_token_needs_a_fhir_server_and_never_prints() -> None:
    """fhirAuthorization without fhirServer is invalid; the token is a secret."""
    body = hook_request("patient-view")
    body["fhirAuthorization"] = {"access_token": "tok-secret", "token_type": "Bearer"}
    with pytest.raises(InvalidInput, match="fhirServer"):
        parse_request(body)
    body["fhirServer"] = "https://fhir.example.org"
    request = parse_request(body)
    assert request.fhirAuthorization is not None
    assert "tok-secret" not in repr(request)
    assert request.fhirAuthorization.access_token.get_secret_value() == "tok-secret"


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
def test_token_type_bearer_is_accepted_in_any_case(scheme: str) -> None:
    """token_type is case insensitive (RFC 6749 5.1): any case of "bearer" is read as Bearer."""
    body = hook_request("patient-view")
    body["fhirServer"] = "https://fhir.example.org"
    body["fhirAuthorization"] = {"access_token": "tok-secret", "token_type": scheme}
    request = parse_request(body)
    assert request.fhirAuthorization is not None
    assert request.fhirAuthorization.token_type == "Bearer"


def test_token_type_other_than_bearer_is_refused_naming_the_field() -> None:
    """A token_type other than bearer is a 400 naming fhirAuthorization.token_type."""
    body = hook_request("patient-view")
    body["fhirServer"] = "https://fhir.example.org"
    body["fhirAuthorization"] = {"access_token": "tok-secret", "token_type": "MAC"}
    with pytest.raises(InvalidInput) as caught:
        parse_request(body)
    assert caught.value.diagnostics[0].startswith("fhirAuthorization.token_type: ")


def test_patient_id_sent_as_a_reference_is_normalised() -> None:
    """context.patientId "Patient/x" is read as the bare id "x"; a bare id is unchanged."""
    assert parse_context(Hook.PATIENT_VIEW, {"patientId": "Patient/p-1"}).patientId == "p-1"
    assert parse_context(Hook.PATIENT_VIEW, {"patientId": "p-1"}).patientId == "p-1"


def test_validator_errors_carry_no_library_prefix() -> None:
    """fhirAuthorization without fhirServer: exactly "fhirAuthorization requires fhirServer"."""
    body = hook_request("patient-view")
    body["fhirAuthorization"] = {"access_token": "tok-secret"}
    with pytest.raises(InvalidInput) as caught:
        parse_request(body)
    assert caught.value.diagnostics == ["fhirAuthorization requires fhirServer"]
