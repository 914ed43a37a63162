"""Issue 17 finding 19: a patientId must be a FHIR id, so it can never steer the Patient read
(`..` sent it to the server base) or any other prefetch URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx
from fastapi.testclient import TestClient

from tests.builders import hook_request
from tests.fhir_fakes import BASE, fetch_request

SERVICE = "/cds-services/ms-patient-view"


@pytest.fixture
def fhir() -> Iterator[respx.MockRouter]:
    """respx scoped to the FHIR base URL with no routes: any FHIR call fails the test."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.mark.parametrize(
    "patient_id",
    ["..", ".", "Patient/..", "../Practitioner/1", "a/b", "a%2e%2e", "a b", "x" * 257, "é"],
)
def test_patient_id_outside_the_fhir_id_grammar_is_a_400(
    patient_id: str, client: TestClient, fhir: respx.MockRouter
) -> None:
    """A patientId that is not a FHIR id (or only dots) is a 400 naming context.patientId,
    and nothing is fetched."""
    body = fetch_request("patient")
    body["context"]["patientId"] = patient_id
    response = client.post(SERVICE, json=body)
    assert response.status_code == 400, response.text
    assert "context.patientId: must be a FHIR id" in response.json()["issue"][0]["diagnostics"]
    assert not fhir.calls


@pytest.mark.parametrize(
    "patient_id",
    ["pat-1", "Patient/pat-1", "12724066", "eD.LxhDyX35TntF77l7etUA3", "a..b", "E" * 194],
)
def test_real_ehr_ids_are_accepted(patient_id: str, client: TestClient) -> None:
    """Ids as EHRs send them (Oracle Health digits, Epic's dotted ids, long ones) are served."""
    body = hook_request("patient-view")
    body["context"]["patientId"] = patient_id
    assert client.post(SERVICE, json=body).status_code == 200
