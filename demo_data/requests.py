"""CDS Hooks request bodies for trying the demo by hand (the printed curl)."""

from __future__ import annotations

from typing import Any

from demo_data.codes import MSC_REMESTEMCEL, RRMS

__all__ = ["MSC_DRAFT_ID", "msc_order_select"]

MSC_DRAFT_ID = "demo-msc-draft"


def msc_order_select(patient_id: str, fhir_server: str, hook_instance: str) -> dict[str, Any]:
    """order-select of a draft remestemcel-L (MSC) infusion for MS, no prefetch: the
    service reads the record from `fhir_server`."""
    draft = {
        "resourceType": "MedicationRequest",
        "id": MSC_DRAFT_ID,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "medicationCodeableConcept": MSC_REMESTEMCEL.concept(),
        "reasonCode": [RRMS.concept()],
    }
    return {
        "hook": "order-select",
        "hookInstance": hook_instance,
        "fhirServer": fhir_server,
        "context": {
            "userId": "Practitioner/demo",
            "patientId": patient_id,
            "selections": [f"MedicationRequest/{MSC_DRAFT_ID}"],
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": draft}],
            },
        },
    }
