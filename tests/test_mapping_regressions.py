"""Regressions in the FHIR mappings found by the property tests."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fhir_mappings.facts import MsCourse
from tests import builders as b
from tests.harness import msc_card_orders
from tests.records import facts_of

URL = "/cds-services/ms-order-sign"


def msc_orders(response: Any) -> list[str]:
    return msc_card_orders(response.json())


@pytest.mark.parametrize("rtype", [{"a": 1}, ["MedicationRequest"]])
def test_unhashable_resource_type_in_a_draft_is_skipped(client: TestClient, rtype: Any) -> None:
    """A draft whose resourceType is an object or list (once a TypeError, a 500) is skipped."""
    broken = {"resourceType": rtype, "id": "x"}
    order = b.med_request("msc-1", text="MSC infusion")
    body = b.hook_request("order-sign", drafts=[broken, order], conditions=[b.ms_condition()])
    response = client.post(URL, json=body)
    assert response.status_code == 200
    assert msc_orders(response) == ["MedicationRequest/msc-1"]


@pytest.mark.parametrize(
    "text",
    [
        "Cord\tblood unit with MSC infusion",
        "Bone marrow\ntransplant; mesenchymal cells",
        "autologous\u00a0stem  cell transplant + MSC",
    ],
)
def test_ahsct_wording_split_by_odd_whitespace_is_not_msc(client: TestClient, text: str) -> None:
    """Haematopoietic wording broken by tabs, newlines or NBSPs still wins over MSC wording."""
    order = b.med_request("hsct-1", text=text)
    body = b.hook_request("order-sign", drafts=[order], conditions=[b.ms_condition()])
    response = client.post(URL, json=body)
    assert response.status_code == 200
    assert msc_orders(response) == []


def test_ms_text_split_by_a_line_break_is_ms() -> None:
    """'Relapsing-remitting multiple\\nsclerosis' is read as RRMS."""
    facts = facts_of(b.condition("dx", text="Relapsing-remitting multiple\nsclerosis"))
    assert facts.course is not None and facts.course.course is MsCourse.RELAPSING_REMITTING
