"""Each demo patient through the real services: no prefetch, `fhirServer` = /demo/fhir
on the same live server (uvicorn), as the sandbox or a curl would call it.

Expectations are what the service should answer clinically (each situation names its
cards).
"""

from __future__ import annotations

import json
import shlex
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cds_service.app import create_app
from cds_service.catalogue import PREFETCH
from cds_service.demo import curl_msc_order_select
from demo_data import SITUATIONS, Situation
from tests.conftest import TODAY, make_settings
from tests.servers import uvicorn_server


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    app = create_app(make_settings(demo=True), clock=lambda: TODAY)
    with uvicorn_server(app) as url:
        yield url


def _call(api: str, service: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = httpx.post(f"{api}/cds-services/{service}", json=body, timeout=30)
    assert response.status_code == 200, response.text[:500]
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def _patient_view(api: str, patient_id: str) -> list[dict[str, Any]]:
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": f"{api}/demo/fhir",
        "context": {"userId": "Practitioner/demo", "patientId": patient_id},
    }
    return _call(api, "ms-patient-view", body)


def _topics(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


@pytest.mark.parametrize("situation", SITUATIONS, ids=[s.id for s in SITUATIONS])
def test_patient_view_shows_the_expected_cards(api: str, situation: Situation) -> None:
    """patient-view of each demo patient answers exactly the cards its situation names."""
    cards = _patient_view(api, situation.id)
    assert _topics(cards) == list(situation.expected_topics["patient-view"])


def _sandbox_prefetch(api: str, patient_id: str) -> dict[str, Any]:
    """Every prefetch template fetched as the sandbox does: reads by GET, searches by a
    form POST to {type}/_search (docs/research/integration.md 1c)."""
    prefetch = {}
    for key, template in PREFETCH.items():
        path = template.replace("{{context.patientId}}", patient_id)
        resource_type, _, query = path.partition("?")
        if query:
            response = httpx.post(
                f"{api}/demo/fhir/{resource_type}/_search",
                content=query,
                headers={"content-type": "application/x-www-form-urlencoded"},
                timeout=30,
            )
        else:
            response = httpx.get(f"{api}/demo/fhir/{path}", timeout=30)
        assert response.status_code == 200, (key, response.text[:300])
        prefetch[key] = response.json()
    return prefetch


@pytest.mark.parametrize("situation", SITUATIONS, ids=lambda s: s.id)
def test_sandbox_prefetch_gives_the_same_cards(api: str, situation: Situation) -> None:
    """Prefetched through POST _search (as the sandbox does) or fetched by the service:
    the same cards."""
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": f"{api}/demo/fhir",
        "context": {"userId": "Practitioner/demo", "patientId": situation.id},
        "prefetch": _sandbox_prefetch(api, situation.id),
    }
    prefetched = _call(api, "ms-patient-view", body)
    assert _topics(prefetched) == _topics(_patient_view(api, situation.id))


def test_data_gaps_name_what_to_record(api: str) -> None:
    """The data-gaps patient's card asks for the full birth date, an EDSS and MRI counts."""
    (card,) = _patient_view(api, "ms-gaps")
    detail = card["detail"]
    assert "record the full date of birth" in detail
    assert "no EDSS in the last 12 months" in detail
    assert "no MRI lesion counts" in detail


def test_pregnant_patient_is_not_proposed_cladribine(api: str) -> None:
    """Escalation in pregnancy never proposes cladribine (contraindicated: label, advice.md 1.1)."""
    (card,) = _patient_view(api, "ms-pregnant")
    labels = [s["label"].lower() for s in card.get("suggestions", [])]
    assert labels and not any("cladribine" in label for label in labels)


def test_the_printed_msc_curl_warns(api: str) -> None:
    """The order-select curl `ms-cds demo` prints gets the critical MSC warning."""
    words = shlex.split(curl_msc_order_select(api))
    assert words[:4] == ["curl", "-s", "-X", "POST"]
    url, body = words[4], json.loads(words[words.index("-d") + 1])
    assert "prefetch" not in body and body["fhirServer"] == f"{api}/demo/fhir"
    response = httpx.post(url, json=body, timeout=30)
    cards = response.json()["cards"]
    assert _topics(cards) == ["mscWarning"]
    assert cards[0]["indicator"] == "critical"
    assert "AHSCT" in cards[0]["detail"]


def _sandbox_draft(patient_id: str, rxcui: str, name: str) -> dict[str, Any]:
    """The sandbox's R4 order-select draft, as it builds it (not valid R4: category and
    reasonCode are objects; docs/research/integration.md 1c)."""
    return {
        "resourceType": "MedicationRequest",
        "id": "request-123",
        "status": "draft",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": TODAY.isoformat(),
        "dosageInstruction": [
            {
                "text": "1 daily",
                "doseAndRate": [{"doseQuantity": {"value": 1}}],
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            }
        ],
        "intent": "order",
        "category": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                    "code": "community",
                }
            ]
        },
        "medicationCodeableConcept": {
            "text": name,
            "coding": [
                {
                    "display": name,
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": rxcui,
                }
            ],
        },
        "reasonCode": {"coding": [{"system": "http://snomed.info/sct", "code": "426373005"}]},
    }


def test_sandbox_fingolimod_order_for_the_escalation_patient(api: str) -> None:
    """The sandbox's own fingolimod order (RxCUI 1012895) for active RRMS gets escalation."""
    draft = _sandbox_draft("ms-escalation", "1012895", "fingolimod 0.5 MG Oral Capsule")
    body = {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": f"{api}/demo/fhir",
        "context": {
            "userId": "Practitioner/COREPRACTITIONER1",
            "patientId": "ms-escalation",
            "selections": ["MedicationRequest/request-123"],
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]},
        },
    }
    assert _topics(_call(api, "ms-order-select", body)) == ["dmtEscalation"]
