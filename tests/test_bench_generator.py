"""The benchmark's synthetic patients: deterministic, distinct and valid FHIR R4."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from bench.generator import generate
from fhir_mappings.resources import flatten


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
