"""CDS Hooks 2.0 feedback bodies -> validated, normalised items.

The spec's shape: {"feedback": [{card, outcome, acceptedSuggestions [{id}], overrideReason
{reason: Coding, userComment}, outcomeTimestamp}]}. Rules enforced (400 otherwise):
`outcome` is accepted|overridden; accepted needs at least one accepted suggestion;
override reasons only with overridden, and accepted suggestions only with accepted.
Bad items raise InvalidInput naming every bad field; more items than the receiver
takes at once raise TooManyItems.

Also accepted, because Epic and others send them: `overrideReasons` (plural; a list or
one object, each either {reason, userComment} or a bare Coding), outcome in any case,
a single item in place of the array, timestamps without a zone (read as UTC), and
`extension` or other extra fields (kept as sent, in `extra`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from cds_hooks.errors import MAX_DIAGNOSTICS, InvalidInput, TooManyItems, describe_error

__all__ = ["FeedbackItem", "OverrideReason", "parse_feedback"]

Outcome = Literal["accepted", "overridden"]


@dataclass(frozen=True, slots=True)
class OverrideReason:
    system: str | None
    code: str | None
    display: str | None
    user_comment: str | None


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    card: str
    outcome: Outcome
    outcome_at: datetime
    accepted_suggestions: tuple[str, ...]
    reasons: tuple[OverrideReason, ...]
    extra: dict[str, Any] | None


# --- wire models (lenient: extra fields allowed and kept) ---------------------------


class _Coding(BaseModel):
    model_config = ConfigDict(extra="allow")

    system: str | None = Field(default=None, max_length=256)
    code: str = Field(min_length=1, max_length=128)
    display: str | None = Field(default=None, max_length=256)


def _reason_shape(value: Any) -> Any:
    """A bare Coding where an OverrideReason belongs (seen in the wild) becomes {reason}."""
    if isinstance(value, dict) and "code" in value and not {"reason", "userComment"} & set(value):
        return {"reason": value}
    return value


class _OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")

    reason: _Coding | None = None
    userComment: str | None = Field(default=None, max_length=4000)


_Reason = Annotated[_OverrideReason, BeforeValidator(_reason_shape)]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class _AcceptedSuggestion(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=128)


class _Item(BaseModel):
    model_config = ConfigDict(extra="allow")

    card: str = Field(min_length=1, max_length=128)
    outcome: str = Field(min_length=1, max_length=32)
    outcomeTimestamp: str = Field(min_length=1, max_length=64)
    acceptedSuggestions: list[_AcceptedSuggestion] | None = None
    overrideReason: _Reason | None = None
    overrideReasons: Annotated[list[_Reason] | None, BeforeValidator(_as_list)] = None
    extension: Any = None


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")

    feedback: Annotated[list[dict[str, Any]], BeforeValidator(_as_list)]


# --- parsing -----------------------------------------------------------------------


def _timestamp(text: str) -> datetime | None:
    """RFC 3339 date-time; a missing zone is read as UTC. None when not a date-time."""
    if len(text) < 16 or text[10] not in "Tt ":
        return None
    try:
        value = datetime.fromisoformat(text.replace("z", "Z"))
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):  # overflow: an instant past year 1 or 9999 in UTC
        return None


def _reasons(item: _Item) -> tuple[OverrideReason, ...]:
    raw = ([item.overrideReason] if item.overrideReason else []) + (item.overrideReasons or [])
    reasons = []
    for r in raw:
        comment = (r.userComment or "").strip() or None
        if r.reason is None and comment is None:
            continue  # an empty object says nothing
        coding = r.reason
        reasons.append(
            OverrideReason(
                system=coding.system if coding else None,
                code=coding.code if coding else None,
                display=coding.display if coding else None,
                user_comment=comment,
            )
        )
    return tuple(reasons)


def _extra(item: _Item) -> dict[str, Any] | None:
    extra = dict(item.model_extra or {})
    if item.extension is not None:
        extra["extension"] = item.extension
    return extra or None


def _item(index: int, raw: dict[str, Any], errors: list[str]) -> FeedbackItem | None:
    where = f"feedback[{index}]"
    try:
        item = _Item.model_validate(raw)
    except ValidationError as exc:
        errors.extend(f"{where}.{describe_error(e)}" for e in exc.errors())
        return None
    outcome = item.outcome.strip().lower()
    outcome_at = _timestamp(item.outcomeTimestamp.strip())
    accepted = tuple(s.id for s in item.acceptedSuggestions or [])
    reasons = _reasons(item)
    before = len(errors)
    if outcome not in ("accepted", "overridden"):
        errors.append(f"{where}.outcome: must be 'accepted' or 'overridden'")
    if outcome_at is None:
        errors.append(f"{where}.outcomeTimestamp: must be an RFC 3339 date-time")
    if outcome == "accepted" and not accepted:
        errors.append(f"{where}.acceptedSuggestions: required when outcome is 'accepted'")
    if outcome == "accepted" and reasons:
        errors.append(f"{where}.overrideReason: allowed only when outcome is 'overridden'")
    if outcome == "overridden" and accepted:
        errors.append(f"{where}.acceptedSuggestions: allowed only when outcome is 'accepted'")
    if len(errors) > before or outcome_at is None:
        return None
    return FeedbackItem(
        card=item.card.strip(),
        outcome="accepted" if outcome == "accepted" else "overridden",
        outcome_at=outcome_at,
        accepted_suggestions=accepted,
        reasons=reasons,
        extra=_extra(item),
    )


def parse_feedback(body: Any, max_items: int) -> list[FeedbackItem]:
    """Validated items of a decoded feedback body, or InvalidInput naming every bad field."""
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    try:
        raw_items = _Body.model_validate(body).feedback
    except ValidationError as exc:
        raise InvalidInput.of(exc) from None
    if len(raw_items) > max_items:
        raise TooManyItems(f"at most {max_items} feedback items per request")
    errors: list[str] = []
    items = [_item(i, raw, errors) for i, raw in enumerate(raw_items)]
    if errors:
        raise InvalidInput(*errors[:MAX_DIAGNOSTICS])
    return [item for item in items if item is not None]
