"""The golden requests' resources are valid R4 (fhir.resources R4B), but for the damage
a golden case is about."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from fhir_mappings.reader import flatten
from tests.test_golden import CASES

# Deliberately invalid: the spec's own example carries STU3's doseQuantity.
DAMAGED = {("order-select-msc-text", "MedicationRequest/msc-1")}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_request_resources_are_valid_r4(path: Path) -> None:
    """Every resource of a golden request validates with its R4B model, or is listed as
    deliberately damaged (and then really does not validate)."""
    request = json.loads(path.read_text(encoding="utf-8"))["request"]
    resources = [r for v in (request.get("prefetch") or {}).values() for r in flatten(v)]
    resources += flatten(request["context"].get("draftOrders"))
    for resource in resources:
        model = get_fhir_model_class(resource["resourceType"])
        if (path.stem, f"{resource['resourceType']}/{resource.get('id')}") in DAMAGED:
            with pytest.raises(ValidationError):
                model.model_validate(resource)
        else:
            model.model_validate(resource)
