"""Situation -> FHIR R4 resources (plain JSON), dated relative to `today`.

Pure code: the same description and day give the same resources. Ids are the
patient id plus a suffix, so every resource is readable by id and searchable by
patient.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from demo_data.codes import (
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    EDSS,
    EXACERBATION,
    MEDREQ_CATEGORY,
    OBSERVATION_CATEGORY,
    PREGNANCY_FINDING,
    PREGNANCY_STATUS,
    PREGNANT,
    Code,
)
from demo_data.describe import Situation

__all__ = ["build_patient", "build_records"]

Resource = dict[str, Any]


def _day(today: date, days_ago: int) -> str:
    return (today - timedelta(days=days_ago)).isoformat()


def _birth(today: date, age: int) -> date:
    """A birthday 100 days before today, `age` years back: the patient is `age` today."""
    anchor = today - timedelta(days=100)
    try:
        return anchor.replace(year=anchor.year - age)
    except ValueError:  # 29 February
        return anchor.replace(year=anchor.year - age, day=28)


def _status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _category(system: str, code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": system, "code": code}]}]


def _concept(codes: tuple[Code, ...]) -> dict[str, Any]:
    return {
        "coding": [{"system": c.system, "code": c.code, "display": c.display} for c in codes],
        "text": codes[0].display,
    }


class _Chart:
    """Collects one patient's resources with sequential ids."""

    def __init__(self, situation: Situation, today: date) -> None:
        self.id = situation.id
        self.today = today
        self.subject = {"reference": f"Patient/{situation.id}"}
        self.resources: list[Resource] = []
        self._counts: dict[str, int] = {}

    def add(self, resource_type: str, tag: str, **fields: Any) -> None:
        n = self._counts[tag] = self._counts.get(tag, 0) + 1
        self.resources.append(
            {"resourceType": resource_type, "id": f"{self.id}-{tag}-{n}", **fields}
        )

    def day(self, days_ago: int) -> str:
        return _day(self.today, days_ago)

    def condition(
        self, tag: str, code: dict[str, Any], clinical: str, onset: int | None, recorded: int
    ) -> None:
        dated = {"onsetDateTime": self.day(onset)} if onset is not None else {}
        self.add(
            "Condition",
            tag,
            clinicalStatus=_status(CONDITION_CLINICAL, clinical),
            verificationStatus=_status(CONDITION_VERIFICATION, "confirmed"),
            category=_category(
                "http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item"
            ),
            code=code,
            subject=self.subject,
            recordedDate=self.day(recorded),
            **dated,
        )

    def observation(self, tag: str, category: str, code: Code, days_ago: int, **value: Any) -> None:
        self.add(
            "Observation",
            tag,
            status="final",
            category=_category(OBSERVATION_CATEGORY, category),
            code=code.concept(),
            subject=self.subject,
            effectiveDateTime=self.day(days_ago),
            **value,
        )


def build_patient(situation: Situation, today: date) -> list[Resource]:
    """The Patient first, then the chart: conditions, prescriptions, observations."""
    chart = _Chart(situation, today)
    birth = _birth(today, situation.age)
    patient: Resource = {
        "resourceType": "Patient",
        "id": situation.id,
        "active": True,
        # Synthetic: the sandbox shows "given family" (it joins name[0].given).
        "name": [{"use": "usual", "family": "Demo", "given": [situation.title]}],
        "gender": situation.gender,
        "birthDate": str(birth.year) if situation.birth_year_only else birth.isoformat(),
    }
    for diagnosis in situation.diagnoses:
        chart.condition(
            "dx",
            _concept(diagnosis.codes),
            "active",
            diagnosis.onset_days_ago,
            diagnosis.recorded_days_ago,
        )
    for days_ago in situation.relapses_days_ago:
        chart.condition("relapse", EXACERBATION.concept(), "resolved", days_ago, days_ago)
    if situation.pregnant_since_days_ago is not None:
        since = situation.pregnant_since_days_ago
        chart.condition("pregnancy", PREGNANCY_FINDING.concept(), "active", since, since - 14)
        chart.observation(
            "pregnancy-status",
            "social-history",
            PREGNANCY_STATUS,
            since - 14,
            valueCodeableConcept=PREGNANT.concept(),
        )
    for treatment in situation.treatments:
        chart.add(
            "MedicationRequest",
            "rx",
            status=treatment.status,
            intent="order",
            category=_category(MEDREQ_CATEGORY, "outpatient"),
            medicationCodeableConcept=treatment.drug.concept(),
            subject=chart.subject,
            authoredOn=chart.day(treatment.started_days_ago),
        )
    for order in situation.orders:
        chart.add(
            "MedicationRequest",
            "order",
            status=order.status,
            intent="order",
            medicationCodeableConcept=order.code.concept(),
            subject=chart.subject,
            authoredOn=chart.day(order.authored_days_ago),
        )
    for score, days_ago in situation.edss:
        chart.observation("edss", "exam", EDSS, days_ago, valueQuantity={"value": score})
    for lesions in situation.lesions:
        chart.observation(
            "mri", "imaging", lesions.measure, lesions.days_ago, valueInteger=lesions.count
        )
    return [patient, *chart.resources]


def build_records(situations: tuple[Situation, ...], today: date) -> dict[str, list[Resource]]:
    """Every situation's resources, by patient id."""
    return {s.id: build_patient(s, today) for s in situations}
