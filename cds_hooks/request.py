"""CDS Hooks 2.0 requests, field by field: the envelope, then the hook's own context.

The envelope is parsed first (hook, hookInstance, fhirServer, fhirAuthorization,
context, prefetch, extension); the context is then checked against the model of
the hook being served (`CONTEXT_MODELS`), so an error can say exactly which field
is wrong ("context.selections: Field required").
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from cds_hooks.base import Hook
from cds_hooks.errors import InvalidInput

__all__ = [
    "CONTEXT_MODELS",
    "FhirAuthorization",
    "HookContext",
    "HookRequest",
    "OrderSelectContext",
    "OrderSignContext",
    "PatientViewContext",
    "bare_patient_id",
    "parse_context",
    "parse_request",
]


class FhirAuthorization(BaseModel):
    """The access token the client grants. SecretStr: it never prints or logs."""

    model_config = ConfigDict(extra="allow", frozen=True)

    access_token: SecretStr
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name, not a secret)

    @field_validator("token_type", mode="before")
    @classmethod
    def _scheme_any_case(cls, value: Any) -> Any:
        # RFC 6749 section 5.1: token_type is case insensitive; clients send "bearer".
        if isinstance(value, str) and value.lower() == "bearer":
            return "Bearer"
        return value

    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None


class HookRequest(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @field_validator("hookInstance")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        # PostgreSQL text cannot hold it; a UUID never does.
        if "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
        return value

    @model_validator(mode="after")
    def _server_with_token(self) -> HookRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirAuthorization requires fhirServer")
        return self


def bare_patient_id(value: Any) -> Any:
    """The spec's patientId is a bare id; some clients send a reference "Patient/x": "x"."""
    if isinstance(value, str) and value.startswith("Patient/") and len(value) > len("Patient/"):
        return value[len("Patient/") :]
    return value


# FHIR's id characters (R4 "id" datatype: [A-Za-z0-9\-\.]), so an id is always one safe
# URL path segment. Length up to 256, not FHIR's 64: Epic's FHIR ids are reported to run
# to 194 characters, and refusing a real patient costs more than a long id. An id made of
# dots only ("." or "..") would be a dot segment: the Patient read would go elsewhere.
PATIENT_ID_MAX = 256
_PATIENT_ID = re.compile(rf"[A-Za-z0-9\-.]{{1,{PATIENT_ID_MAX}}}")


class HookContext(BaseModel):
    """What every hook's context holds."""

    model_config = ConfigDict(extra="allow", frozen=True)

    userId: str | None = None
    patientId: str = Field(min_length=1)
    encounterId: str | None = None

    @field_validator("patientId", mode="after")
    @classmethod
    def _bare_id(cls, value: str) -> str:
        bare = str(bare_patient_id(value))
        if _PATIENT_ID.fullmatch(bare) is None or not bare.strip("."):
            raise ValueError(
                f"must be a FHIR id: 1-{PATIENT_ID_MAX} letters, digits, '-' or '.', not only dots"
            )
        return bare


class PatientViewContext(HookContext):
    pass


class _Bundle(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    resourceType: Literal["Bundle"]
    entry: list[Any] | None = None


class OrderSignContext(HookContext):
    draftOrders: _Bundle


class OrderSelectContext(HookContext):
    selections: list[str] = Field(min_length=1)
    draftOrders: _Bundle


CONTEXT_MODELS: dict[Hook, type[HookContext]] = {
    Hook.PATIENT_VIEW: PatientViewContext,
    Hook.ORDER_SELECT: OrderSelectContext,
    Hook.ORDER_SIGN: OrderSignContext,
}


def parse_request(body: Any) -> HookRequest:
    """The envelope of a decoded JSON body, or InvalidInput naming each bad field."""
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    try:
        return HookRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput.of(exc) from None


def parse_context(hook: Hook, context: dict[str, Any]) -> HookContext:
    """The context checked against `hook`'s model, or InvalidInput naming each bad field."""
    try:
        return CONTEXT_MODELS[hook].model_validate(context)
    except ValidationError as exc:
        raise InvalidInput.of(exc, prefix="context.") from None
