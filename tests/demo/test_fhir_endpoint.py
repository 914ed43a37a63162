"""GET/POST /demo/fhir: the read-only FHIR R4 endpoint of the demo patients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

from cds_service import catalogue
from cds_service.catalogue import PREFETCH
from cds_service.config import ConfigurationError
from tests import jwt_support as js
from tests.conftest import make_settings

SANDBOX = "https://sandbox.cds-hooks.org"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def demo(app_factory: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(app_factory(make_settings(demo=True))) as client:
        yield client


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle["entry"]]


def test_metadata_is_an_r4_capability_statement(demo: TestClient) -> None:
    """/metadata: a valid CapabilityStatement, fhirVersion 4.0.1, every prefetched type."""
    response = demo.get("/demo/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    get_fhir_model_class("CapabilityStatement").model_validate(body)
    assert body["fhirVersion"] == "4.0.1"
    served = {r["type"] for r in body["rest"][0]["resource"]}
    templates = {t.split("?")[0] for t in PREFETCH.values() if not t.startswith("Patient/")}
    assert served == {"Patient"} | templates
    assert {"Condition", "MedicationRequest", "Observation", "Procedure"} <= served


def test_a_type_added_to_the_catalogue_is_served(
    demo: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prefetch key added later (e.g. Encounter) is in /metadata and searchable (empty)."""
    monkeypatch.setitem(
        catalogue.PREFETCH, "encounters", "Encounter?patient={{context.patientId}}&_count=50"
    )
    types = {r["type"] for r in demo.get("/demo/fhir/metadata").json()["rest"][0]["resource"]}
    assert "Encounter" in types
    bundle = demo.get("/demo/fhir/Encounter", params={"patient": "ms-ahsct"}).json()
    assert bundle["total"] == 0 and bundle["entry"] == []


def test_read_by_id(demo: TestClient) -> None:
    """Patient/{id} is the demo Patient; an unknown id or type is a 404 OperationOutcome."""
    patient = demo.get("/demo/fhir/Patient/ms-ahsct").json()
    assert patient["resourceType"] == "Patient" and patient["id"] == "ms-ahsct"
    for path in ("/demo/fhir/Patient/nobody", "/demo/fhir/Medication/ms-ahsct"):
        response = demo.get(path)
        assert response.status_code == 404
        assert response.json()["resourceType"] == "OperationOutcome"


def test_search_by_patient_has_total(demo: TestClient) -> None:
    """Condition?patient=: only that patient's, a searchset with total and fullUrls."""
    for value in ("ms-ahsct", "Patient/ms-ahsct"):
        bundle = demo.get("/demo/fhir/Condition", params={"patient": value}).json()
        get_fhir_model_class("Bundle").model_validate(bundle)
        assert bundle["type"] == "searchset"
        assert bundle["total"] == len(bundle["entry"]) == 2
        assert all(
            e["resource"]["subject"]["reference"] == "Patient/ms-ahsct" for e in bundle["entry"]
        )
        assert bundle["entry"][0]["fullUrl"].endswith("/demo/fhir/Condition/ms-ahsct-dx-1")


def test_bare_patient_search_lists_the_demo_patients(demo: TestClient) -> None:
    """GET /Patient (the sandbox's probe) lists every demo patient, never a 401."""
    bundle = demo.get("/demo/fhir/Patient").json()
    assert bundle["total"] == 8 and "ms-ahsct" in _ids(bundle)
    assert _ids(demo.get("/demo/fhir/Patient", params={"_id": "nmosd"}).json()) == ["nmosd"]


def test_post_search_with_a_form_body(demo: TestClient) -> None:
    """POST {type}/_search with a form body (the sandbox's prefetch) answers as GET does."""
    posted = demo.post("/demo/fhir/Observation/_search", content="patient=ms-ppms", headers=FORM)
    got = demo.get("/demo/fhir/Observation", params={"patient": "ms-ppms"})
    assert posted.status_code == 200
    assert _ids(posted.json()) == _ids(got.json()) == ["ms-ppms-edss-1"]


def test_post_search_refuses_another_body(demo: TestClient) -> None:
    """A JSON body to _search is a 400 OperationOutcome, not a 500."""
    response = demo.post("/demo/fhir/Observation/_search", json={"patient": "ms-ppms"})
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_token_parameters_filter(demo: TestClient) -> None:
    """category, code (with or without system), status and :not filter; others are ignored."""
    get = demo.get
    url = "/demo/fhir/Observation"
    imaging = get(url, params={"patient": "ms-ahsct", "category": "imaging"}).json()
    assert _ids(imaging) == ["ms-ahsct-mri-1", "ms-ahsct-mri-2"]
    edss = get(url, params={"patient": "ms-ahsct", "code": "http://snomed.info/sct|273554001"})
    assert _ids(edss.json()) == ["ms-ahsct-edss-1"]
    assert get(url, params={"patient": "ms-ahsct", "code": "other|273554001"}).json()["total"] == 0
    lenient = get(url, params={"patient": "ms-ahsct", "_sort": "-date", "date": "ge2020"})
    assert lenient.json()["total"] == 3
    meds = "/demo/fhir/MedicationRequest"
    assert (
        get(meds, params={"patient": "ms-msc-order", "status": "active,stopped"}).json()["total"]
        == 2
    )
    assert (
        get(meds, params={"patient": "ms-msc-order", "status:not": "active"}).json()["total"] == 0
    )
    active = get(
        "/demo/fhir/Condition", params={"patient": "ms-ahsct", "clinical-status": "active"}
    )
    assert _ids(active.json()) == ["ms-ahsct-dx-1"]


def test_count_pages_with_next_links(demo: TestClient) -> None:
    """_count pages the result; `next` links lead through every entry; total stays whole."""
    url: str | None = "/demo/fhir/Observation?patient=ms-ahsct&_count=2"
    ids: list[str] = []
    while url:
        bundle = demo.get(url).json()
        assert bundle["total"] == 3
        ids += _ids(bundle)
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert ids == ["ms-ahsct-edss-1", "ms-ahsct-mri-1", "ms-ahsct-mri-2"]
    only_total = demo.get("/demo/fhir/Observation?patient=ms-ahsct&_count=0").json()
    assert only_total["total"] == 3 and only_total["entry"] == []
    assert [link["relation"] for link in only_total["link"]] == ["self"]


def test_cors_for_the_sandbox_on_every_answer(demo: TestClient) -> None:
    """The sandbox's origin is allowed on reads, searches, POST _search and 404s."""
    origin = {"Origin": SANDBOX}
    answers = [
        demo.get("/demo/fhir/metadata", headers=origin),
        demo.get("/demo/fhir/Condition?patient=ms-ahsct", headers=origin),
        demo.post("/demo/fhir/Condition/_search", content="patient=x", headers={**origin, **FORM}),
        demo.get("/demo/fhir/Patient/nobody", headers=origin),
    ]
    assert [a.headers.get("access-control-allow-origin") for a in answers] == [SANDBOX] * 4


def test_dates_follow_the_apps_clock(app_factory: Callable[..., FastAPI]) -> None:
    """The records are dated from the app's clock (frozen here): today's EDSS is recent."""
    from datetime import date

    with TestClient(app_factory(make_settings(demo=True), today=date(2031, 5, 1))) as client:
        edss = client.get("/demo/fhir/Observation/ms-ahsct-edss-1").json()
    assert edss["effectiveDateTime"].startswith("2030-12")


def test_not_mounted_without_demo_or_in_production(app_factory: Callable[..., FastAPI]) -> None:
    """Development without CDS_DEMO and production never serve /demo/fhir."""
    production = js.production_settings(trusted_issuers={js.ISSUER: {"jwks": {"keys": []}}})
    for settings in (make_settings(), production):
        with TestClient(app_factory(settings)) as client:
            assert client.get("/demo/fhir/metadata").status_code == 404
            assert client.get("/demo/fhir/Patient/ms-ahsct").status_code == 404


def test_production_refuses_demo(app_factory: Callable[..., FastAPI]) -> None:
    """CDS_DEMO in production mode refuses to start, naming the setting."""
    settings = js.production_settings(
        trusted_issuers={js.ISSUER: {"jwks": {"keys": []}}}, demo=True
    )
    with pytest.raises(ConfigurationError, match="CDS_DEMO"):
        app_factory(settings)
