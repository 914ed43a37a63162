"""Feedback items -> rows, in one transaction, each distinct item exactly once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from cds_hooks import FeedbackItem
from cds_service.storage.schema import card_ledger, feedback, feedback_reason
from cds_service.storage.sql import insert_ignore

__all__ = ["ForeignCard", "SaveResult", "item_key", "save_feedback"]


class ForeignCard(Exception):
    """An item is about a card the ledger says was sent to another client: nothing of
    the request is stored. `index` is the first such item's position."""

    def __init__(self, index: int) -> None:
        super().__init__(f"feedback[{index}]")
        self.index = index


@dataclass(frozen=True, slots=True)
class SaveResult:
    received: int
    stored: int
    duplicates: int
    unknown_cards: int


def item_key(item: FeedbackItem, service_id: str, client: str = "") -> str:
    """The item's identity: the same item sent twice has the same key (stored once).

    Client, service, card, outcome, instant (UTC), accepted suggestion ids (as a set)
    and override reasons (system, code, comment; as a set). Display text and extensions
    are not part of it. The client is, so that another client's copy of an item can
    never make the owner's own item a duplicate.
    """
    identity = [
        client,
        service_id,
        item.card,
        item.outcome,
        item.outcome_at.isoformat(),
        sorted(set(item.accepted_suggestions)),
        sorted({(r.system or "", r.code or "", r.user_comment or "") for r in item.reasons}),
    ]
    canonical = json.dumps(identity, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def save_feedback(
    engine: Engine,
    service_id: str,
    items: Sequence[FeedbackItem],
    received_at: datetime,
    client: str = "",
) -> SaveResult:
    """Store the items from `client` (`auth.ClientIdentity.owner`; "" in development);
    returns once committed. Raises ForeignCard, storing nothing, when an item is about a
    card the ledger says was sent to another client (a ledger entry without a client,
    written before clients were recorded, accepts anyone's); SQLAlchemyError when it
    cannot store."""
    if not items:
        return SaveResult(0, 0, 0, 0)
    cards = {item.card for item in items}
    stored = unknown = 0
    with engine.begin() as connection:
        found = connection.execute(
            select(card_ledger.c.card_uuid, card_ledger.c.client).where(
                card_ledger.c.card_uuid.in_(cards)
            )
        )
        owners: dict[str, str] = {uuid: owner for uuid, owner in found}
        for index, item in enumerate(items):
            owner = owners.get(item.card)
            if owner and owner != client:
                raise ForeignCard(index)
        known = set(owners)
        insert = insert_ignore(connection, feedback, ["item_key"]).returning(feedback.c.id)
        for item in items:
            row_id = connection.scalar(
                insert,
                {
                    "item_key": item_key(item, service_id, client),
                    "service_id": service_id,
                    "card_uuid": item.card,
                    "outcome": item.outcome,
                    "outcome_at": item.outcome_at,
                    "received_at": received_at,
                    "card_known": item.card in known,
                    "accepted_suggestions": list(item.accepted_suggestions),
                    "extra": item.extra,
                    "client": client,
                },
            )
            if row_id is None:
                continue  # the same item, already stored
            stored += 1
            unknown += item.card not in known
            if item.reasons:
                connection.execute(
                    feedback_reason.insert(),
                    [
                        {
                            "feedback_id": row_id,
                            "system": r.system,
                            "code": r.code,
                            "display": r.display,
                            "user_comment": r.user_comment,
                        }
                        for r in item.reasons
                    ],
                )
    return SaveResult(len(items), stored, len(items) - stored, unknown)
