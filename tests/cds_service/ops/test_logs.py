"""Log hygiene pieces: patient hashes, hookInstance, exception text, access-log query strings."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cds_service.config import DEV_PATIENT_HASH_KEY
from cds_service.ops import patient_hash
from cds_service.ops.logs import (
    ConsoleFormatter,
    JsonFormatter,
    configure_logging,
    safe_hook_instance,
)
from tests.builders import hook_request
from tests.conftest import make_settings

# Built here, so that the traceback's source lines (which are code) do not quote it.
SECRET_MESSAGE = " ".join(["patient Jane Doe", "born 1950-01-01", "MRN-12345"])


def test_patient_hash_is_keyed_and_stable() -> None:
    """The same id and key give the same hash; another key gives another; the id is not in it."""
    first = patient_hash("pat-1", b"k" * 32)
    assert first == patient_hash("pat-1", "k" * 32)
    assert first != patient_hash("pat-1", b"j" * 32)
    assert first != patient_hash("pat-2", b"k" * 32)
    assert len(first) == 64 and "pat-1" not in first


def test_patient_hash_refuses_an_empty_key() -> None:
    """An empty key would make the hash a plain, reversible digest."""
    with pytest.raises(ValueError, match="empty"):
        patient_hash("pat-1", b"")


def test_development_uses_the_fixed_key_production_its_own() -> None:
    """Development hashes with the fixed development key; a configured key replaces it."""
    assert make_settings().patient_hash_secret() == DEV_PATIENT_HASH_KEY.encode()
    assert make_settings(patient_hash_key="s" * 40).patient_hash_secret() == b"s" * 40


def test_short_hash_key_refused_in_production() -> None:
    """A production hash key shorter than 32 characters is a start-up problem."""
    settings = make_settings(
        dev=False,
        trusted_issuers={"https://ehr.example.org": {"jwks": {"keys": []}}},
        patient_hash_key="short",
    )
    assert any("CDS_PATIENT_HASH_KEY" in p for p in settings.production_problems())


@pytest.mark.parametrize(
    ("value", "logged"),
    [
        ("5f1e7b8a-4c1d-4a8e-9a33-1d2c3b4a5f60", "5f1e7b8a-4c1d-4a8e-9a33-1d2c3b4a5f60"),
        ("Jane-Doe", "not-a-uuid"),
        (None, "not-a-uuid"),
    ],
)
def test_hook_instance_only_when_a_uuid(value: object, logged: str) -> None:
    """A hookInstance is logged only when it has the shape of a UUID."""
    assert safe_hook_instance(value) == logged


@pytest.fixture
def foreign_handler() -> Iterator[io.StringIO]:
    """A plain handler, not ours, on uvicorn's loggers (as a log shipper might add)."""
    configure_logging("json")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    loggers = [logging.getLogger(n) for n in ("uvicorn.error", "uvicorn.access")]
    saved = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    yield stream
    for lg, level in zip(loggers, saved, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_foreign_handlers_get_no_exception_message(foreign_handler: io.StringIO) -> None:
    """uvicorn's exception log keeps the stack but not the message, whatever the handler."""
    try:
        raise ValueError(SECRET_MESSAGE)
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    text = foreign_handler.getvalue()
    assert "ValueError (message withheld)" in text and "test_logs.py" in text
    assert "Jane" not in text and "1950" not in text


def test_foreign_handlers_get_no_query_string(foreign_handler: io.StringIO) -> None:
    """uvicorn's access log, if switched on, writes the path without its query."""
    path = "/cds-services?access_token=t0k"
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", path, "1.1", 200
    )
    text = foreign_handler.getvalue()
    assert '"GET /cds-services HTTP/1.1" 200' in text and "t0k" not in text


@pytest.mark.parametrize("formatter", [JsonFormatter(), ConsoleFormatter()])
def test_our_formatters_withhold_exception_messages(formatter: logging.Formatter) -> None:
    """Both log formats write an exception's type and stack, never its message."""
    try:
        raise KeyError(SECRET_MESSAGE)
    except KeyError:
        record = logging.getLogger("ms_cds").makeRecord(
            "ms_cds", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    text = formatter.format(record)
    assert "KeyError (message withheld)" in text and "MRN-12345" not in text


def test_hook_call_line_fields(client: TestClient, capfd: pytest.CaptureFixture[str]) -> None:
    """A hook call logs one line: service, hookInstance, route, status, timing and the
    patient's keyed hash."""
    configure_logging("json")
    response = client.post("/cds-services/ms-patient-view", json=hook_request("patient-view"))
    assert response.status_code == 200
    err = capfd.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    call = next(line for line in lines if line["event"] == "hook call")
    assert call["service"] == "ms-patient-view"
    assert call["hookInstance"] == "5f1e7b8a-4c1d-4a8e-9a33-1d2c3b4a5f60"
    assert call["status"] == 200
    assert isinstance(call["duration_ms"], float)
    assert call["patient"] == patient_hash("pat-1", DEV_PATIENT_HASH_KEY)
    assert call["route"] == "/cds-services/{service_id}" and call["method"] == "POST"
    assert not [line for line in lines if line["event"] == "http request"]


def test_refused_hook_call_is_one_line_with_its_status(
    client: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    """A refused hook call (here a 400) logs one `hook call` line with the status sent."""
    configure_logging("json")
    body = {**hook_request("patient-view"), "context": {"userId": "Practitioner/1"}}
    response = client.post("/cds-services/ms-patient-view", json=body)
    assert response.status_code == 400
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith("{")]
    calls = [line for line in lines if line["event"] in ("hook call", "http request")]
    assert len(calls) == 1 and calls[0]["event"] == "hook call"
    assert calls[0]["status"] == 400 and calls[0]["service"] == "ms-patient-view"
    assert "patient" not in calls[0]  # no patientId in the context: nothing to hash


def test_json_line_with_a_lone_surrogate_is_still_written() -> None:
    """A field orjson cannot encode (a lone surrogate) is escaped, never a logging error."""
    record = logging.getLogger("ms_cds").makeRecord(
        "ms_cds", logging.INFO, __file__, 1, "event", (), None, extra={"detail": "a\ud800b"}
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["detail"] == "a\ud800b" and line["event"] == "event"


def test_cors_preflight_is_logged_with_its_route_template(
    client: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    """An OPTIONS preflight, answered before routing, logs the route template it is for;
    a path no route has is still "unmatched"."""
    configure_logging("json")
    preflight = {
        "Origin": "https://sandbox.cds-hooks.org",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    assert client.options("/cds-services/ms-patient-view", headers=preflight).status_code == 200
    client.options("/no-such-route", headers=preflight)
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith("{")]
    requests = [line for line in lines if line["event"] == "http request"]
    assert [(r["method"], r["route"], r["status"]) for r in requests][:1] == [
        ("OPTIONS", "/cds-services/{service_id}", 200)
    ]
    assert requests[1]["route"] == "unmatched"
