"""Fakes for FHIR fetch tests: a FHIR base URL, resolvers and request builders."""

from __future__ import annotations

from typing import Any

from cds_hooks import ServiceDefinition, parse_request
from cds_service.catalogue import service_for_hook
from cds_service.config import Settings
from cds_service.fetch import resolve_prefetch
from fhir_mappings.build import PatientRecord
from tests.builders import PATIENT_ID, hook_request
from tests.conftest import make_settings
from tests.jwt_support import HASH_KEY, PUBLIC_BASE_URL, STATIC_ISSUERS

BASE = "https://fhir.example.org/r4"
TOKEN = "tok-SECRET-7f3a9c"
PUBLIC_IP = "93.184.216.34"
OPTIONAL_KEYS = ["conditions", "medicationRequests", "medicationStatements"]
OPTIONAL_KEYS += [
    "medicationAdministrations",
    "observations",
    "imagingObservations",
    "procedures",
    "encounters",
    "mriReports",
]


async def public_resolver(host: str, port: int) -> list[str]:
    """Every host resolves to a public address."""
    return [PUBLIC_IP]


def production(**overrides: Any) -> Settings:
    """Production-mode settings (https only, no loopback; clients sign with
    `jwt_support.signed_headers`)."""
    values: dict[str, Any] = {
        "trusted_issuers": STATIC_ISSUERS,
        "patient_hash_key": HASH_KEY,
        "public_base_url": PUBLIC_BASE_URL,
        **overrides,
    }
    return make_settings(dev=False, **values)


def fetch_request(
    *missing: str,
    token: bool = True,
    server: str | None = BASE,
    hook: str = "patient-view",
    **prefetch: Any,
) -> dict[str, Any]:
    """A request whose prefetch lacks the `missing` keys (others as given), to `server`."""
    body = hook_request(hook)
    body["prefetch"].update(prefetch)
    for key in missing:
        del body["prefetch"][key]
    if server is not None:
        body["fhirServer"] = server
    if token and server is not None:
        body["fhirAuthorization"] = {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "ms-cds",
        }
    return body


async def resolve(
    body: dict[str, Any],
    settings: Settings | None = None,
    service: ServiceDefinition | None = None,
    **kwargs: Any,
) -> PatientRecord:
    """Run the real prefetch resolution on a request body."""
    request = parse_request(body)
    chosen = service or service_for_hook(request.hook)
    assert chosen is not None
    kwargs.setdefault("resolver", public_resolver)
    return await resolve_prefetch(
        request, chosen, PATIENT_ID, None, settings or production(), **kwargs
    )


def search_bundle(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    if next_url:
        bundle["link"] = [{"relation": "self", "url": "x"}, {"relation": "next", "url": next_url}]
    return bundle
