"""Frozen fact types: what the rules know about a patient and the orders in hand.

Each fact names the FHIR resources it came from (`sources`, as 'Type/id'), so a
card can explain itself. Facts carry no names, birth dates or free text.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Diagnosis",
    "DraftOrder",
    "Fact",
    "MsCourse",
    "OrderKind",
    "OrderReason",
    "PatientFacts",
]


class Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


class OrderKind(StrEnum):
    MSC = "msc"
    HSCT = "hsct"
    OTHER = "other"


class OrderReason(StrEnum):
    MS = "ms"
    NON_MS = "non-ms"
    NONE = "none"


class DraftOrder(Fact):
    """An order being selected or signed (context.draftOrders)."""

    ref: str
    resource_type: str
    kind: OrderKind
    matched_by: str | None = None
    product: str | None = None
    reason: OrderReason = OrderReason.NONE
    sources: tuple[str, ...] = ()
    validated: bool = True


class PatientFacts(Fact):
    """Everything the rules know about the patient's record."""

    patient_ref: str | None
    ms_diagnoses: tuple[Diagnosis, ...] = ()
    missing_data: tuple[str, ...] = ()
    parse_notes: tuple[str, ...] = ()

    @property
    def has_ms(self) -> bool:
        return bool(self.ms_diagnoses)
