"""Issue 17: inputs that once reached the database or the clock unchecked answer a clear
4xx naming the field (findings 12, 13, 14, 18)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_service.logs import configure_logging
from cds_service.storage.schema import feedback, feedback_reason
from tests.builders import hook_request
from tests.conftest import make_settings
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
