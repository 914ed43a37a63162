"""Feedback bodies: the spec's shape, the variants EHRs send, and errors naming every field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cds_hooks import InvalidInput, TooManyItems, parse_feedback


def _item(**fields: Any) -> dict[str, Any]:
    return {
        "card": "c-1",
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-25T10:00:00Z",
        **fields,
    }


def test_an_override_with_a_bare_coding_reason() -> None:
    """A bare Coding where an overrideReason belongs (seen in the wild) is its reason."""
    [item] = parse_feedback(
        {"feedback": [_item(overrideReason={"code": "trial", "system": "urn:x"})]}, 10
    )
    assert item.outcome == "overridden"
    assert (item.reasons[0].system, item.reasons[0].code) == ("urn:x", "trial")
    assert item.outcome_at == datetime(2026, 11, 25, 10, tzinfo=UTC)


def test_one_item_in_place_of_the_array_and_a_timestamp_without_zone() -> None:
    """A single object for `feedback`, outcome in capitals, no zone (read as UTC)."""
    body = {"feedback": _item(outcome="Accepted", acceptedSuggestions=[{"id": "s-1"}])}
    body["feedback"]["outcomeTimestamp"] = "2026-11-25T10:00:00"
    [item] = parse_feedback(body, 10)
    assert item.outcome == "accepted" and item.accepted_suggestions == ("s-1",)
    assert item.outcome_at.tzinfo is UTC


def test_every_bad_field_is_named() -> None:
    """A bad outcome and a bad timestamp in different items: both named by position."""
    body = {"feedback": [_item(outcome="maybe"), _item(outcomeTimestamp="yesterday")]}
    with pytest.raises(InvalidInput) as caught:
        parse_feedback(body, 10)
    assert caught.value.diagnostics == [
        "feedback[0].outcome: must be 'accepted' or 'overridden'",
        "feedback[1].outcomeTimestamp: must be an RFC 3339 date-time",
    ]


def test_accepted_needs_a_suggestion() -> None:
    """An accepted outcome without accepted suggestions breaks the spec's rule."""
    with pytest.raises(InvalidInput, match="acceptedSuggestions"):
        parse_feedback({"feedback": [_item(outcome="accepted")]}, 10)


def test_more_items_than_accepted_at_once() -> None:
    """Past the receiver's limit the body is refused as a whole."""
    with pytest.raises(TooManyItems, match="at most 2"):
        parse_feedback({"feedback": [_item(), _item(), _item()]}, 2)
