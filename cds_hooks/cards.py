"""CDS Hooks 2.0 cards and what they carry, enforcing the spec's card rules.

A hook call answers `HookResponse`; serialise any of these with `cds_hooks.dump`
(optional fields omitted, never null or []).

No empty value ever reaches a client (Epic and strict validators refuse `null`, `""`,
`[]` and `{}` anywhere in a card): optional strings and lists must be non-empty when
given, and the two free-form JSON members (a card's `extension`, an action's FHIR
`resource`) are pruned of empty values, recursively, when the model is built. FHIR
itself forbids empty elements, so pruning a resource never changes its meaning; an
extension left with nothing is omitted.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from cds_hooks.base import WireModel

__all__ = ["Action", "Card", "Coding", "HookResponse", "Link", "Source", "Suggestion", "prune"]

Text = Annotated[str, Field(min_length=1)]


_CONTAINERS = (dict, list, tuple)


def prune(value: Any) -> Any:
    """`value` without null, "", [] or {} at any depth (containers left empty go too)."""
    # Most members are plain strings: tested first, by exact type (a str subclass takes
    # the general path).
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item.__class__ is str:
                if item:
                    out[key] = item
            elif isinstance(item, _CONTAINERS):
                item = prune(item)
                if item:
                    out[key] = item
            elif item is not None and item != "":
                out[key] = item
        return out
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            if item.__class__ is str:
                if item:
                    items.append(item)
            elif isinstance(item, _CONTAINERS):
                item = prune(item)
                if item:
                    items.append(item)
            elif item is not None and item != "":
                items.append(item)
        return items
    return value


class Coding(WireModel):
    system: Text | None = None
    code: Text
    display: Text | None = None


class Source(WireModel):
    label: Text
    url: Text | None = None
    icon: Text | None = None
    topic: Coding | None = None


class Action(WireModel):
    type: Literal["create", "update", "delete"]
    description: Text
    resource: dict[str, Any] | None = None
    resourceId: Text | None = None

    @field_validator("resource", mode="before")
    @classmethod
    def _pruned(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return prune(value) or None
        return value

    @model_validator(mode="after")
    def _target(self) -> Action:
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"a {self.type} action needs a resource")
        if self.type == "delete" and not self.resourceId:
            raise ValueError("a delete action needs a resourceId")
        return self


class Suggestion(WireModel):
    label: Text
    uuid: Text | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = Field(default=None, min_length=1)


class Link(WireModel):
    label: Text
    url: str = Field(pattern=r"^https?://")
    type: Literal["absolute", "smart"]
    appContext: Text | None = None


class Card(WireModel):
    uuid: Text | None = None
    summary: str = Field(min_length=1, max_length=139)
    detail: Text | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = Field(default=None, min_length=1)
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = Field(default=None, min_length=1)
    links: list[Link] | None = Field(default=None, min_length=1)
    extension: dict[str, Any] | None = None

    @field_validator("extension", mode="before")
    @classmethod
    def _pruned(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return prune(value) or None
        return value

    @model_validator(mode="after")
    def _selection_behavior(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when suggestions are present")
        return self

    @property
    def topic(self) -> str | None:
        return self.source.topic.code if self.source.topic else None


class HookResponse(WireModel):
    """The body of a hook call's answer."""

    cards: list[Card]
    systemActions: list[Action] | None = Field(default=None, min_length=1)
