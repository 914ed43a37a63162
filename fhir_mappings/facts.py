"""Frozen fact types: what the rules know about a patient and the orders in hand.

Each fact names the FHIR resources it came from (`source`/`sources`, as
'Type/id'), so a card can explain itself. Facts carry no names, birth dates or
free text: an age is a range of whole years, never the birth date behind it.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Age",
    "Certainty",
    "DateSpan",
    "Deceased",
    "Diagnosis",
    "DiseaseCourse",
    "DiseaseOnset",
    "DmtExposure",
    "DraftOrder",
    "Edss",
    "EfficacyClass",
    "Fact",
    "HbvStatus",
    "IgnoredValue",
    "JcvStatus",
    "LabResult",
    "Mimic",
    "MimicKind",
    "MriLesionCount",
    "MriMeasure",
    "MsCourse",
    "OnsetBasis",
    "OrderKind",
    "OrderReason",
    "ParseNote",
    "PatientFacts",
    "Pregnancy",
    "PregnancyState",
    "PriorAhsct",
    "Problem",
    "Refusal",
    "Relapse",
    "RelapseBasis",
    "StopReason",
]


class Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DateSpan(Fact):
    """Every day a (possibly partial) FHIR date can mean: "2025-06" is 1-30 June 2025.

    `text` is the date at the precision given (e.g. "2025-06"), for display.
    """

    earliest: date
    latest: date
    text: str

    def on_or_after(self, day: date) -> bool | None:
        """True when certainly on/after `day`, False when certainly before, else None."""
        if self.earliest >= day:
            return True
        if self.latest < day:
            return False
        return None


class MsCourse(StrEnum):
    RELAPSING_REMITTING = "relapsing-remitting"
    SECONDARY_PROGRESSIVE = "secondary-progressive"
    PRIMARY_PROGRESSIVE = "primary-progressive"
    PROGRESSIVE_RELAPSING = "progressive-relapsing"
    PROGRESSIVE_UNSPECIFIED = "progressive-unspecified"
    UNSPECIFIED = "unspecified"


class Certainty(StrEnum):
    CONFIRMED = "confirmed"  # verificationStatus confirmed, or absent with no doubt words
    UNCONFIRMED = "unconfirmed"  # unconfirmed/provisional/differential, or "possible", "?MS"


class Diagnosis(Fact):
    """One active MS Condition. `on`: its onset, else its recordedDate."""

    source: str
    course: MsCourse
    activity: str | None = None
    matched_by: str
    relapse: bool = False
    certainty: Certainty = Certainty.CONFIRMED
    on: DateSpan | None = None


class MimicKind(StrEnum):
    NMOSD = "nmosd"
    MOGAD = "mogad"
    CIS = "cis"
    RIS = "ris"


class Mimic(Fact):
    """A current diagnosis that is not MS or competes with it (NMOSD, MOGAD, CIS, RIS).

    `matched_by`: "system|code", "text /pattern/", or "LOINC|x positive" (an antibody)."""

    kind: MimicKind
    certainty: Certainty = Certainty.CONFIRMED
    on: DateSpan | None = None
    matched_by: str
    source: str


class PregnancyState(StrEnum):
    PREGNANT = "pregnant"
    PLANNED = "planned"
    NOT_PREGNANT = "not-pregnant"


class Pregnancy(Fact):
    """The most recent dated evidence of pregnancy state."""

    state: PregnancyState
    on: DateSpan | None = None
    matched_by: str
    source: str


class LabResult(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    INDETERMINATE = "indeterminate"


class JcvStatus(Fact):
    """The latest anti-JCV antibody result, with its index when reported."""

    result: LabResult
    index: float | None = None
    on: DateSpan | None = None
    source: str


class HbvStatus(Fact):
    """The latest hepatitis B serology."""

    hbsag: LabResult | None = None
    anti_hbc: LabResult | None = None
    on: DateSpan | None = None
    sources: tuple[str, ...]


class Deceased(Fact):
    """Patient.deceased[x] says the patient has died."""

    on: DateSpan | None = None
    source: str


class Refusal(Fact):
    """A documented refusal of an option: a DMT ingredient as in dmt.json, or "ahsct"."""

    option: str
    on: DateSpan | None = None
    source: str


class DiseaseCourse(Fact):
    """The MS course the record states, with its activity qualifier where coded.

    When conditions disagree the most advanced course wins (primary progressive >
    secondary progressive > progressive-relapsing > progressive > relapsing-remitting
    > unspecified) and the others are listed in `also_recorded`.
    """

    course: MsCourse
    activity: str | None = None
    sources: tuple[str, ...]
    also_recorded: tuple[MsCourse, ...] = ()


class OnsetBasis(StrEnum):
    ONSET = "onset"
    DIAGNOSIS = "diagnosis"  # the earliest MS diagnosis date
    DMT_START = "dmt-start"
    RELAPSE = "relapse"
    RECORDED_DATE = "recordedDate"  # a lower bound only


class DiseaseOnset(Fact):
    """When MS began: the earliest MS Condition onset, else its recordedDate (a proxy
    that can only make the disease look shorter than it is)."""

    span: DateSpan
    basis: OnsetBasis
    source: str
    lower_bound_only: bool = False  # the duration is at least this; its upper end is unknown


class Age(Fact):
    """Age on the evaluation date as the whole years it can be (a partial birth date
    gives a range). `precision` is the birth date's: day, month or year."""

    min_years: int
    max_years: int
    precision: str
    source: str

    def below(self, years: int) -> bool | None:
        """Age < `years`: True/False when the range decides it, None when it cannot."""
        if self.max_years < years:
            return True
        if self.min_years >= years:
            return False
        return None

    @property
    def text(self) -> str:
        if self.min_years == self.max_years:
            return f"{self.min_years} years"
        return f"{self.min_years}-{self.max_years} years"


class EfficacyClass(StrEnum):
    HIGH = "high-efficacy"
    PLATFORM = "platform"


class StopReason(StrEnum):
    LACK_OF_EFFICACY = "lack-of-efficacy"
    ADVERSE_EVENT = "adverse-event"
    INFECTION = "infection"
    PML_RISK = "pml-risk"  # PML risk / JCV antibody positive
    PREGNANCY = "pregnancy"
    PATIENT_CHOICE = "patient-choice"
    OTHER = "other"


class DmtExposure(Fact):
    """One MS disease-modifying therapy the patient takes or took (all records of one
    ingredient merged: earliest start, latest end, current if any record is)."""

    ingredient: str
    efficacy: EfficacyClass
    matched_by: str
    start: DateSpan | None = None
    end: DateSpan | None = None
    current: bool
    stop_reason: StopReason | None = None
    sources: tuple[str, ...]
    stop_reasons: tuple[StopReason, ...] = ()  # every reason found; stop_reason is the first
    last_dose: DateSpan | None = None  # latest administration, completed infusion or course
    effective_until: DateSpan | None = None  # last dose (or end) + the label's window
    effect_from: DateSpan | None = None  # start + onset of effect: activity before is no failure
    courses: int | None = None  # treatment courses (alemtuzumab, cladribine)
    products: tuple[str, ...] = ()  # brand / biosimilar names matched (from codes or value sets)


class RelapseBasis(StrEnum):
    CONDITION = "condition"
    ENCOUNTER = "encounter"


class Relapse(Fact):
    """An MS relapse (exacerbation); pseudo-relapses are never Relapse facts.

    `steroid_sources`: high-dose corticosteroid courses near it (supporting evidence)."""

    on: DateSpan | None
    matched_by: str
    source: str
    basis: RelapseBasis = RelapseBasis.CONDITION
    steroid_sources: tuple[str, ...] = ()


class MriMeasure(StrEnum):
    GD_ENHANCING = "gd-enhancing"
    NEW_OR_ENLARGING_T2 = "new-or-enlarging-t2"


class MriLesionCount(Fact):
    """One MRI lesion count (no standard code exists: local codes or text)."""

    measure: MriMeasure
    count: int
    on: DateSpan | None
    matched_by: str
    source: str
    report: str | None = None  # the DiagnosticReport / Observation it was read from


class Edss(Fact):
    """An EDSS score on the 0-10 scale in 0.5 steps (0.5 itself does not exist)."""

    score: float
    on: DateSpan | None
    source: str
    during_relapse: bool = False


class IgnoredValue(Fact):
    """A value the mappings read and did not use, and why (a fixed phrase, never text)."""

    what: str  # "edss", "mri", ...
    source: str
    reason: str


class PriorAhsct(Fact):
    """A recorded haematopoietic stem cell transplant (a Procedure, or a problem-list
    status / history entry). `autologous`: True when a code or text says so, None when
    the record does not say (ICD-10 Z94.8x status codes cover allografts too)."""

    on: DateSpan | None
    matched_by: str
    source: str
    autologous: bool | None = None


class OrderKind(StrEnum):
    MSC = "msc"
    HSCT = "hsct"
    DMT = "dmt"
    OTHER = "other"
    STEM_CELL_UNSPECIFIED = "stem-cell-unspecified"  # "stem cell therapy", no MSC/HSCT words


class OrderReason(StrEnum):
    MS = "ms"
    NON_MS = "non-ms"
    NONE = "none"


class DraftOrder(Fact):
    """An order being selected or signed (context.draftOrders).

    `dmt_ingredient`/`dmt_efficacy` are set only when `kind` is DMT; `msc_product` only
    when `kind` is MSC and the product is a cell-free MSC-derived one ("msc-derived":
    exosomes, extracellular vesicles, secretome, conditioned medium). `msc_indication`
    (MSC orders only): a recognised reason for the product ("gvhd", "crohn-fistula") or
    a registered-trial tie ("trial"); any other non-MS reason leaves it None.
    """

    ref: str
    resource_type: str
    kind: OrderKind
    matched_by: str | None = None
    product: str | None = None
    reason: OrderReason = OrderReason.NONE
    sources: tuple[str, ...] = ()
    dmt_ingredient: str | None = None
    dmt_efficacy: EfficacyClass | None = None
    msc_product: str | None = None
    msc_indication: str | None = None
    trial: str | None = None  # the registered trial id (NCT..., EU CT ...) when stated
    judged_by_display: bool = False  # product known only from medicationReference.display
    status: str | None = None  # the order's status (history orders at patient-view)
    # Why the referenced Medication could not be read (a fixed phrase), with judged_by_display.
    medication_unread: str | None = None


class Problem(StrEnum):
    """What was wrong with an element the mappings read and skipped."""

    WRONG_TYPE = "wrong_type"  # e.g. a string where an object belongs, a list item not an object
    INVALID_DATE = "invalid_date"  # a string that is no FHIR date, dateTime or instant


class ParseNote(Fact):
    """An element a mapping read, found invalid and skipped: where, and what was wrong.
    Never the value (values can be PHI)."""

    resource_type: str
    resource_id: str | None
    element: str  # the element's path in the resource, e.g. "code.coding[0].code"
    problem: Problem

    def __str__(self) -> str:
        ref = f"{self.resource_type}/{self.resource_id}" if self.resource_id else self.resource_type
        return f"{ref} {self.element}: {self.problem.value.replace('_', ' ')}"


class PatientFacts(Fact):
    """Everything the rules know about the patient's record.

    `unavailable` names the prefetch keys whose data could not be had (so "no
    record found" can be told apart from "could not look").
    """

    patient_ref: str | None
    ms_diagnoses: tuple[Diagnosis, ...] = ()
    course: DiseaseCourse | None = None
    onset: DiseaseOnset | None = None
    age: Age | None = None
    dmts: tuple[DmtExposure, ...] = ()
    relapses: tuple[Relapse, ...] = ()
    mri_counts: tuple[MriLesionCount, ...] = ()
    edss: tuple[Edss, ...] = ()
    prior_ahsct: tuple[PriorAhsct, ...] = ()
    unavailable: tuple[str, ...] = ()
    missing_data: tuple[str, ...] = ()
    parse_notes: tuple[ParseNote, ...] = ()
    mapping_notes: tuple[str, ...] = ()
    mimics: tuple[Mimic, ...] = ()
    pregnancy: Pregnancy | None = None
    jcv: JcvStatus | None = None
    hbv: HbvStatus | None = None
    deceased: Deceased | None = None
    refusals: tuple[Refusal, ...] = ()
    ignored: tuple[IgnoredValue, ...] = ()
    msc_orders: tuple[DraftOrder, ...] = ()  # active/draft MSC orders already in the record
    # Active acute GVHD Conditions ('Type/id'): a recognised MSC indication when the order
    # states no reason.
    gvhd_conditions: tuple[str, ...] = ()

    @property
    def has_ms(self) -> bool:
        return bool(self.ms_diagnoses)

    @property
    def ms_confirmed(self) -> bool:
        """A current confirmed MS diagnosis and no current NMOSD or MOGAD diagnosis."""
        if any(m.kind in (MimicKind.NMOSD, MimicKind.MOGAD) for m in self.mimics):
            return False
        return any(d.certainty is Certainty.CONFIRMED for d in self.ms_diagnoses)

    @property
    def current_dmts(self) -> tuple[DmtExposure, ...]:
        return tuple(d for d in self.dmts if d.current)

    @property
    def ms_condition_ref(self) -> str | None:
        """The Condition that states the course (for reasonReference), if any."""
        if self.course and self.course.sources:
            return self.course.sources[0]
        return self.ms_diagnoses[0].source if self.ms_diagnoses else None
