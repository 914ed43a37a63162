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

__all__ = ["SaveResult", "item_key", "save_feedback"]


@dataclass(frozen=True, slots=True)
class SaveResult:
    received: int
    stored: int
    duplicates: int
    unknown_cards: int


def item_key(item: FeedbackItem, service_id: str) -> str:
    """The item's identity: the same item sent twice has the same key (stored once).

    Service, card, outcome, instant (UTC), accepted suggestion ids (as a set) and
    override reasons (system, code, comment; as a set). Display text and extensions
    are not part of it.
    """
    identity = [
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
    engine: Engine, service_id: str, items: Sequence[FeedbackItem], received_at: datetime
) -> SaveResult:
    """Store the items; returns once committed. Raises SQLAlchemyError when it cannot."""
    if not items:
        return SaveResult(0, 0, 0, 0)
    cards = {item.card for item in items}
    stored = unknown = 0
    with engine.begin() as connection:
        known = set(
            connection.scalars(
                select(card_ledger.c.card_uuid).where(card_ledger.c.card_uuid.in_(cards))
            )
        )
        insert = insert_ignore(connection, feedback, ["item_key"]).returning(feedback.c.id)
        for item in items:
            row_id = connection.scalar(
                insert,
                {
                    "item_key": item_key(item, service_id),
                    "service_id": service_id,
                    "card_uuid": item.card,
                    "outcome": item.outcome,
                    "outcome_at": item.outcome_at,
                    "received_at": received_at,
                    "card_known": item.card in known,
                    "accepted_suggestions": list(item.accepted_suggestions),
                    "extra": item.extra,
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
