"""CDS Hooks 2.0 cards and what they carry, enforcing the spec's card rules.

A hook call answers `HookResponse`; serialise any of these with `cds_hooks.dump`
(optional fields omitted, never null or []).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cds_hooks.base import WireModel

__all__ = ["Action", "Card", "Coding", "HookResponse", "Link", "Source", "Suggestion"]


class Coding(WireModel):
    system: str | None = None
    code: str
    display: str | None = None


class Source(WireModel):
    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(WireModel):
    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _target(self) -> Action:
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"a {self.type} action needs a resource")
        if self.type == "delete" and not self.resourceId:
            raise ValueError("a delete action needs a resourceId")
        return self


class Suggestion(WireModel):
    label: str = Field(min_length=1)
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = Field(default=None, min_length=1)


class Link(WireModel):
    label: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    type: Literal["absolute", "smart"]
    appContext: str | None = None


class Card(WireModel):
    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=139)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = Field(default=None, min_length=1)
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = Field(default=None, min_length=1)
    links: list[Link] | None = Field(default=None, min_length=1)
    extension: dict[str, Any] | None = None

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
    systemActions: list[Action] | None = None
