"""Regressions in reference resolution, found by fuzzing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import builders as b

URL = "/cds-services/ms-order-select"


def topics(response: Any) -> list[str]:
    return [card["source"]["topic"]["code"] for card in response.json()["cards"]]


@pytest.mark.parametrize("reference", ["/", "//", "Condition/", "x/", "/x", "#", "a"])
def test_malformed_reason_reference_does_not_crash(client: TestClient, reference: str) -> None:
    """A reasonReference like '/' or 'Condition/' (once an IndexError, a 500) is ignored."""
    order = b.med_request(
        "msc-1", text="Mesenchymal stromal cells", reasonReference=[{"reference": reference}]
    )
    body = b.hook_request("order-select", drafts=[order], conditions=[b.ms_condition()])
    response = client.post(URL, json=body)
    assert response.status_code == 200
    assert topics(response) == ["mscWarning"]


@pytest.mark.parametrize("reference", ["/", "Medication/", "x/"])
def test_malformed_medication_reference_does_not_crash(client: TestClient, reference: str) -> None:
    """A medicationReference like 'Medication/' is unresolvable, not a 500."""
    order = b.med_request("m-1", medicationReference={"reference": reference})
    body = b.hook_request("order-select", drafts=[order], conditions=[b.ms_condition()])
    response = client.post(URL, json=body)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_versioned_medication_reference_is_resolved(client: TestClient) -> None:
    """An MSC Medication referenced as 'Medication/id/_history/2' is found: no wrong silence."""
    medication = {"resourceType": "Medication", "id": "med-msc", "code": {"text": "Remestemcel-L"}}
    order = b.med_request(
        "msc-1", medicationReference={"reference": "Medication/med-msc/_history/2"}
    )
    body = b.hook_request("order-select", drafts=[order, medication], conditions=[b.ms_condition()])
    body["context"]["selections"] = ["MedicationRequest/msc-1"]
    response = client.post(URL, json=body)
    assert response.status_code == 200
    assert topics(response) == ["mscWarning"]


def test_a_draft_medication_wins_over_one_of_the_same_id_in_the_prefetch(
    client: TestClient,
) -> None:
    """The draft bundle's Medication/m (MSC) is the one the order means, not the record's."""
    drafted = {"resourceType": "Medication", "id": "m", "code": {"text": "Remestemcel-L"}}
    recorded = {"resourceType": "Medication", "id": "m", "code": {"text": "Baclofen"}}
    order = b.med_request("msc-1", medicationReference={"reference": "Medication/m"})
    body = b.hook_request("order-select", drafts=[order, drafted], conditions=[b.ms_condition()])
    body["context"]["selections"] = ["MedicationRequest/msc-1"]
    body["prefetch"]["medicationRequests"] = b.bundle(recorded)
    response = client.post(URL, json=body)
    assert response.status_code == 200
    assert topics(response) == ["mscWarning"]
