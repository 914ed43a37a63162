"""The benchmark's synthetic patients: deterministic, distinct and valid FHIR R4."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from bench.generator import generate
from fhir_mappings.reader import flatten


def _resources(body: dict[str, Any]) -> list[dict[str, Any]]:
    out = [r for value in body["prefetch"].values() for r in flatten(value)]
    return out + flatten(body["context"].get("draftOrders"))


def test_same_seed_same_request_other_index_other_patient() -> None:
    """A seed and index always give the same request; another index another patient."""
    assert generate(3, "typical").body == generate(3, "typical").body
    assert (
        generate(3, "typical").body["context"]["patientId"]
        != generate(4).body["context"]["patientId"]
    )


def test_sizes_and_validity() -> None:
    """small ~15 and typical ~60 resources, every one of them valid R4 (fhir.resources R4B)."""
    small, typical = (
        generate(0, "small", hook="order-select"),
        generate(1, "typical", hook="order-sign"),
    )
    assert 12 <= small.resources <= 20 and 55 <= typical.resources <= 65
    for request in (small, typical):
        resources = _resources(request.body)
        assert len(resources) == request.resources
        for raw in resources:
            get_fhir_model_class(raw["resourceType"]).model_validate(raw)


def test_msc_orders_occur() -> None:
    """About one order in ten is an MSC order, across a hundred patients."""
    flagged = sum(generate(i, "small", hook="order-sign").msc_order for i in range(100))
    assert 3 <= flagged <= 25


def test_active_patient_view_records_carry_activity() -> None:
    """The active patient-view scenario: ~60 and 2,000 valid resources, with relapses, MRI
    counts, EDSS scores and high-efficacy DMTs across patients, and no draft orders."""
    requests = [generate(i, "typical", hook="patient-view", active=True) for i in range(20)]
    requests.append(generate(0, "large", hook="patient-view", active=True))
    assert all(55 <= r.resources <= 65 for r in requests[:-1])
    assert requests[-1].resources == 2000
    seen: set[str] = set()
    for request in requests:
        assert request.service == "ms-patient-view"
        assert "draftOrders" not in request.body["context"]
        for raw in _resources(request.body):
            get_fhir_model_class(raw["resourceType"]).model_validate(raw)
            text = str(raw.get("code") or raw.get("medicationCodeableConcept"))
            for marker in ("192929006", "relapse", "lesions", "273554001", "ocrelizumab"):
                if marker in text:
                    seen.add(marker)
    assert seen == {"192929006", "relapse", "lesions", "273554001", "ocrelizumab"}
