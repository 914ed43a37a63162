"""The card model enforces the CDS Hooks card rules."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from cds_hooks import Action, Card, HookResponse, Source, Suggestion, dump
from cds_hooks.cards import prune

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


def test_extension_and_resource_are_pruned_of_empty_values() -> None:
    """null, "", [] and {} anywhere in an extension or an action's resource are dropped,
    recursively; an extension left empty is omitted."""
    card = Card(
        summary="s",
        indicator="info",
        source=SOURCE,
        extension={"org.example.x": {"facts": {"a": [], "b": {"c": None, "d": ""}, "e": [0, []]}}},
    )
    assert dump(card)["extension"] == {"org.example.x": {"facts": {"e": [0]}}}
    empty = Card(summary="s", indicator="info", source=SOURCE, extension={"k": {"a": []}})
    assert "extension" not in dump(empty)
    action = Action(
        type="create",
        description="d",
        resource={"resourceType": "MedicationRequest", "note": [], "subject": {"display": ""}},
    )
    assert action.resource == {"resourceType": "MedicationRequest"}


@pytest.mark.parametrize("field", ["detail", "uuid"])
def test_empty_optional_strings_are_refused(field: str) -> None:
    """An optional text given as "" is refused rather than sent."""
    with pytest.raises(ValidationError):
        Card(summary="s", indicator="info", source=SOURCE, **{field: ""})
    with pytest.raises(ValidationError):
        Source(label="x", url="")


def test_empty_system_actions_are_refused() -> None:
    """A response's systemActions, when given, is a non-empty list."""
    with pytest.raises(ValidationError):
        HookResponse(cards=[], systemActions=[])


class _Text(str):
    """A str subclass (as a StrEnum member is): pruned like any string."""


@pytest.mark.parametrize(
    ("value", "pruned"),
    [
        ({"a": None, "b": "", "c": [], "d": {}}, {}),
        ({"e": [{"x": None}], "f": 0, "g": False}, {"f": 0, "g": False}),
        ([1, "", None, [[]], {"k": "v"}, (None,)], [1, {"k": "v"}]),
        ({"t": ("a", None), "n": {"m": {"l": [None]}}}, {"t": ["a"]}),
        ("text", "text"),
        ({"k": _Text(""), "j": [_Text("x"), _Text("")]}, {"j": ["x"]}),
    ],
)
def test_prune_drops_null_empty_strings_and_containers_left_empty(value: Any, pruned: Any) -> None:
    """prune drops null, "" and containers left empty at any depth; 0 and false stay."""
    assert prune(value) == pruned
