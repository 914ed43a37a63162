"""What every wire model shares: the hooks served, the strict base model, `dump`.

`dump` is how any model goes out: JSON types, optional fields omitted (never null
or []), as CDS Hooks clients expect.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Hook", "WireModel", "dump"]


class Hook(StrEnum):
    """The CDS Hooks this service answers (each has its own context model)."""

    PATIENT_VIEW = "patient-view"
    ORDER_SELECT = "order-select"
    ORDER_SIGN = "order-sign"


class WireModel(BaseModel):
    """A model the service sends: frozen, and no field beyond the spec's."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def dump(model: BaseModel) -> dict[str, Any]:
    """The model as CDS Hooks JSON: no nulls, no empty optional lists."""
    return model.model_dump(mode="json", exclude_none=True)
