"""Discovery: GET /cds-services lists the three services with their prefetch templates."""

from __future__ import annotations

from fastapi.testclient import TestClient

EXPECTED = {
    "ms-order-select": "order-select",
    "ms-order-sign": "order-sign",
    "ms-patient-view": "patient-view",
}
PREFETCH_RESOURCES = {
    "Patient",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "Observation",
    "Procedure",
    "Encounter",
    "DiagnosticReport",
}


def test_discovery_lists_the_three_services(client: TestClient) -> None:
    """Discovery returns exactly the three services, each with its hook."""
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = response.json()["services"]
    assert {s["id"]: s["hook"] for s in services} == EXPECTED


def test_each_service_has_title_description_and_prefetch(client: TestClient) -> None:
    """Every service has a title, a description and prefetch for what the rules read."""
    for service in client.get("/cds-services").json()["services"]:
        assert service["title"] and service["description"]
        templates = service["prefetch"].values()
        fetched = {t.split("?")[0].split("/")[0] for t in templates}
        viewing = {"ServiceRequest"} if service["hook"] == "patient-view" else set()
        assert fetched == PREFETCH_RESOURCES | viewing
        assert all("{{context.patientId}}" in t for t in templates)


def test_discovery_omits_null_fields(client: TestClient) -> None:
    """Optional fields are omitted, never null or empty."""
    for service in client.get("/cds-services").json()["services"]:
        assert all(value not in (None, [], "") for value in service.values())
