"""No PHI, access token or JWT reaches a log line: planted in requests, searched in the logs.

The app runs under a real uvicorn (configured as `ms-cds serve` configures it), every
logger at DEBUG; the test reads both what the handlers wrote to stderr and what any
other handler would have been given.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from cds_service.ops import patient_hash
from cds_service.ops.logs import JsonFormatter, uvicorn_options
from tests import jwt_support as js
from tests.builders import bundle, condition, hook_request, patient
from tests.servers import uvicorn_server

NAME_GIVEN, NAME_FAMILY = "Zebulon", "Quigglesworth"
BIRTH_DATE = "1931-07-19"
MRN = "MRN-77441199"
NOTE = "numbness since the fall at the granary"
PATIENT_ID = "pat-phi-5550123"
ACCESS_TOKEN = "fhir-access-token-SECRET-8812"
LOGGERS = ("", "ms_cds", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore")


def post(url: str, body: Any, headers: dict[str, str], params: dict[str, str] | None = None) -> int:
    """POST with urllib: the test's own client must not log (httpx would, at INFO)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if params:
        url += "?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(  # noqa: S310 (a local http URL)
        url, data=data, headers={**headers, "Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status: int = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status


def phi_request(**overrides: Any) -> dict[str, Any]:
    person = patient(birth_date=BIRTH_DATE, pid=PATIENT_ID)
    person["name"] = [{"given": [NAME_GIVEN], "family": NAME_FAMILY}]
    person["identifier"] = [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": MRN}]
    ms = condition("ms-1", "426373005", note=[{"text": NOTE}])
    body = hook_request("patient-view", patient_resource=person, conditions=[ms])
    body["context"]["patientId"] = PATIENT_ID
    body["fhirServer"] = "https://fhir.example.org/r4"
    body["fhirAuthorization"] = {
        "access_token": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "ms-cds",
        "patient": PATIENT_ID,
    }
    body["prefetch"]["observations"] = bundle()
    return {**body, **overrides}


class Everything(logging.Handler):
    """Every record any logger passes on, formatted as production writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def everything() -> Iterator[Everything]:
    """The handler; `listen()` it once the server has configured logging (dictConfig
    drops the handlers of the loggers it configures)."""
    handler = Everything()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    yield handler
    for name, level in saved.items():
        logging.getLogger(name).removeHandler(handler)
        logging.getLogger(name).setLevel(level)


def listen(handler: logging.Handler) -> None:
    """Every logger at DEBUG, each also handing its records to `handler`."""
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger(name).addHandler(handler)


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_planted_phi_and_tokens_never_logged(
    app_factory: Callable[..., FastAPI],
    everything: Everything,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    log_format: str,
) -> None:
    """Valid, refused and failing calls carrying PHI and tokens leave none of them in logs."""
    signer = js.es384("logs-1")
    settings = js.production_settings(
        trusted_issuers={js.ISSUER: {"jwks": js.jwks(signer)}}, log_format=log_format
    )
    app = app_factory(settings)
    secrets: list[str] = [NAME_GIVEN, NAME_FAMILY, BIRTH_DATE, MRN, NOTE, PATIENT_ID, ACCESS_TOKEN]

    with uvicorn_server(app, **uvicorn_options(log_format, "DEBUG")) as api:
        listen(everything)
        url = f"{api}/cds-services/ms-patient-view"

        def token(**claims: Any) -> str:
            # aud: the configured public URL (never the live server's Host header)
            value = signer.token(js.claims(aud=js.SERVICE_URL, **claims))
            secrets.extend([value, value.split(".")[2]])
            return value

        forged = js.es384("logs-1").token(js.claims(aud=js.SERVICE_URL))
        secrets.extend([forged, forged.split(".")[2]])
        query = {"access_token": ACCESS_TOKEN, "patient": NAME_FAMILY, "mrn": MRN}
        statuses = []
        for headers, body, params in [
            (js.bearer(token()), phi_request(), None),  # valid: 200
            (js.bearer(forged), phi_request(), None),  # wrong signature: 401
            (js.bearer(token(exp=1)), phi_request(), None),  # expired: 401
            ({"Authorization": ACCESS_TOKEN}, phi_request(), None),  # not a bearer JWT
            (js.bearer(token()), phi_request(), query),  # tokens in the query string
            # invalid context, its value a name: 400
            (js.bearer(token()), phi_request(context={"patientId": [NAME_FAMILY]}), None),
            # not a UUID hookInstance, carrying a name
            (js.bearer(token()), phi_request(hookInstance=f"{NAME_GIVEN}-{MRN}"), None),
        ]:
            statuses.append(post(url, body, headers, params))
        # malformed JSON quoting PHI: 400
        broken = b'{"hook": "patient-view", "name": "' + NAME_FAMILY.encode() + b'"'
        statuses.append(post(url, broken, js.bearer(token())))
        # an internal error whose message quotes PHI: 500, and uvicorn logs the exception
        monkeypatch.setattr("cds_service.routes.hooks.run_service", _raise_with_phi, raising=True)
        statuses.append(post(url, phi_request(), js.bearer(token())))

    assert statuses == [200, 401, 401, 401, 200, 400, 200, 400, 500]
    written = capfd.readouterr()
    logs = "\n".join([*everything.lines, written.err, written.out])
    # The capture works: the calls, the refusals and the patient's keyed hash are there.
    assert "hook call" in logs and "client rejected" in logs and "bad_signature" in logs
    assert patient_hash(PATIENT_ID, js.HASH_KEY) in logs
    assert "message withheld" in logs
    # uvicorn's access logger was listened to: it writes paths without their query.
    assert "POST /cds-services/ms-patient-view HTTP/1.1" in logs
    leaked = [line[:300] for line in logs.splitlines() if any(s in line for s in secrets)]
    assert leaked == []


async def _raise_with_phi(*args: Any) -> Any:
    raise ValueError(f"cannot evaluate {NAME_GIVEN} {NAME_FAMILY} born {BIRTH_DATE}, {MRN}")
