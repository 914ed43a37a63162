"""Issue 17: inputs that once reached the database or the clock unchecked answer a clear
4xx naming the field (findings 12, 13, 14, 18)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_service.ops.logs import configure_logging
from cds_service.quota import TokenBuckets
from cds_service.storage.schema import feedback, feedback_reason
from tests.builders import hook_request
from tests.conftest import make_settings
from tests.jwt_support import (
    STATIC_ISSUERS,
    bearer,
    claims,
    es384,
    jwks,
    production_settings,
    signed_headers,
)
from tests.storage_helpers import item, reason, rows

FEEDBACK_URL = "/cds-services/ms-order-select/feedback"
ADMIN = "a" * 32


def diagnostics(response: Any) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return " | ".join(issue["diagnostics"] for issue in body["issue"])


NUL_ITEMS = [
    (item("c", overrideReason=reason("x", "a\x00comment")), "overrideReason.userComment"),
    (item("c", overrideReason=reason("x\x00")), "overrideReason.reason.code"),
    (item("c", overrideReason=reason("x", display="a\x00")), "overrideReason.reason.display"),
    (item("c\x00"), "card"),
    (item("c", "accepted", acceptedSuggestions=[{"id": "s\x00"}]), "acceptedSuggestions[0].id"),
    (item("c", extension={"urn:x": {"deep": ["ok", "bad\x00"]}}), "extension.urn:x.deep[1]"),
    (item("c", extension={"bad\x00key": 1}), "extension (a member name)"),
]


@pytest.mark.parametrize(("bad_item", "field"), NUL_ITEMS)
def test_nul_in_feedback_is_a_400_naming_the_field(
    bad_item: dict[str, Any], field: str, db_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """A NUL anywhere in a feedback item answers 400 naming where (PostgreSQL answered 503,
    which clients retry for ever); nothing of the request is stored."""
    app = app_factory(make_settings(database_url=db_url))
    with TestClient(app) as client:
        response = client.post(FEEDBACK_URL, json={"feedback": [item("ok"), bad_item]})
    assert response.status_code == 400, response.text
    assert f"feedback[1].{field}: must not contain the NUL character" in diagnostics(response)
    assert "\x00" not in response.text
    assert rows(db_url, feedback) == [] and rows(db_url, feedback_reason) == []


def test_a_value_the_database_refuses_is_a_400_not_a_503(
    db_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """An extension number past a double's range (stored as the JSON token Infinity, which
    PostgreSQL's json refuses) is a 400 there, not a 503 retried for ever; SQLite stores it."""
    body = (
        b'{"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": '
        b'"2026-11-25T10:05:31Z", "extension": {"a": 1e400, "b": 123456789012345678901234567890}}]}'
    )
    app = app_factory(make_settings(database_url=db_url))
    with TestClient(app) as client:
        response = client.post(
            FEEDBACK_URL, content=body, headers={"content-type": "application/json"}
        )
    if db_url.startswith("postgresql"):
        assert response.status_code == 400
        assert "the database cannot store one of its values" in diagnostics(response)
        assert rows(db_url, feedback) == []
    else:
        assert response.status_code == 200, response.text


EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


@pytest.mark.parametrize("timestamp", EDGES)
def test_outcome_timestamp_out_of_range_is_a_400(
    timestamp: str, sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """An outcomeTimestamp whose UTC instant falls outside years 1-9999 answers 400, not 500."""
    app = app_factory(make_settings(database_url=sqlite_url))
    with TestClient(app) as client:
        response = client.post(
            FEEDBACK_URL, json={"feedback": [item("c", outcomeTimestamp=timestamp)]}
        )
    assert response.status_code == 400
    assert "feedback[0].outcomeTimestamp" in diagnostics(response)


@pytest.mark.parametrize("since", EDGES)
def test_analytics_since_out_of_range_is_a_400(
    since: str, sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """An analytics `since` outside the representable range answers 400 naming it, not 500."""
    app = app_factory(make_settings(database_url=sqlite_url, admin_token=ADMIN))
    with TestClient(app) as client:
        response = client.get(
            "/analytics/cards",
            params={"since": since},
            headers={"authorization": f"Bearer {ADMIN}"},
        )
    assert response.status_code == 400
    assert diagnostics(response).startswith("since:")


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_range_ends_in_utc_are_still_accepted(
    timestamp: str, db_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """The first and last representable UTC instants are valid outcome times."""
    app = app_factory(make_settings(database_url=db_url))
    with TestClient(app) as client:
        response = client.post(
            FEEDBACK_URL, json={"feedback": [item("c", outcomeTimestamp=timestamp)]}
        )
    assert response.status_code == 200, response.text


UUID_V1 = "c232e4a0-cf0e-11ee-8e2b-0242ac120002"  # version 1, as Epic sends


@pytest.mark.parametrize(
    ("sent", "logged"),
    [
        (f"{UUID_V1}\n", "not-a-uuid"),
        (f"{UUID_V1}\nINFO    ms_cds.request: forged line", "not-a-uuid"),
        (UUID_V1, UUID_V1),
        (UUID_V1.upper(), UUID_V1),
        (f"urn:uuid:{UUID_V1}", UUID_V1),
        ("5f1e7b8a-4c1d-4a8e-9a33-1d2c3b4a5f60", "5f1e7b8a-4c1d-4a8e-9a33-1d2c3b4a5f60"),
        ("Jane-Doe", "not-a-uuid"),
    ],
    ids=["trailing-newline", "forged-line", "v1", "upper-case", "urn", "v4", "name"],
)
def test_hook_instance_logged_only_as_a_canonical_uuid(
    sent: str, logged: str, client: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    """A console hook-call line shows the hookInstance's canonical UUID (any version), or
    not-a-uuid; a line break in it never splits the line."""
    configure_logging("console")
    capfd.readouterr()
    body = {**hook_request("patient-view"), "hookInstance": sent}
    assert client.post("/cds-services/ms-patient-view", json=body).status_code == 200
    err = capfd.readouterr().err
    [line] = [line for line in err.splitlines() if "hook call" in line]
    assert f" hookInstance={logged} " in line
    assert "forged" not in err


# --- finding 14: feedback quotas ---------------------------------------------------------


def test_feedback_requests_beyond_the_rate_get_429_with_retry_after(
    sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """Past CDS_FEEDBACK_REQUESTS_PER_MINUTE a client gets 429 (OperationOutcome, Retry-After);
    another client (development: another address) is not affected."""
    app = app_factory(make_settings(database_url=sqlite_url, feedback_requests_per_minute=2))
    body = {"feedback": [item("c")]}
    with TestClient(app) as client:
        answers = [client.post(FEEDBACK_URL, json=body).status_code for _ in range(2)]
        refused = client.post(FEEDBACK_URL, json=body)
    with TestClient(app, client=("192.0.2.7", 40000)) as other:
        elsewhere = other.post(FEEDBACK_URL, json=body)
    assert answers == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["issue"][0]["code"] == "throttled"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert elsewhere.status_code == 200


def test_feedback_items_beyond_the_volume_get_429_and_are_not_stored(
    sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """Past CDS_FEEDBACK_ITEMS_PER_HOUR a client's items are refused with 429, none stored."""
    app = app_factory(make_settings(database_url=sqlite_url, feedback_items_per_hour=3))
    with TestClient(app) as client:
        first = client.post(FEEDBACK_URL, json={"feedback": [item("a"), item("b")]})
        second = client.post(FEEDBACK_URL, json={"feedback": [item("c"), item("d")]})
    assert first.status_code == 200
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1
    assert "feedback items" in diagnostics(second)
    assert sorted(r["card_uuid"] for r in rows(sqlite_url, feedback)) == ["a", "b"]


def test_quota_is_per_verified_issuer(sqlite_url: str, app_factory: Callable[..., FastAPI]) -> None:
    """In production the quota follows the JWT's issuer: one issuer's flood leaves another's
    feedback alone."""
    other_issuer = "https://other-ehr.example.org"
    other = es384("other-1")
    settings = production_settings(
        database_url=sqlite_url,
        database_migrate_on_startup=True,
        trusted_issuers={**STATIC_ISSUERS, other_issuer: {"jwks": jwks(other)}},
        feedback_requests_per_minute=1,
    )
    aud = "http://testserver" + FEEDBACK_URL
    body = {"feedback": [item("c")]}
    with TestClient(app_factory(settings)) as client:
        first = client.post(FEEDBACK_URL, json=body, headers=signed_headers(FEEDBACK_URL))
        again = client.post(FEEDBACK_URL, json=body, headers=signed_headers(FEEDBACK_URL))
        token = other.token(claims(aud=aud, iss=other_issuer))
        theirs = client.post(FEEDBACK_URL, json=body, headers=bearer(token))
    assert (first.status_code, again.status_code, theirs.status_code) == (200, 429, 200)


def test_oversized_feedback_extension_gets_413_naming_it(
    sqlite_url: str, app_factory: Callable[..., FastAPI]
) -> None:
    """An item's extension (with unknown fields) past CDS_FEEDBACK_MAX_EXTENSION_BYTES: 413."""
    app = app_factory(make_settings(database_url=sqlite_url, feedback_max_extension_bytes=512))
    small = item("a", extension={"urn:x": "y" * 100})
    large = item("b", extension={"urn:x": "y" * 600})
    with TestClient(app) as client:
        ok = client.post(FEEDBACK_URL, json={"feedback": [small]})
        refused = client.post(FEEDBACK_URL, json={"feedback": [small, large]})
        unknown_fields = client.post(FEEDBACK_URL, json={"feedback": [{**small, "x": "z" * 600}]})
    assert ok.status_code == 200
    assert refused.status_code == 413
    assert "feedback[1].extension: at most 512 bytes" in diagnostics(refused)
    assert unknown_fields.status_code == 413


def test_token_bucket_refills_with_time() -> None:
    """A drained bucket names the wait, and admits again once that time has passed."""
    now = [0.0]
    buckets = TokenBuckets(2, 60.0, clock=lambda: now[0])
    assert [buckets.take("k"), buckets.take("k")] == [0, 0]
    wait = buckets.take("k")
    assert wait == 30
    now[0] += wait
    assert buckets.take("k") == 0
    assert buckets.take("other") == 0
