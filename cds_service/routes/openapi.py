"""/openapi.json that tells the truth about the endpoints.

The hook and feedback routes read their bodies themselves (for precise 400s), so
the HookRequest schema is registered by hand; every error is an OperationOutcome
(never FastAPI's 422), except 401, which is bare.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from cds_hooks import HookRequest
from cds_service.catalogue import SERVICES

__all__ = ["OPERATION_OUTCOME_SCHEMA", "document_api"]

OPERATION_OUTCOME_SCHEMA: dict[str, Any] = {
    "title": "OperationOutcome",
    "description": "FHIR R4 OperationOutcome: every error body (except 401, which is bare).",
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

# The error answers of each operation (see cds_service/errors.py): OperationOutcomes,
# except 401, which is bare.
_ERROR_TEXT = {
    "400": "Malformed JSON, nested too deeply, or an invalid envelope, context or field",
    "401": "Client authentication failed (no body)",
    "404": "No such CDS service (or the endpoint is switched off)",
    "412": "Required prefetch data is missing and cannot be fetched",
    "413": "The request body is too large",
    "415": "The request body is not UTF-8 JSON",
    "429": "Too many feedback requests or items from this client (Retry-After says when)",
    "503": "A dependency (keys, database) is unavailable; retry later",
}
_ERRORS: dict[tuple[str, str], tuple[str, ...]] = {
    ("/cds-services/{service_id}", "post"): ("400", "401", "404", "412", "413", "415", "503"),
    ("/cds-services/{service_id}/feedback", "post"): (
        "400",
        "401",
        "404",
        "413",
        "415",
        "429",
        "503",
    ),
    ("/analytics/cards", "get"): ("400", "401", "404", "503"),
}


def _document_errors(schema: dict[str, Any]) -> None:
    outcome = {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's own; the service answers 400 instead
            for status in _ERRORS.get((path, method), ()):
                responses[status] = {"description": _ERROR_TEXT[status]}
                if status != "401":
                    responses[status]["content"] = {"application/fhir+json": outcome}


def document_api(app: FastAPI) -> None:
    """Replace the app's OpenAPI document builder with one that adds the above."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        defs = HookRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs.pop("$defs", {}))
        components["HookRequest"] = defs
        components["OperationOutcome"] = OPERATION_OUTCOME_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        _document_errors(schema)
        hook = schema["paths"]["/cds-services/{service_id}"]["post"]
        for parameter in hook.get("parameters", []):
            if parameter.get("name") == "service_id":
                parameter["schema"]["enum"] = sorted(SERVICES)
        body = {"schema": {"$ref": "#/components/schemas/HookRequest"}}
        hook["requestBody"]["content"] = {"application/json": body, "application/fhir+json": body}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
