"""Deterministic synthetic patients and CDS Hooks requests for the benchmark.

Every patient is distinct (its own ids, dates, values and mix of resources) and
the same seed always gives the same bytes. Sizes:

- small: ~15 resources (one MS Condition, one DMT, one EDSS, some unrelated data);
- typical: ~60 resources, ~20% MS-relevant (MS Conditions by SNOMED and
  ICD-10-CM, DMT MedicationRequests/Statements by RxNorm, EDSS and MRI
  lesion-count Observations), the rest unrelated conditions, medications and labs;
- large: 2,000 resources (a long record: mostly labs and vital signs).

Each request carries one draft order; about one in ten is an MSC order.

`active=True` (the patient-view scenarios whose record the rules really read): the
same sizes, with a younger patient (about half under 45), a recent MS onset, MS
relapses (coded and text-only), recent-dated EDSS scores and MRI lesion counts
with varied values, and high-efficacy as well as platform DMTs (some stopped for
lack of efficacy), so every rule's criteria are worked out from the record.

Codes: MS, DMT, EDSS and MSC codes are the project's own value sets
(/work/shared/CONTEXT.md section 2). Unrelated codes are common, well-known
SNOMED CT, RxNorm ingredient and LOINC codes; the MRI lesion counts use a
benchmark-local code system because no standard code exists (CONTEXT.md).
Everything is synthetic: no real person's data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

__all__ = ["SIZES", "Size", "SyntheticRequest", "generate", "generate_many"]

Size = Literal["small", "typical", "large"]
SIZES: tuple[Size, ...] = ("small", "typical", "large")

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
UCUM = "http://unitsofmeasure.org"
LOCAL = "urn:ms-cds:bench:local-codes"  # MRI lesion counts have no standard code
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
COND_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"

# (SNOMED, ICD-10-CM, display) - from fhir_mappings/valuesets/ms_diagnosis.json
MS_DIAGNOSES = [
    ("426373005", "G35.A", "Relapsing remitting multiple sclerosis"),
    ("425500002", "G35.C0", "Secondary progressive multiple sclerosis"),
    ("428700003", "G35.B0", "Primary progressive multiple sclerosis"),
    ("24700007", "G35.D", "Multiple sclerosis"),
]
# RxNorm ingredient RxCUIs, CONTEXT.md section 2 (confidence H)
DMTS = [
    ("1876366", "ocrelizumab"),
    ("354770", "natalizumab"),
    ("1310520", "teriflunomide"),
    ("1373478", "dimethyl fumarate"),
    ("1012892", "fingolimod"),
    ("121191", "rituximab"),
    ("117055", "alemtuzumab"),
]
OTHER_CONDITIONS = [
    ("38341003", "Hypertensive disorder"),
    ("44054006", "Diabetes mellitus type 2"),
    ("195967001", "Asthma"),
    ("35489007", "Depressive disorder"),
    ("55822004", "Hyperlipidemia"),
    ("444814009", "Viral sinusitis"),
    ("10509002", "Acute bronchitis"),
    ("15777000", "Prediabetes"),
    ("271737000", "Anemia"),
]
OTHER_MEDICATIONS = [
    ("29046", "lisinopril 10 MG Oral Tablet"),
    ("6809", "metformin 500 MG Oral Tablet"),
    ("83367", "atorvastatin 20 MG Oral Tablet"),
    ("17767", "amlodipine 5 MG Oral Tablet"),
    ("1191", "aspirin 81 MG Oral Tablet"),
    ("161", "acetaminophen 500 MG Oral Tablet"),
    ("5640", "ibuprofen 400 MG Oral Tablet"),
    ("36437", "sertraline 50 MG Oral Tablet"),
    ("7646", "omeprazole 20 MG Delayed Release Oral Capsule"),
    ("2418", "cholecalciferol 1000 UNT Oral Tablet"),
    ("1292", "baclofen 10 MG Oral Tablet"),
    ("25480", "gabapentin 300 MG Oral Capsule"),
    ("10582", "levothyroxine 0.05 MG Oral Tablet"),
]
# (LOINC, display, unit, low, high, category)
LABS = [
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 11.5, 16.5, "laboratory"),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 140, "laboratory"),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.5, 1.3, "laboratory"),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.5, 7.5, "laboratory"),
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 140, 260, "laboratory"),
    (
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
        "10*3/uL",
        3.5,
        11,
        "laboratory",
    ),
    (
        "777-3",
        "Platelets [#/volume] in Blood by Automated count",
        "10*3/uL",
        150,
        400,
        "laboratory",
    ),
    ("731-0", "Lymphocytes [#/volume] in Blood", "10*3/uL", 0.8, 3.5, "laboratory"),
    (
        "1742-6",
        "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
        7,
        56,
        "laboratory",
    ),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 134, 146, "laboratory"),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.4, 5.2, "laboratory"),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", 100, 160, "vital-signs"),
    ("8462-4", "Diastolic blood pressure", "mm[Hg]", 60, 100, "vital-signs"),
    ("29463-7", "Body weight", "kg", 50, 110, "vital-signs"),
    ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 18, 38, "vital-signs"),
]
# ms_relapse.json's code and a text its patterns read (fhir_mappings/valuesets)
RELAPSE = ("192929006", "Exacerbation of multiple sclerosis")
RELAPSE_TEXTS = ["MS relapse", "Multiple sclerosis exacerbation"]
HIGH_EFFICACY = [("1876366", "ocrelizumab"), ("354770", "natalizumab"), ("117055", "alemtuzumab")]
PLATFORM = [("1310520", "teriflunomide"), ("1373478", "dimethyl fumarate")]
STOP_REASONS = ["Lack of efficacy", "Patient preference", "Breakthrough disease"]
MRI_COUNTS = [
    ("gd-enhancing-lesions", "Number of gadolinium-enhancing lesions on MRI brain"),
    ("new-enlarging-t2-lesions", "Number of new or enlarging T2 lesions on MRI brain"),
]
GIVEN = ["Alex", "Maria", "Jonas", "Aisha", "Chen", "Lena", "Tomas", "Priya", "Sam", "Ines"]
FAMILY = ["Berger", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak", "Haddad"]
TODAY = date(2026, 11, 25)

# (resource count targets) unrelated: conditions, medications, labs, procedures
_PLAN: dict[str, dict[str, int]] = {
    "small": {"ms": 1, "dmt": 1, "edss": 1, "mri": 0, "cond": 3, "med": 3, "lab": 5, "proc": 0},
    "typical": {"ms": 2, "dmt": 3, "edss": 4, "mri": 3, "cond": 8, "med": 9, "lab": 27, "proc": 3},
    "large": {
        "ms": 3,
        "dmt": 12,
        "edss": 40,
        "mri": 30,
        "cond": 60,
        "med": 120,
        "lab": 1724,
        "proc": 10,
    },
}


@dataclass(frozen=True)
class SyntheticRequest:
    """One CDS Hooks request, with what the benchmark needs to know about it."""

    service: str
    body: dict[str, Any]
    resources: int
    msc_order: bool


class _Patient:
    def __init__(self, index: int, size: Size, seed: int) -> None:
        self.rng = random.Random(f"{seed}:{size}:{index}")
        self.pid = f"bench-{size}-{seed}-{index:06d}"
        self.ref = {"reference": f"Patient/{self.pid}"}
        self.counter = 0

    def rid(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}-{self.rng.randrange(16**6):06x}"

    def day(self, years_back: float = 8) -> str:
        return (TODAY - timedelta(days=self.rng.randrange(1, int(365 * years_back)))).isoformat()

    def meta(self) -> dict[str, Any]:
        return {
            "versionId": str(self.rng.randrange(1, 9)),
            "lastUpdated": self.day(2) + "T08:00:00Z",
        }


def _concept(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    return {
        "coding": [{"system": system, "code": code, "display": display}],
        "text": text or display,
    }


def _status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _patient(p: _Patient, young: bool = False) -> dict[str, Any]:
    rng = p.rng
    first, span = (1966, 36) if young else (1950, 50)
    born = date(first + rng.randrange(span), 1 + rng.randrange(12), 1 + rng.randrange(28))
    return {
        "resourceType": "Patient",
        "id": p.pid,
        "meta": p.meta(),
        "identifier": [
            {"system": "urn:oid:2.16.840.1.113883.19.5", "value": f"MRN{rng.randrange(10**8):08d}"}
        ],
        "name": [{"family": rng.choice(FAMILY), "given": [rng.choice(GIVEN)]}],
        "gender": rng.choice(["female", "male"]),
        "birthDate": born.isoformat(),
    }


def _condition(p: _Patient, concept: dict[str, Any], status: str, category: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": p.rid("cond"),
        "meta": p.meta(),
        "clinicalStatus": _status(CLINICAL, status),
        "verificationStatus": _status(VERIFICATION, "confirmed"),
        "category": [_status(COND_CATEGORY, category)],
        "code": concept,
        "subject": p.ref,
        "onsetDateTime": p.day(),
        "recordedDate": p.day(),
    }


def _ms_conditions(p: _Patient, count: int) -> list[dict[str, Any]]:
    snomed, icd, display = p.rng.choice(MS_DIAGNOSES)
    out = []
    for i in range(count):
        if i % 2 == 0:
            concept = _concept(SNOMED, snomed, display)
        else:
            concept = _concept(ICD10CM, icd, display)
        out.append(_condition(p, concept, "active", "problem-list-item"))
    return out


def _medication(p: _Patient, rxcui: str, name: str, statement: bool, status: str) -> dict[str, Any]:
    concept = _concept(RXNORM, rxcui, name)
    if statement:
        return {
            "resourceType": "MedicationStatement",
            "id": p.rid("medst"),
            "meta": p.meta(),
            "status": status,
            "medicationCodeableConcept": concept,
            "subject": p.ref,
            "effectivePeriod": {"start": p.day()},
            "dateAsserted": p.day(1),
        }
    return {
        "resourceType": "MedicationRequest",
        "id": p.rid("medrx"),
        "meta": p.meta(),
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": p.ref,
        "authoredOn": p.day(),
        "requester": {"reference": f"Practitioner/prac-{p.rng.randrange(100)}"},
        "dosageInstruction": [{"sequence": 1, "text": "as directed"}],
    }


def _observation(
    p: _Patient,
    concept: dict[str, Any],
    value: float,
    unit: str,
    category: str,
    years_back: float = 8,
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": p.rid("obs"),
        "meta": p.meta(),
        "status": "final",
        "category": [_status(OBS_CATEGORY, category)],
        "code": concept,
        "subject": p.ref,
        "effectiveDateTime": p.day(years_back) + "T09:30:00Z",
        "issued": p.day(1) + "T10:00:00Z",
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    return obs


def _edss(p: _Patient) -> dict[str, Any]:
    score = p.rng.choice([0, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 6.5])
    concept = _concept(SNOMED, "273554001", "Kurtzke multiple sclerosis rating scale")
    obs = _observation(p, concept, score, "{score}", "survey")
    return obs


def _mri(p: _Patient) -> dict[str, Any]:
    code, display = p.rng.choice(MRI_COUNTS)
    concept = _concept(LOCAL, code, display)
    return _observation(p, concept, p.rng.randrange(0, 4), "{count}", "imaging")


def _lab(p: _Patient) -> dict[str, Any]:
    code, display, unit, low, high, category = p.rng.choice(LABS)
    value = round(p.rng.uniform(low * 0.8, high * 1.2), 1)
    obs = _observation(p, _concept(LOINC, code, display), value, unit, category)
    obs["referenceRange"] = [
        {
            "low": {"value": low, "unit": unit, "system": UCUM, "code": unit},
            "high": {"value": high, "unit": unit, "system": UCUM, "code": unit},
        }
    ]
    return obs


def _active_conditions(p: _Patient, count: int) -> list[dict[str, Any]]:
    """MS Conditions with an onset in the last 12 years, and 0-3 relapses in the last 2."""
    out = _ms_conditions(p, count)
    for condition in out:
        condition["onsetDateTime"] = p.day(12)
    for _ in range(p.rng.randrange(4)):
        if p.rng.random() < 0.5:
            concept = _concept(SNOMED, *RELAPSE)
        else:
            concept = {"text": p.rng.choice(RELAPSE_TEXTS)}
        status = p.rng.choice(["active", "resolved"])
        relapse = _condition(p, concept, status, "encounter-diagnosis")
        relapse["onsetDateTime"] = p.day(2)
        out.append(relapse)
    return out


def _active_dmts(
    p: _Patient, count: int, requests: list[dict[str, Any]], statements: list[dict[str, Any]]
) -> None:
    """High-efficacy and platform DMTs started in the last 6 years; the last one current,
    the others stopped (some for lack of efficacy)."""
    rng = p.rng
    for i in range(count):
        rxcui, name = rng.choice(HIGH_EFFICACY if rng.random() < 0.5 else PLATFORM)
        current = i == count - 1
        statement = bool(i % 2)
        med = _medication(p, rxcui, name, statement, "active" if current else "stopped")
        start = p.day(6)
        period: dict[str, Any] = {"start": start}
        if not current:
            period["end"] = max(start, p.day(2))  # ISO dates compare as strings
            reason = {"text": rng.choice(STOP_REASONS)}
            med["statusReason"] = [reason] if statement else reason
        if statement:
            med["effectivePeriod"] = period
        else:
            med["authoredOn"] = start
            med["dispenseRequest"] = {"validityPeriod": period}
        (statements if statement else requests).append(med)


def _active_edss(p: _Patient) -> dict[str, Any]:
    score = p.rng.choice([1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 6.5])
    concept = _concept(SNOMED, "273554001", "Kurtzke multiple sclerosis rating scale")
    return _observation(p, concept, score, "{score}", "survey", years_back=3)


def _active_mri(p: _Patient) -> dict[str, Any]:
    code, display = p.rng.choice(MRI_COUNTS)
    count = p.rng.randrange(0, 4)
    return _observation(p, _concept(LOCAL, code, display), count, "{count}", "imaging", 1.5)


def _procedure(p: _Patient) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": p.rid("proc"),
        "meta": p.meta(),
        "status": "completed",
        "code": {"text": p.rng.choice(["Lumbar puncture", "MRI brain", "Physiotherapy session"])},
        "subject": p.ref,
        "performedDateTime": p.day(),
    }


def _draft(p: _Patient, msc: bool) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": p.rid("draft"),
        "status": "draft",
        "intent": "order",
        "subject": p.ref,
        "authoredOn": TODAY.isoformat(),
    }
    if msc and p.rng.random() < 0.5:
        concept = _concept(
            HCPCS, "J3402", "Injection, remestemcel-L-rknd", "Remestemcel-L infusion"
        )
        return {"resourceType": "MedicationRequest", **order, "medicationCodeableConcept": concept}
    if msc:
        return {
            "resourceType": "ServiceRequest",
            **order,
            "code": {"text": "Mesenchymal stem cell infusion"},
        }
    if p.rng.random() < 0.1:  # an AHSCT referral: never an MSC order
        concept = _concept(SNOMED, "234336002", "Hemopoietic stem cell transplant")
        return {"resourceType": "ServiceRequest", **order, "code": concept}
    rxcui, name = p.rng.choice(OTHER_MEDICATIONS)
    return {
        "resourceType": "MedicationRequest",
        **order,
        "medicationCodeableConcept": _concept(RXNORM, rxcui, name),
    }


def _bundle(resources: list[dict[str, Any]], kind: str = "searchset") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "total": len(resources),
        "entry": [{"fullUrl": f"urn:uuid:bench-{r['id']}", "resource": r} for r in resources],
    }


def generate(
    index: int,
    size: Size = "typical",
    seed: int = 8,
    hook: str | None = None,
    active: bool = False,
) -> SyntheticRequest:
    """Request number `index` of a seeded series: a distinct patient every time.
    `active`: a record with disease activity for the rules to judge (module docstring)."""
    p = _Patient(index, size, seed + (1000 if active else 0))
    plan = _PLAN[size]
    rng = p.rng
    if active:
        conditions = _active_conditions(p, plan["ms"])
        unrelated = max(0, plan["cond"] - (len(conditions) - plan["ms"]))
    else:
        conditions, unrelated = _ms_conditions(p, plan["ms"]), plan["cond"]
    conditions += [
        _condition(
            p,
            _concept(SNOMED, code, display),
            rng.choice(["active", "resolved"]),
            "problem-list-item",
        )
        for code, display in (rng.choice(OTHER_CONDITIONS) for _ in range(unrelated))
    ]
    requests: list[dict[str, Any]] = []
    statements: list[dict[str, Any]] = []
    if active:
        _active_dmts(p, plan["dmt"], requests, statements)
    for i in range(0 if active else plan["dmt"]):
        rxcui, name = rng.choice(DMTS)
        status = "active" if i == plan["dmt"] - 1 else "stopped"
        (statements if i % 2 else requests).append(_medication(p, rxcui, name, bool(i % 2), status))
    for i in range(plan["med"]):
        rxcui, name = rng.choice(OTHER_MEDICATIONS)
        status = rng.choice(["active", "completed"])
        (statements if i % 3 == 0 else requests).append(
            _medication(p, rxcui, name, i % 3 == 0, status)
        )
    observations = [(_active_edss if active else _edss)(p) for _ in range(plan["edss"])]
    observations += [(_active_mri if active else _mri)(p) for _ in range(plan["mri"])]
    observations += [_lab(p) for _ in range(plan["lab"])]
    rng.shuffle(observations)
    procedures = [_procedure(p) for _ in range(plan["proc"])]

    msc = rng.random() < 0.1
    draft = _draft(p, msc)
    hook = hook or rng.choices(["order-select", "order-sign", "patient-view"], [6, 2, 2])[0]
    context: dict[str, Any] = {"userId": "Practitioner/bench-doc", "patientId": p.pid}
    if hook != "patient-view":
        context["draftOrders"] = _bundle([draft], kind="collection")
    if hook == "order-select":
        context["selections"] = [f"{draft['resourceType']}/{draft['id']}"]
    body = {
        "hook": hook,
        "hookInstance": f"{rng.getrandbits(128):032x}",
        "context": context,
        "prefetch": {
            "patient": _patient(p, young=active),
            "conditions": _bundle(conditions),
            "medicationRequests": _bundle(requests),
            "medicationStatements": _bundle(statements),
            "observations": _bundle(observations),
            "procedures": _bundle(procedures),
            "encounters": _bundle([]),
        },
    }
    count = 1 + len(conditions) + len(requests) + len(statements) + len(observations)
    count += len(procedures) + (1 if hook != "patient-view" else 0)
    service = {"order-select": "ms-order-select", "order-sign": "ms-order-sign"}.get(
        hook, "ms-patient-view"
    )
    return SyntheticRequest(service, body, count, msc and hook != "patient-view")


def generate_many(
    count: int, size: Size = "typical", seed: int = 8, hook: str | None = None, active: bool = False
) -> list[SyntheticRequest]:
    return [generate(i, size, seed, hook, active) for i in range(count)]
