"""The codes the demo records use, each with where it comes from.

Diagnosis, DMT, EDSS, relapse and MSC codes are the ones the service's value sets
already recognise (fhir_mappings/valuesets/*.json: see their "source" fields).
NMOSD and pregnancy have no value set on main yet: their codes are the ones
docs/research/record.md verified (sections 7a and 8), the pregnancy status
Observation follows the US Core example. MRI lesion counts have no standard code:
the service matches them by text (valuesets/mri_activity.json).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CONDITION_CLINICAL",
    "CONDITION_VERIFICATION",
    "DRUGS",
    "EDSS",
    "EXACERBATION",
    "HCPCS",
    "ICD10CM",
    "LOINC",
    "MEDREQ_CATEGORY",
    "MRI_GD",
    "MRI_NEW_T2",
    "MSC_REMESTEMCEL",
    "NMOSD",
    "NMOSD_ICD10",
    "OBSERVATION_CATEGORY",
    "PPMS",
    "PREGNANCY_FINDING",
    "PREGNANCY_STATUS",
    "PREGNANT",
    "RRMS",
    "RXNORM",
    "SNOMED",
    "Code",
    "Drug",
]

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
MEDREQ_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"


@dataclass(frozen=True)
class Code:
    system: str | None
    code: str | None
    display: str

    def concept(self) -> dict[str, object]:
        """A CodeableConcept: the coding when there is a code, the display as text."""
        out: dict[str, object] = {"text": self.display}
        if self.code is not None:
            out["coding"] = [{"system": self.system, "code": self.code, "display": self.display}]
        return out


# valuesets/ms_diagnosis.json
RRMS = Code(SNOMED, "426373005", "Relapsing remitting multiple sclerosis")
PPMS = Code(SNOMED, "428700003", "Primary progressive multiple sclerosis")
EXACERBATION = Code(SNOMED, "192929006", "Exacerbation of multiple sclerosis")
# valuesets/edss.json
EDSS = Code(SNOMED, "273554001", "Kurtzke multiple sclerosis rating scale")
# valuesets/mri_activity.json matches these texts (no standard code exists)
MRI_GD = Code(None, None, "Gd-enhancing lesions")
MRI_NEW_T2 = Code(None, None, "New or enlarging T2 lesions")
# valuesets/msc_orders.json: HCPCS J3402 (and the text "remestemcel")
MSC_REMESTEMCEL = Code(HCPCS, "J3402", "Injection, remestemcel-L-rknd (Ryoncil)")
# docs/research/record.md section 8: SNOMED 25044007, ICD-10-CM G36.0 (both H)
NMOSD = Code(SNOMED, "25044007", "Neuromyelitis optica")
NMOSD_ICD10 = Code(ICD10CM, "G36.0", "Neuromyelitis optica [Devic]")
# docs/research/record.md section 7a; US Core STU7 example Observation "pregnancy-status"
# (https://hl7.org/fhir/us/core/STU7/Observation-pregnancy-status.html): category
# social-history, code LOINC 82810-3, value SNOMED 77386006 "Pregnant".
PREGNANCY_STATUS = Code(LOINC, "82810-3", "Pregnancy status")
PREGNANT = Code(SNOMED, "77386006", "Pregnant")
PREGNANCY_FINDING = Code(SNOMED, "77386006", "Pregnancy")


@dataclass(frozen=True)
class Drug:
    """An MS DMT by its RxNorm ingredient (valuesets/dmt.json)."""

    code: str
    name: str

    def concept(self) -> dict[str, object]:
        return Code(RXNORM, self.code, self.name).concept()


# valuesets/dmt.json, kind "ingredient"
DRUGS = {
    d.name: d
    for d in (
        Drug("1876366", "ocrelizumab"),
        Drug("354770", "natalizumab"),
        Drug("1373478", "dimethyl fumarate"),
        Drug("75917", "interferon beta-1a"),
    )
}
