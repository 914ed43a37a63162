"""CDS Hooks 2.0 request and response models, field by field.

The envelope is parsed first (hook, hookInstance, fhirServer, fhirAuthorization,
context, prefetch, extension); the context is then checked against the hook's
own context model, so an error can say exactly which field is wrong.
"""

from __future__ import annotations

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

from cards.model import Action, Card
from cds_service.errors import BadRequest, describe_error

__all__ = [
    "CONTEXT_MODELS",
    "FhirAuthorization",
    "HookRequest",
    "HookResponse",
    "OrderSelectContext",
    "OrderSignContext",
    "PatientViewContext",
    "parse_context",
    "parse_request",
]


class FhirAuthorization(BaseModel):
    """The access token the client grants. SecretStr: it never prints or logs."""

    model_config = ConfigDict(extra="allow", frozen=True)

    access_token: SecretStr
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name, not a secret)
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


class _Context(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    userId: str | None = None
    patientId: str = Field(min_length=1)
    encounterId: str | None = None


class PatientViewContext(_Context):
    pass


class _Bundle(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    resourceType: Literal["Bundle"]
    entry: list[Any] | None = None


class OrderSignContext(_Context):
    draftOrders: _Bundle


class OrderSelectContext(_Context):
    selections: list[str] = Field(min_length=1)
    draftOrders: _Bundle


CONTEXT_MODELS: dict[str, type[_Context]] = {
    "patient-view": PatientViewContext,
    "order-select": OrderSelectContext,
    "order-sign": OrderSignContext,
}


class HookResponse(BaseModel):
    cards: list[Card]
    systemActions: list[Action] | None = None


def _raise_invalid(exc: ValidationError, prefix: str = "") -> None:
    diagnostics = [prefix + describe_error(e) for e in exc.errors()][:20]
    raise BadRequest(*diagnostics) from None


def parse_request(body: Any) -> HookRequest:
    """The envelope of a decoded JSON body, or BadRequest naming each bad field."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    try:
        return HookRequest.model_validate(body)
    except ValidationError as exc:
        _raise_invalid(exc)
    raise AssertionError("unreachable")


def parse_context(hook: str, context: dict[str, Any]) -> _Context:
    model = CONTEXT_MODELS[hook]
    try:
        return model.model_validate(context)
    except ValidationError as exc:
        _raise_invalid(exc, prefix="context.")
    raise AssertionError("unreachable")
