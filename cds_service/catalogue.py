"""The service catalogue: what discovery advertises, and which hook each service serves.

Prefetch templates are made by `prefetch_templates(config)`: the Observation query names
every code the rules read in Observations (`fhir_mappings.valuesets.searched_codes`:
every value set marked `"searched_in": ["Observation"]`, so a code another value set adds
flows in, plus the site's local MRI codes from settings), because Epic refuses an
Observation search naming no code or category. `SERVICES` is the catalogue with the
default settings; `services(config)` the one a running app advertises.

When the FHIR server refuses that search when the service fetches it (an HTTP 4xx
answer: some servers limit or reject a list of codes, or a code system),
`fallback_codes` gives what to try instead: its codes without their system, searched in
parts (quarters, a refused part split again: cds_service.fetch.split), the answers merged.
"""

from __future__ import annotations

from typing import Any

from cds_hooks import DiscoveryResponse, Hook, ServiceDefinition, dump
from fhir_mappings.config import MappingConfig
from fhir_mappings.valuesets import searched_codes

__all__ = [
    "KEY_DESCRIPTIONS",
    "PATIENT_VIEW_PREFETCH",
    "PREFETCH",
    "REQUIRED_PREFETCH",
    "SERVICES",
    "code_search",
    "discovery_document",
    "fallback_codes",
    "observation_codes",
    "observation_template",
    "prefetch_templates",
    "service_for_hook",
    "services",
]

_OBSERVATION = "Observation?patient={{context.patientId}}&code="


def observation_codes(config: MappingConfig | None = None) -> list[str]:
    """'system|code' of every code the rules read in Observations: the value sets'
    (EDSS...), then the configured local MRI codes; each once, in that order."""
    config = config or MappingConfig()
    codes = [f"{c.system}|{c.code}" for c in searched_codes("Observation")]
    codes += sorted(config.mri_gd_codes | config.mri_new_t2_codes)
    return list(dict.fromkeys(c for c in codes if "," not in c))  # a comma would split it


def observation_template(config: MappingConfig | None = None) -> str:
    """The Observation search: the patient's Observations with one of those codes."""
    return _OBSERVATION + ",".join(observation_codes(config))


# What the rules read. Keys are stable: EHRs configured by hand (Epic) use them. Each
# key's description below goes into discovery (one the table lacks shows its template).
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    # Infusions (ocrelizumab, natalizumab...) are often recorded only as administrations.
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
    "observations": observation_template(),
    # MRI lesion counts have no standard code (local codes or text): the imaging category.
    "imagingObservations": "Observation?patient={{context.patientId}}"
    "&category=http://terminology.hl7.org/CodeSystem/observation-category|imaging",
    "procedures": "Procedure?patient={{context.patientId}}",
    # Relapse visits: an Encounter's reasonCode states the relapse (issue 15).
    "encounters": "Encounter?patient={{context.patientId}}",
    # MRI reports: the US Core (LOINC) and HL7 v2 radiology categories, OR'd (FHIR search
    # token list); a category is named so that EHRs that refuse an open search accept it.
    "mriReports": "DiagnosticReport?patient={{context.patientId}}"
    "&category=http://loinc.org|LP29684-5,http://terminology.hl7.org/CodeSystem/v2-0074|RAD",
}

# Keys only patient-view reads. Open orders only: an MSC order already in the record is
# warned at patient-view (EHRs with no order hook); the order hooks judge the drafts.
PATIENT_VIEW_PREFETCH: dict[str, str] = {
    "serviceRequests": "ServiceRequest?patient={{context.patientId}}"
    "&status=draft,active,on-hold,unknown",
}

KEY_DESCRIPTIONS: dict[str, str] = {
    "patient": "the Patient (age)",
    "conditions": "every Condition (MS diagnosis, course, onset, relapses, acute GVHD)",
    "medicationRequests": "every MedicationRequest (DMT history; open MSC orders)",
    "medicationStatements": "every MedicationStatement (DMT history)",
    "observations": "the Observations with the codes the rules read (EDSS, JCV, HBV and "
    "aquaporin-4 serology, MRI studies, pregnancy tests; the site's MRI lesion-count codes), "
    "never a search naming no code",
    "imagingObservations": "the imaging-category Observations (MRI lesion counts, which have "
    "no standard code)",
    "medicationAdministrations": "every MedicationAdministration (infusions: DMT exposure)",
    "procedures": "every Procedure (a prior AHSCT; an AHSCT declined)",
    "encounters": "every Encounter (relapse visits)",
    "mriReports": "the radiology DiagnosticReports (MRI activity read from the report text)",
    "serviceRequests": "open ServiceRequests (draft, active, on-hold, unknown): MSC orders "
    "already in the record",
}

# Without these the service cannot answer at all (412 when they cannot be had).
REQUIRED_PREFETCH = frozenset({"patient"})


def prefetch_templates(
    config: MappingConfig | None = None, hook: Hook | None = None
) -> dict[str, str]:
    """Every prefetch key's template at `hook`, for these mapping settings (every key of
    every hook when `hook` is None)."""
    extra = PATIENT_VIEW_PREFETCH if hook in (None, Hook.PATIENT_VIEW) else {}
    return {**PREFETCH, "observations": observation_template(config), **extra}


def fallback_codes(key: str, template: str) -> list[str]:
    """The codes to search in parts when the server refuses `template` (HTTP 4xx): the
    Observation search's codes, each without its system (a server may limit a list of
    codes, or refuse one code system; the mappings check the system of what comes back),
    each once. None for any other key: it is reported missing with the error."""
    if key != "observations" or not template.startswith(_OBSERVATION):
        return []
    codes = template.removeprefix(_OBSERVATION).split(",")
    return list(dict.fromkeys(c.rpartition("|")[2] for c in codes if c.rpartition("|")[2]))


def code_search(codes: list[str] | tuple[str, ...]) -> str:
    """The Observation search template naming `codes` (a comma is FHIR search's OR)."""
    return _OBSERVATION + ",".join(codes)


def _described(purpose: str, templates: dict[str, str]) -> str:
    keys = "; ".join(f"{k}: {KEY_DESCRIPTIONS.get(k) or q}" for k, q in templates.items())
    return f"{purpose} Prefetch keys: {keys}."


def services(config: MappingConfig | None = None) -> dict[str, ServiceDefinition]:
    """The catalogue for these mapping settings (the Observation query names their codes)."""
    templates = prefetch_templates(config, Hook.ORDER_SELECT)
    viewing = prefetch_templates(config, Hook.PATIENT_VIEW)
    return {
        s.id: s
        for s in (
            ServiceDefinition(
                id="ms-order-select",
                hook=Hook.ORDER_SELECT,
                title="MS therapy order check",
                description=_described(
                    "Warns against mesenchymal stem cell (MSC) infusion orders for multiple "
                    "sclerosis and points to evidence-based alternatives (high-efficacy "
                    "DMT, AHSCT).",
                    templates,
                ),
                prefetch=dict(templates),
            ),
            ServiceDefinition(
                id="ms-order-sign",
                hook=Hook.ORDER_SIGN,
                title="MS therapy order check at signing",
                description=_described(
                    "Checks every draft order before signing: MSC infusion for multiple "
                    "sclerosis, platform DMTs for active relapsing MS, non-ocrelizumab DMTs "
                    "for PPMS.",
                    templates,
                ),
                prefetch=dict(templates),
            ),
            ServiceDefinition(
                id="ms-patient-view",
                hook=Hook.PATIENT_VIEW,
                title="MS treatment review",
                description=_described(
                    "Reviews the multiple sclerosis record: AHSCT referral criteria "
                    "(ECTRIMS/EBMT), DMT escalation for active relapsing MS, ocrelizumab for "
                    "PPMS, MSC orders already in the record, and missing data.",
                    viewing,
                ),
                prefetch=dict(viewing),
            ),
        )
    }


SERVICES: dict[str, ServiceDefinition] = services()


def discovery_document(catalogue: dict[str, ServiceDefinition] | None = None) -> dict[str, Any]:
    """GET /cds-services: every service of the catalogue (the default one if None)."""
    return dump(DiscoveryResponse(services=list((catalogue or SERVICES).values())))


def service_for_hook(
    hook: str, catalogue: dict[str, ServiceDefinition] | None = None
) -> ServiceDefinition | None:
    return next((s for s in (catalogue or SERVICES).values() if s.hook == hook), None)
