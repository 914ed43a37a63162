"""The service catalogue: what discovery advertises, and which hook each service serves."""

from __future__ import annotations

from typing import Any

from cds_hooks import DiscoveryResponse, Hook, ServiceDefinition, dump

__all__ = [
    "PREFETCH",
    "REQUIRED_PREFETCH",
    "SERVICES",
    "discovery_document",
    "service_for_hook",
]

# What the rules read. Keys are stable: EHRs configured by hand (Epic) use them.
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    # Infusions (ocrelizumab, natalizumab...) are often recorded only as administrations.
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
    # Relapse visits: an Encounter's reasonCode states the relapse (issue 15).
    "encounters": "Encounter?patient={{context.patientId}}",
    # MRI reports: the US Core (LOINC) and HL7 v2 radiology categories, OR'd (FHIR search
    # token list); a category is named so that EHRs that refuse an open search accept it.
    "mriReports": "DiagnosticReport?patient={{context.patientId}}"
    "&category=http://loinc.org|LP29684-5,http://terminology.hl7.org/CodeSystem/v2-0074|RAD",
}

# Without these the service cannot answer at all (412 when they cannot be had).
REQUIRED_PREFETCH = frozenset({"patient"})

SERVICES: dict[str, ServiceDefinition] = {
    s.id: s
    for s in (
        ServiceDefinition(
            id="ms-order-select",
            hook=Hook.ORDER_SELECT,
            title="MS therapy order check",
            description="Warns against mesenchymal stem cell (MSC) infusion orders for "
            "multiple sclerosis and points to evidence-based alternatives (high-efficacy "
            "DMT, AHSCT).",
            prefetch=dict(PREFETCH),
        ),
        ServiceDefinition(
            id="ms-order-sign",
            hook=Hook.ORDER_SIGN,
            title="MS therapy order check at signing",
            description="Checks every draft order before signing: MSC infusion for multiple "
            "sclerosis, platform DMTs for active relapsing MS, non-ocrelizumab DMTs for PPMS.",
            prefetch=dict(PREFETCH),
        ),
        ServiceDefinition(
            id="ms-patient-view",
            hook=Hook.PATIENT_VIEW,
            title="MS treatment review",
            description="Reviews the multiple sclerosis record: AHSCT referral criteria "
            "(ECTRIMS/EBMT), DMT escalation for active relapsing MS, ocrelizumab for PPMS, "
            "and missing data.",
            prefetch=dict(PREFETCH),
        ),
    )
}


def discovery_document() -> dict[str, Any]:
    """GET /cds-services: every service of the catalogue."""
    return dump(DiscoveryResponse(services=list(SERVICES.values())))


def service_for_hook(hook: str) -> ServiceDefinition | None:
    return next((s for s in SERVICES.values() if s.hook == hook), None)
