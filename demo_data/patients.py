"""The demo patients, one per situation a user should try (issue 19).

Each is a short description (demo_data.describe); ages and dates are relative to
the day the records are built, so the cards stay the same whatever the date.
`expected_topics` is what each should show as the service is meant to behave;
where the service on main falls short, the tests say which issue brings it.
"""

from __future__ import annotations

from demo_data.codes import (
    DRUGS,
    MRI_GD,
    MRI_NEW_T2,
    MSC_REMESTEMCEL,
    NMOSD,
    NMOSD_ICD10,
    PPMS,
    RRMS,
)
from demo_data.describe import Diagnosis, Lesions, Order, Situation, Treatment, months

__all__ = ["SITUATIONS", "situation"]

_YEAR = 365

SITUATIONS: tuple[Situation, ...] = (
    Situation(
        id="ms-ahsct",
        title="AHSCT candidate",
        shows="AHSCT referral: relapse and new T2 lesions on ocrelizumab, age 36, EDSS 3.0",
        age=36,
        gender="female",
        diagnoses=(Diagnosis((RRMS,), 6 * _YEAR, 6 * _YEAR - 30),),
        treatments=(Treatment(DRUGS["ocrelizumab"], months(30)),),
        relapses_days_ago=(months(5),),
        edss=((3.0, months(4)),),
        lesions=(Lesions(MRI_NEW_T2, 3, months(4)), Lesions(MRI_GD, 1, months(4))),
        expected_topics={"patient-view": ("ahsctReferral",)},
    ),
    Situation(
        id="ms-escalation",
        title="Escalation needed",
        shows="DMT escalation: relapse and a Gd-enhancing lesion on dimethyl fumarate",
        age=29,
        gender="male",
        diagnoses=(Diagnosis((RRMS,), 3 * _YEAR, 3 * _YEAR - 20),),
        treatments=(Treatment(DRUGS["dimethyl fumarate"], 2 * _YEAR),),
        relapses_days_ago=(months(3),),
        edss=((2.0, months(3)),),
        lesions=(Lesions(MRI_GD, 1, months(3)),),
        expected_topics={"patient-view": ("dmtEscalation",)},
    ),
    Situation(
        id="ms-ppms",
        title="Primary progressive MS",
        shows="PPMS: ocrelizumab is the only FDA-approved DMT, and the patient is not on it",
        age=54,
        gender="male",
        diagnoses=(Diagnosis((PPMS,), 5 * _YEAR, 4 * _YEAR),),
        edss=((5.5, months(2)),),
        expected_topics={"patient-view": ("ppmsOcrelizumab",)},
    ),
    Situation(
        id="ms-gaps",
        title="Data gaps",
        shows="Missing data: no EDSS or MRI in the last year, year of birth only",
        age=45,  # born in the year 45 years ago: 44 or 45, so the age criterion is unknown
        gender="female",
        diagnoses=(Diagnosis((RRMS,), 5 * _YEAR, 5 * _YEAR - 15),),
        treatments=(Treatment(DRUGS["ocrelizumab"], 2 * _YEAR),),
        relapses_days_ago=(months(4),),
        birth_year_only=True,
        expected_topics={"patient-view": ("dataGaps",)},
    ),
    Situation(
        id="ms-msc-order",
        title="MSC order in the chart",
        shows="An active mesenchymal stem cell (remestemcel-L) order for MS: MSC warning",
        age=41,
        gender="female",
        diagnoses=(Diagnosis((RRMS,), 8 * _YEAR, 8 * _YEAR - 40),),
        treatments=(Treatment(DRUGS["ocrelizumab"], 3 * _YEAR),),
        relapses_days_ago=(5 * _YEAR,),
        edss=((2.5, months(3)),),
        lesions=(Lesions(MRI_GD, 0, months(3)), Lesions(MRI_NEW_T2, 0, months(3))),
        orders=(Order(MSC_REMESTEMCEL, 14),),
        expected_topics={"patient-view": ("mscWarning",)},
    ),
    Situation(
        id="ms-stable",
        title="Stable on ocrelizumab",
        shows="No card: stable for years on a high-efficacy DMT, EDSS and MRI recent",
        age=38,
        gender="female",
        diagnoses=(Diagnosis((RRMS,), 7 * _YEAR, 7 * _YEAR - 30),),
        treatments=(Treatment(DRUGS["ocrelizumab"], 3 * _YEAR),),
        relapses_days_ago=(4 * _YEAR,),
        edss=((2.0, months(3)),),
        lesions=(Lesions(MRI_GD, 0, months(3)), Lesions(MRI_NEW_T2, 0, months(3))),
        expected_topics={"patient-view": ()},
    ),
    Situation(
        id="nmosd",
        title="NMOSD, first labelled MS",
        shows="No MS advice: the later NMOSD diagnosis outranks the earlier MS label",
        age=43,
        gender="female",
        diagnoses=(
            Diagnosis((RRMS,), 4 * _YEAR, 4 * _YEAR - 30),
            Diagnosis((NMOSD, NMOSD_ICD10), months(9), months(8)),
        ),
        treatments=(Treatment(DRUGS["interferon beta-1a"], months(42)),),
        lesions=(Lesions(MRI_GD, 2, months(2)),),
        edss=((3.5, months(2)),),
        expected_topics={"patient-view": ()},
    ),
    Situation(
        id="ms-pregnant",
        title="Pregnant, needs escalation",
        shows="DMT escalation in pregnancy: no teratogenic proposal (no cladribine)",
        age=31,
        gender="female",
        diagnoses=(Diagnosis((RRMS,), 4 * _YEAR, 4 * _YEAR - 25),),
        treatments=(Treatment(DRUGS["interferon beta-1a"], 2 * _YEAR),),
        relapses_days_ago=(months(2),),
        edss=((2.0, months(2)),),
        lesions=(Lesions(MRI_GD, 1, months(2)),),
        pregnant_since_days_ago=70,
        expected_topics={"patient-view": ("dmtEscalation",)},
    ),
)


def situation(patient_id: str) -> Situation | None:
    return next((s for s in SITUATIONS if s.id == patient_id), None)
