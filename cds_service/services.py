"""The service catalogue: what discovery advertises, and which hook each service serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PREFETCH", "SERVICES", "ServiceDefinition", "discovery_document", "service_for_hook"]

# What the rules read. Keys are stable: EHRs configured by hand (Epic) use them.
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
}

# Without these the service cannot answer at all (412 when they cannot be had).
REQUIRED_PREFETCH = frozenset({"patient"})


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str] = field(default_factory=lambda: dict(PREFETCH))

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
            "prefetch": self.prefetch,
        }


SERVICES: dict[str, ServiceDefinition] = {
    s.id: s
    for s in (
        ServiceDefinition(
            "ms-order-select",
            "order-select",
            "MS therapy order check",
            "Warns against mesenchymal stem cell (MSC) infusion orders for multiple "
            "sclerosis and points to evidence-based alternatives (high-efficacy DMT, AHSCT).",
        ),
        ServiceDefinition(
            "ms-order-sign",
            "order-sign",
            "MS therapy order check at signing",
            "Checks every draft order before signing: MSC infusion for multiple sclerosis, "
            "platform DMTs for active relapsing MS, non-ocrelizumab DMTs for PPMS.",
        ),
        ServiceDefinition(
            "ms-patient-view",
            "patient-view",
            "MS treatment review",
            "Reviews the multiple sclerosis record: AHSCT referral criteria (ECTRIMS/EBMT), "
            "DMT escalation for active relapsing MS, ocrelizumab for PPMS, and missing data.",
        ),
    )
}


def discovery_document() -> dict[str, Any]:
    return {"services": [s.discovery() for s in SERVICES.values()]}


def service_for_hook(hook: str) -> ServiceDefinition | None:
    return next((s for s in SERVICES.values() if s.hook == hook), None)
