"""Issue 17 finding 8: feedback belongs to the client a card was sent to. Another client
(another issuer, or another client id of the same issuer) can neither mark it nor pre-empt
its owner's item as a duplicate, and never counts in the analytics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_hooks import parse_feedback
from cds_service.auth import ClientIdentity
from cds_service.storage.feedback_store import ForeignCard, save_feedback
from cds_service.storage.report import card_report
from cds_service.storage.schema import card_ledger, feedback
from tests.builders import hook_request, med_request, ms_condition
from tests.jwt_support import (
    ISSUER,
    PUBLIC_BASE_URL,
    STATIC_ISSUERS,
    STATIC_SIGNER,
    bearer,
    claims,
    es384,
    jwks,
    production_settings,
)
from tests.storage_helpers import item, migrated, rows

SERVICE = "/cds-services/ms-order-sign"
FEEDBACK = SERVICE + "/feedback"
OTHER_ISSUER = "https://other-ehr.example.org"
OTHER = es384("other-1")


def token(path: str, issuer: str = ISSUER, sub: str | None = "hospital-app") -> dict[str, str]:
    signer = STATIC_SIGNER if issuer == ISSUER else OTHER
    return bearer(signer.token(claims(aud=PUBLIC_BASE_URL + path, iss=issuer, sub=sub)))


@pytest.fixture
def client(sqlite_url: str, app_factory: Callable[..., FastAPI]) -> TestClient:
    settings = production_settings(
        database_url=sqlite_url,
        database_migrate_on_startup=True,
        ledger_write_interval_seconds=0,
        trusted_issuers={**STATIC_ISSUERS, OTHER_ISSUER: {"jwks": jwks(OTHER)}},
    )
    return TestClient(app_factory(settings))


def msc_card(client: TestClient) -> str:
    """The uuid of the MSC warning the hospital's client gets for an MSC order."""
    drafts = [med_request("d1", "Mesenchymal stem cell infusion")]
    body = hook_request("order-sign", drafts, conditions=[ms_condition()])
    response = client.post(SERVICE, json=body, headers=token(SERVICE))
    assert response.status_code == 200, response.text
    uuids: list[str] = [card["uuid"] for card in response.json()["cards"]]
    assert uuids
    return uuids[0]


@pytest.mark.parametrize(
    ("issuer", "sub"),
    [(OTHER_ISSUER, "hospital-app"), (ISSUER, "another-app"), (ISSUER, None)],
)
def test_another_client_cannot_give_feedback_on_a_card(
    client: TestClient, sqlite_url: str, issuer: str, sub: str | None
) -> None:
    """Feedback on a card from another issuer or client id is a 403 naming the item, and
    nothing of that request is stored; the owner's own item is then stored, not a duplicate."""
    with client:
        card = msc_card(client)
        body = {"feedback": [item(card, "accepted")]}
        foreign = client.post(FEEDBACK, json=body, headers=token(FEEDBACK, issuer, sub))
        assert foreign.status_code == 403, foreign.text
        assert "feedback[0].card: this card was sent to another client" in foreign.text
        assert rows(sqlite_url, feedback) == []
        own = client.post(FEEDBACK, json=body, headers=token(FEEDBACK))
    assert own.status_code == 200, own.text
    assert own.json() == {"received": 1, "stored": 1, "duplicates": 0, "unknownCards": 0}


def test_ledger_and_feedback_record_the_client(client: TestClient, sqlite_url: str) -> None:
    """The card ledger and each feedback item keep the verified client (iss, sub, tenant)."""
    with client:
        card = msc_card(client)
        client.post(FEEDBACK, json={"feedback": [item(card)]}, headers=token(FEEDBACK))
    owner = ClientIdentity(ISSUER, "static-1", "j", 0.0, None, "hospital-app").owner
    assert {r["client"] for r in rows(sqlite_url, card_ledger)} == {owner}
    assert [r["client"] for r in rows(sqlite_url, feedback)] == [owner]


def items(*bodies: dict[str, Any]) -> list[Any]:
    return parse_feedback({"feedback": list(bodies)}, 10)


def test_foreign_feedback_stored_before_the_card_never_counts(sqlite_url: str) -> None:
    """Feedback another client sent before the card's ledger entry was written neither
    pre-empts the owner's item as a duplicate nor counts in the report."""
    now = datetime.now(UTC)
    with migrated(sqlite_url) as engine:
        early = save_feedback(engine, "ms-order-sign", items(item("c-1")), now, "intruder")
        own = save_feedback(engine, "ms-order-sign", items(item("c-1")), now, "hospital")
        with engine.begin() as connection:
            connection.execute(
                card_ledger.insert(),
                {
                    "card_uuid": "c-1",
                    "service_id": "ms-order-sign",
                    "topic": "msc-order",
                    "hook_instance": "h",
                    "issued_at": now,
                    "knowledge_version": "1",
                    "client": "hospital",
                },
            )
        with pytest.raises(ForeignCard):
            save_feedback(engine, "ms-order-sign", items(item("c-1", "accepted")), now, "intruder")
        report = card_report(engine)
    assert (early.stored, own.stored, own.duplicates) == (1, 1, 0)
    [topic] = report["topics"]
    assert (topic["topic"], topic["feedbackReceived"], topic["overridden"]) == ("msc-order", 1, 1)
    assert report["unknownCards"]["feedbackReceived"] == 0
