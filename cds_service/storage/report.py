"""Override analytics per card topic: the figures behind `ms-cds report` and /analytics/cards.

Feedback is matched to the ledger at report time (so feedback that arrived before its
card's ledger entry was written still counts under its topic); feedback whose card the
ledger does not know is reported apart, under `unknownCards`. `since` filters cards by
issue time and feedback by receipt time. Feedback from a client other than the one the
ledger says a card was sent to is left out (issue 17 #8).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, true

from cds_service.storage.schema import card_ledger, feedback, feedback_reason

__all__ = ["card_report", "parse_since"]

NO_TOPIC = "-"


def parse_since(text: str) -> datetime:
    """The instant an ISO 8601 date (midnight UTC) or date-time names (no zone: UTC).

    ValueError when it is neither."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    value = datetime.fromisoformat(text)
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # the instant falls before year 1 or after 9999 in UTC
        raise ValueError("outside the representable range") from None


def _figures() -> dict[str, Any]:
    return {
        "feedbackReceived": 0,
        "accepted": 0,
        "overridden": 0,
        "overrideReasons": [],
        "comments": 0,
    }


def card_report(engine: Engine, since: datetime | None = None) -> dict[str, Any]:
    issued_filter = card_ledger.c.issued_at >= since if since else true()
    received = feedback.c.received_at >= since if since else true()
    # Feedback from a client other than the one a card was sent to never counts (the
    # feedback route refuses it; this covers feedback stored before the card's entry).
    own = or_(
        card_ledger.c.id.is_(None),
        card_ledger.c.client == "",
        card_ledger.c.client == feedback.c.client,
    )
    received_filter = and_(received, own)
    joined = feedback.outerjoin(card_ledger, card_ledger.c.card_uuid == feedback.c.card_uuid)
    known = card_ledger.c.id.is_not(None).label("known")
    topic = card_ledger.c.topic
    with engine.connect() as connection:
        issued = connection.execute(
            select(topic, func.count()).where(issued_filter).group_by(topic)
        ).all()
        outcomes = connection.execute(
            select(topic, known, feedback.c.outcome, func.count())
            .select_from(joined)
            .where(received_filter)
            .group_by(topic, known, feedback.c.outcome)
        ).all()
        reasons = connection.execute(
            select(
                topic,
                known,
                feedback_reason.c.system,
                feedback_reason.c.code,
                func.max(feedback_reason.c.display),
                func.count(),
            )
            .select_from(joined.join(feedback_reason))
            .where(and_(received_filter, feedback_reason.c.code.is_not(None)))
            .group_by(topic, known, feedback_reason.c.system, feedback_reason.c.code)
        ).all()
        comments = connection.execute(
            select(topic, known, func.count(func.distinct(feedback.c.id)))
            .select_from(joined.join(feedback_reason))
            .where(and_(received_filter, feedback_reason.c.user_comment.is_not(None)))
            .group_by(topic, known)
        ).all()

    topics: dict[str, dict[str, Any]] = defaultdict(lambda: {"cardsIssued": 0, **_figures()})
    unknown = _figures()

    def figures(topic_code: str | None, is_known: bool) -> dict[str, Any]:
        return topics[topic_code or NO_TOPIC] if is_known else unknown

    for code, count in issued:
        topics[code or NO_TOPIC]["cardsIssued"] = count
    for code, is_known, outcome, count in outcomes:
        entry = figures(code, is_known)
        entry["feedbackReceived"] += count
        entry[outcome] += count
    for code, is_known, system, reason_code, display, count in reasons:
        entry = figures(code, is_known)
        entry["overrideReasons"].append(
            {"system": system, "code": reason_code, "display": display, "count": count}
        )
    for code, is_known, count in comments:
        figures(code, is_known)["comments"] = count
    for entry in [*topics.values(), unknown]:
        entry["overrideReasons"].sort(key=lambda r: (-r["count"], r["code"], r["system"] or ""))
    return {
        "since": since.isoformat() if since else None,
        "topics": [{"topic": name, **topics[name]} for name in sorted(topics)],
        "unknownCards": unknown,
    }
