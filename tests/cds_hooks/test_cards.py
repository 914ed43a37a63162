"""The card model enforces the CDS Hooks card rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cds_hooks import Action, Card, Source, Suggestion, dump

SOURCE = Source(label="test")


def test_summary_must_be_under_140_characters() -> None:
    """A summary of 140 characters is refused; 139 is accepted."""
    Card(summary="x" * 139, indicator="info", source=SOURCE)
    with pytest.raises(ValidationError):
        Card(summary="x" * 140, indicator="info", source=SOURCE)


def test_suggestions_require_selection_behavior() -> None:
    """Suggestions without selectionBehavior are refused."""
    action = Action(type="delete", description="remove", resourceId="MedicationRequest/1")
    suggestion = Suggestion(label="remove", actions=[action])
    with pytest.raises(ValidationError, match="selectionBehavior"):
        Card(summary="s", indicator="info", source=SOURCE, suggestions=[suggestion])


def test_create_action_needs_a_resource() -> None:
    """A create action without a resource is refused."""
    with pytest.raises(ValidationError):
        Action(type="create", description="create")


def test_dump_omits_nulls_and_empty_lists() -> None:
    """Serialised cards carry no null or empty optional fields."""
    card = Card(summary="s", indicator="warning", source=SOURCE)
    assert dump(card) == {"summary": "s", "indicator": "warning", "source": {"label": "test"}}


def test_empty_lists_are_refused() -> None:
    """An empty suggestions, links or overrideReasons list is refused, not serialised."""
    with pytest.raises(ValidationError):
        Card(summary="s", indicator="info", source=SOURCE, links=[])
