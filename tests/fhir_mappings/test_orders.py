"""Draft orders: what is being ordered (MSC, HSCT, DMT, other), why, and what they
reference that the request does not hold."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.build import read_drafts, read_patient
from fhir_mappings.facts import DraftOrder, EfficacyClass, OrderKind, OrderReason
from tests.builders import HCPCS, med_request, ms_condition, service_request
from tests.conftest import TODAY
from tests.records import CPT, record_of


def _orders(*drafts: dict[str, Any], **prefetch: Any) -> tuple[DraftOrder, ...]:
    return read_drafts(record_of(*prefetch.get("record", ()), drafts=list(drafts))).orders


def test_draft_dmt_orders_carry_ingredient_and_class_and_are_not_exposures() -> None:
    """A draft DMT order is kind DMT with its ingredient; it is not a record of exposure."""
    record = record_of(drafts=[med_request("d1", "Copaxone 40 mg/mL")])
    (order,) = read_drafts(record).orders
    assert order.kind is OrderKind.DMT
    assert (order.dmt_ingredient, order.dmt_efficacy) == (
        "glatiramer acetate",
        EfficacyClass.PLATFORM,
    )
    assert read_patient(record, TODAY).dmts == ()


@pytest.mark.parametrize(
    ("draft", "kind"),
    [
        (service_request("s", "Autologous HSCT", "38241", system=CPT), OrderKind.HSCT),
        (service_request("s", "HSCT after cladribine conditioning"), OrderKind.HSCT),
        (med_request("m", "MSC infusion", "J3402", HCPCS), OrderKind.MSC),
        (med_request("m", "Mesenchymal stem cells with rituximab"), OrderKind.MSC),
    ],
)
def test_hsct_and_msc_orders_are_never_dmt(draft: dict[str, Any], kind: OrderKind) -> None:
    """HSCT and MSC wording win over any DMT name in the same order."""
    (order,) = _orders(draft)
    assert order.kind is kind
    assert order.dmt_ingredient is None


def test_reason_reference_is_resolved_in_the_drafts_then_the_record() -> None:
    """An MS Condition referenced as the reason is found in the prefetch: reason MS, sourced."""
    order = med_request(
        "m", "Mesenchymal stem cells", reasonReference=[{"reference": "Condition/ms-1"}]
    )
    (found,) = _orders(order, record=[ms_condition()])
    assert found.reason is OrderReason.MS
    assert found.sources == ("MedicationRequest/m", "Condition/ms-1")


def test_references_the_request_does_not_hold_are_listed() -> None:
    """A Medication or a reason Condition neither in the drafts nor in the prefetch is
    listed as 'Type/id' (once each); contained and malformed references are not."""
    order = med_request(
        "m",
        medicationReference={"reference": "https://ehr.example/fhir/Medication/x/_history/2"},
        reasonReference=[
            {"reference": "Condition/gone"},
            {"reference": "#local"},
            {"reference": "Condition/"},
            {"reference": "Condition/gone"},
        ],
    )
    other = med_request("o", "Mesenchymal stem cells", reasonReference=[{"reference": "#x"}])
    reading = read_drafts(record_of(drafts=[order, other]))
    assert reading.unresolved == ("Medication/x",)
    msc = med_request("msc", "MSC infusion", reasonReference=[{"reference": "Condition/gone"}])
    assert read_drafts(record_of(drafts=[msc])).unresolved == ("Condition/gone",)


def test_a_medication_in_the_drafts_is_not_unresolved() -> None:
    """A medicationReference into the draft bundle resolves: the order is judged by it."""
    medication = {"resourceType": "Medication", "id": "med", "code": {"text": "Remestemcel-L"}}
    order = med_request("m", medicationReference={"reference": "Medication/med"})
    reading = read_drafts(record_of(drafts=[order, medication]))
    assert reading.unresolved == ()
    assert [o.kind for o in reading.orders] == [OrderKind.MSC]


def test_damaged_elements_of_a_draft_are_noted_not_fatal() -> None:
    """Wrongly typed elements of a draft are skipped and noted by path; the MSC product
    named in an intact element is still read."""
    order = med_request(
        "m",
        "Mesenchymal stromal cells",
        status=["draft"],
        reasonCode={"text": "not a list"},
        reasonReference=[7],
    )
    reading = read_drafts(record_of(drafts=[order]))
    assert [o.kind for o in reading.orders] == [OrderKind.MSC]
    assert [(n.element, n.problem.value) for n in reading.notes] == [
        ("status", "wrong_type"),
        ("reasonCode", "wrong_type"),
        ("reasonReference[0]", "wrong_type"),
    ]
