"""The CDS Hooks 2.0 wire format, field by field: pydantic models and nothing else.

No HTTP framework and no HTTP client: the request envelope and each hook's context,
cards and what they carry, discovery, feedback. Invalid input raises a `WireError`
whose diagnostics name the fields (never their values); the HTTP edge turns it into
an OperationOutcome.
"""

from cds_hooks.base import Hook, WireModel, dump
from cds_hooks.cards import Action, Card, Coding, HookResponse, Link, Source, Suggestion, prune
from cds_hooks.discovery import DiscoveryResponse, ServiceDefinition
from cds_hooks.errors import InvalidInput, TooManyItems, WireError, describe_error
from cds_hooks.feedback import FeedbackItem, OverrideReason, parse_feedback
from cds_hooks.request import (
    CONTEXT_MODELS,
    FhirAuthorization,
    HookContext,
    HookRequest,
    OrderSelectContext,
    OrderSignContext,
    PatientViewContext,
    bare_patient_id,
    parse_context,
    parse_request,
)

__all__ = [
    "CONTEXT_MODELS",
    "Action",
    "Card",
    "Coding",
    "DiscoveryResponse",
    "FeedbackItem",
    "FhirAuthorization",
    "Hook",
    "HookContext",
    "HookRequest",
    "HookResponse",
    "InvalidInput",
    "Link",
    "OrderSelectContext",
    "OrderSignContext",
    "OverrideReason",
    "PatientViewContext",
    "ServiceDefinition",
    "Source",
    "Suggestion",
    "TooManyItems",
    "WireError",
    "WireModel",
    "bare_patient_id",
    "describe_error",
    "dump",
    "parse_context",
    "parse_feedback",
    "parse_request",
    "prune",
]
