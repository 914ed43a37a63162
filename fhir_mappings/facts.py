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
    "DateSpan",
    "Diagnosis",
    "DiseaseCourse",
    "DiseaseOnset",
    "DmtExposure",
    "DraftOrder",
    "Edss",
    "EfficacyClass",
    "Fact",
    "MriLesionCount",
    "MriMeasure",
    "MsCourse",
    "OnsetBasis",
    "OrderKind",
    "OrderReason",
    "ParseNote",
    "PatientFacts",
    "PriorAhsct",
    "Problem",
    "Relapse",
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


class Diagnosis(Fact):
    """One active MS Condition."""

    source: str
    course: MsCourse
    activity: str | None = None
    matched_by: str
    relapse: bool = False


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
    RECORDED_DATE = "recordedDate"


class DiseaseOnset(Fact):
    """When MS began: the earliest MS Condition onset, else its recordedDate (a proxy
    that can only make the disease look shorter than it is)."""

    span: DateSpan
    basis: OnsetBasis
    source: str


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


class Relapse(Fact):
    """An MS relapse (exacerbation) recorded as a Condition."""

    on: DateSpan | None
    matched_by: str
    source: str


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


class Edss(Fact):
    """An EDSS score on the 0-10 scale in 0.5 steps (0.5 itself does not exist)."""

    score: float
    on: DateSpan | None
    source: str


class PriorAhsct(Fact):
    """A recorded autologous haematopoietic stem cell transplant (Procedure)."""

    on: DateSpan | None
    matched_by: str
    source: str


class OrderKind(StrEnum):
    MSC = "msc"
    HSCT = "hsct"
    DMT = "dmt"
    OTHER = "other"


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

    @property
    def has_ms(self) -> bool:
        return bool(self.ms_diagnoses)

    @property
    def current_dmts(self) -> tuple[DmtExposure, ...]:
        return tuple(d for d in self.dmts if d.current)

    @property
    def ms_condition_ref(self) -> str | None:
        """The Condition that states the course (for reasonReference), if any."""
        if self.course and self.course.sources:
            return self.course.sources[0]
        return self.ms_diagnoses[0].source if self.ms_diagnoses else None
