"""What a rule decides, before it becomes a card: the input and output of every rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from cards.config import RuleConfig
from fhir_mappings.facts import DraftOrder, PatientFacts

__all__ = ["Decision", "RuleInput"]

T = TypeVar("T")


@dataclass(frozen=True)
class RuleInput:
    """Everything a rule may look at. `orders` are the orders being judged at this
    hook (order-select: the selections; order-sign: every draft)."""

    hook: str
    facts: PatientFacts
    orders: tuple[DraftOrder, ...]
    config: RuleConfig
    today: date
    # What several rules work out from these same facts (the AHSCT criteria: the referral,
    # data-gap and MSC rules all read them), worked out once; it lives as long as this input.
    _shared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()`, worked out on the first ask for `key` on this input only."""
        if key not in self._shared:
            self._shared[key] = compute()
        return cast(T, self._shared[key])


class Decision(BaseModel):
    """A rule's verdict: which card, about what, and the facts it rests on.

    `explanation` holds criteria and values (no PHI); `sources` the FHIR
    resource ids they came from. `details` carries topic-specific data for rendering.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    indicator: str
    sources: tuple[str, ...] = ()
    explanation: dict[str, Any] = {}
    order_ref: str | None = None
    details: dict[str, Any] = {}
