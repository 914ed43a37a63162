"""POST /cds-services/{id}/feedback: validation, Epic shapes, idempotency, durability."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_service.storage.schema import feedback, feedback_reason
from tests.conftest import make_settings
from tests.storage_helpers import item, reason, rows

URL = "/cds-services/ms-order-select/feedback"


def post(app: FastAPI, body: Any) -> httpx.Response:
    with TestClient(app) as client:
        return client.post(URL, json=body)


@pytest.fixture
def make_app(app_factory: Callable[..., FastAPI]) -> Callable[..., FastAPI]:
    def factory(url: str, **overrides: Any) -> FastAPI:
        return app_factory(make_settings(database_url=url, **overrides))

    return factory


def test_accepted_feedback_is_committed_before_200(
    db_url: str, make_app: Callable[..., FastAPI]
) -> None:
    """An accepted item is answered 200 and is already in the database."""
    response = post(make_app(db_url), {"feedback": [item("card-1", "accepted")]})
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "stored": 1, "duplicates": 0, "unknownCards": 1}
    [row] = rows(db_url, feedback)
    assert (row["card_uuid"], row["outcome"], row["service_id"]) == (
        "card-1",
        "accepted",
        "ms-order-select",
    )
    assert row["accepted_suggestions"] == ["sugg-1"]
    assert row["outcome_at"].isoformat() == "2026-11-25T10:05:31+00:00"


def test_override_reason_and_comment_are_stored(
    sqlite_url: str, make_app: Callable[..., FastAPI]
) -> None:
    """overrideReason's coding and userComment land in feedback_reason."""
    body = {"feedback": [item("card-1", overrideReason=reason("trial", "In a trial", "Trial"))]}
    assert post(make_app(sqlite_url), body).status_code == 200
    [stored] = rows(sqlite_url, feedback_reason)
    assert (stored["system"], stored["code"], stored["display"], stored["user_comment"]) == (
        "urn:test:override-reason",
        "trial",
        "Trial",
        "In a trial",
    )


BAD_ITEMS = [
    ({"outcome": "accepted", "outcomeTimestamp": "2026-11-25T10:00:00Z"}, "card: Field required"),
    (item("c", "maybe"), "outcome: must be 'accepted' or 'overridden'"),
    (item("c", "accepted", acceptedSuggestions=[]), "acceptedSuggestions: required"),
    ({**item("c", "accepted"), "acceptedSuggestions": None}, "acceptedSuggestions: required"),
    (item("c", "accepted", overrideReason=reason("x")), "overrideReason: allowed only"),
    (item("c", "accepted", overrideReasons=[reason("x")]), "overrideReason: allowed only"),
    (item("c", acceptedSuggestions=[{"id": "s"}]), "acceptedSuggestions: allowed only"),
    (item("c", outcomeTimestamp="yesterday"), "outcomeTimestamp: must be an RFC 3339"),
    (item("c", outcomeTimestamp="2026-11-25"), "outcomeTimestamp: must be an RFC 3339"),
    (item("c", overrideReason={"reason": {"system": "s"}}), "overrideReason.reason.code"),
    (item("c", "accepted", acceptedSuggestions=[{}]), "acceptedSuggestions.0.id"),
    ({k: v for k, v in item("c").items() if k != "outcomeTimestamp"}, "outcomeTimestamp"),
]


@pytest.mark.parametrize(("bad_item", "diagnostic"), BAD_ITEMS)
def test_invalid_items_get_400_naming_the_field(
    bad_item: dict[str, Any],
    diagnostic: str,
    sqlite_url: str,
    make_app: Callable[..., FastAPI],
) -> None:
    """Each broken spec rule answers 400 with an OperationOutcome naming the field."""
    response = post(make_app(sqlite_url), {"feedback": [item("ok", "accepted"), bad_item]})
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    diagnostics = " | ".join(i["diagnostics"] for i in outcome["issue"])
    assert f"feedback[1].{diagnostic}" in diagnostics
    assert rows(sqlite_url, feedback) == []  # nothing of a rejected batch is stored


@pytest.mark.parametrize(
    "body",
    [[], "text", {}, {"feedback": "x"}, {"feedback": [1]}, {"feedback": {"card": 1}}],
    ids=["array", "string", "empty-object", "string-feedback", "number-item", "bad-single"],
)
def test_malformed_bodies_get_400(
    body: Any, sqlite_url: str, make_app: Callable[..., FastAPI]
) -> None:
    """A body that is not {"feedback": [items]} answers 400 with an OperationOutcome."""
    response = post(make_app(sqlite_url), body)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_not_json_and_wrong_media_type(sqlite_url: str, make_app: Callable[..., FastAPI]) -> None:
    """Invalid JSON answers 400; a non-JSON content type answers 415."""
    with TestClient(make_app(sqlite_url)) as client:
        bad_json = client.post(URL, content=b"{", headers={"content-type": "application/json"})
        xml = client.post(URL, content=b"<x/>", headers={"content-type": "application/xml"})
    assert bad_json.status_code == 400
    assert xml.status_code == 415


def test_too_many_items_get_413(sqlite_url: str, make_app: Callable[..., FastAPI]) -> None:
    """More items than feedback_max_items answers 413."""
    body = {"feedback": [item(f"c{i}") for i in range(3)]}
    response = post(make_app(sqlite_url, feedback_max_items=2), body)
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-costly"


def test_unknown_service_gets_404(sqlite_url: str, make_app: Callable[..., FastAPI]) -> None:
    """Feedback for a service id that does not exist answers 404."""
    with TestClient(make_app(sqlite_url)) as client:
        response = client.post("/cds-services/nope/feedback", json={"feedback": []})
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"


def test_epic_shapes_are_accepted(db_url: str, make_app: Callable[..., FastAPI]) -> None:
    """overrideReasons (list, object, bare Coding), any-case outcome, zone-less time, extension."""
    body = {
        "feedback": [
            item(
                "card-a",
                "Overridden",
                overrideReasons=[reason("trial"), reason("declined", "Patient declined")],
                extension={"com.epic.cdshooks.feedback.user": "hashed"},
            ),
            item("card-b", overrideReasons=reason("trial")),
            item(
                "card-c",
                overrideReasons={"system": "urn:test:override-reason", "code": "other"},
                outcomeTimestamp="2026-11-25T11:00:00",
            ),
            item("card-d", "ACCEPTED", acceptedSuggestions=[{"id": "s1"}, {"id": "s2"}]),
        ],
        "extension": {"com.epic.batch": 1},
    }
    response = post(make_app(db_url), body)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 4
    stored = {r["card_uuid"]: r for r in rows(db_url, feedback)}
    assert [stored[f"card-{c}"]["outcome"] for c in "abcd"] == [
        "overridden",
        "overridden",
        "overridden",
        "accepted",
    ]
    assert stored["card-a"]["extra"] == {"extension": {"com.epic.cdshooks.feedback.user": "hashed"}}
    assert stored["card-c"]["outcome_at"].isoformat() == "2026-11-25T11:00:00+00:00"
    assert stored["card-d"]["accepted_suggestions"] == ["s1", "s2"]
    codes = sorted((r["code"], r["user_comment"]) for r in rows(db_url, feedback_reason))
    assert codes == [
        ("declined", "Patient declined"),
        ("other", None),
        ("trial", None),
        ("trial", None),
    ]


def test_same_item_twice_is_stored_once(db_url: str, make_app: Callable[..., FastAPI]) -> None:
    """Resending an item (alone, or twice within one batch) stores it once; a later one is new."""
    once = item("card-1", overrideReason=reason("trial", "note"))
    app = make_app(db_url)
    with TestClient(app) as client:
        first = client.post(URL, json={"feedback": [once, once]})
        again = client.post(URL, json={"feedback": [once]})
        later = client.post(URL, json={"feedback": [{**once, "outcomeTimestamp": "2026-11-26"}]})
        later_ok = client.post(
            URL, json={"feedback": [{**once, "outcomeTimestamp": "2026-11-26T08:00:00Z"}]}
        )
    assert first.json() == {"received": 2, "stored": 1, "duplicates": 1, "unknownCards": 1}
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 1
    assert later.status_code == 400
    assert later_ok.json()["stored"] == 1
    assert len(rows(db_url, feedback)) == 2
    assert len(rows(db_url, feedback_reason)) == 2


def test_unknown_card_is_stored_and_flagged(
    sqlite_url: str, make_app: Callable[..., FastAPI]
) -> None:
    """Feedback for a card the ledger never issued is kept, with card_known false."""
    response = post(make_app(sqlite_url), {"feedback": [item("never-issued")]})
    assert response.status_code == 200
    [row] = rows(sqlite_url, feedback)
    assert row["card_known"] is False


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-dir/for/ms-cds/test.sqlite3",
        "postgresql+psycopg://postgres@127.0.0.1:1/test",
    ],
    ids=["sqlite", "postgres"],
)
def test_unreachable_database_gets_503(url: str, make_app: Callable[..., FastAPI]) -> None:
    """With the database down, feedback answers 503 + Retry-After and cards still work."""
    from tests.builders import hook_request, med_request, ms_condition

    app = make_app(url, database_connect_timeout=1, ledger_shutdown_timeout=0)
    request = hook_request(
        "order-select",
        drafts=[med_request("m1", text="mesenchymal stem cell infusion")],
        conditions=[ms_condition()],
    )
    with TestClient(app) as client:
        response = client.post(URL, json={"feedback": [item("card-1")]})
        cards = client.post("/cds-services/ms-order-select", json=request)
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["issue"][0]["code"] == "transient"
    assert cards.status_code == 200
    assert cards.json()["cards"], "card evaluation must not depend on the database"


def test_nothing_lost_across_a_restart(db_url: str, make_app: Callable[..., FastAPI]) -> None:
    """Feedback answered 200 is still there after the app stops and a new one starts."""
    assert post(make_app(db_url), {"feedback": [item("card-1")]}).status_code == 200
    again = post(make_app(db_url), {"feedback": [item("card-1"), item("card-2")]})
    assert again.json() == {"received": 2, "stored": 1, "duplicates": 1, "unknownCards": 1}
    assert sorted(r["card_uuid"] for r in rows(db_url, feedback)) == ["card-1", "card-2"]


async def test_concurrent_feedback_is_all_stored(
    db_url: str, make_app: Callable[..., FastAPI]
) -> None:
    """Many simultaneous feedback requests are each answered 200 and each stored."""
    app = make_app(db_url)
    count = 40
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                *(
                    client.post(URL, json={"feedback": [item(f"card-{i}", "accepted")]})
                    for i in range(count)
                )
            )
    assert [r.status_code for r in responses] == [200] * count
    assert sorted(r["card_uuid"] for r in rows(db_url, feedback)) == sorted(
        f"card-{i}" for i in range(count)
    )
