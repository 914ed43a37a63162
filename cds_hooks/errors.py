"""What is wrong with a body, field by field: the wire format's exceptions.

    WireError           the body is not what CDS Hooks asks for
     ├── InvalidInput   a field missing, of the wrong type, or breaking a spec rule
     └── TooManyItems   more feedback items than the receiver accepts at once

Diagnostics name fields and reasons ("context.patientId: Field required"), never
values: a value can be PHI. The HTTP edge answers InvalidInput with 400 and
TooManyItems with 413, both as OperationOutcomes.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

__all__ = ["MAX_DIAGNOSTICS", "InvalidInput", "TooManyItems", "WireError", "describe_error"]

# One answer names at most this many problems.
MAX_DIAGNOSTICS = 20


class WireError(ValueError):
    def __init__(self, *diagnostics: str, expressions: list[str] | None = None) -> None:
        super().__init__("; ".join(diagnostics))
        self.diagnostics = list(diagnostics) or [self.__class__.__name__]
        self.expressions = expressions


class InvalidInput(WireError):
    """A field is missing, has the wrong type, or breaks a rule of the spec."""

    @classmethod
    def of(cls, exc: ValidationError, prefix: str = "") -> InvalidInput:
        """The pydantic errors as diagnostics, each prefixed (e.g. "context.")."""
        return cls(*[prefix + describe_error(e) for e in exc.errors()][:MAX_DIAGNOSTICS])


class TooManyItems(WireError):
    """More items in one body than the receiver accepts."""


# What pydantic puts before the message of a ValueError or assert raised in a validator.
_LIBRARY_PREFIXES = ("Value error, ", "Assertion failed, ")


def describe_error(error: Any) -> str:
    """'context.patientId: Field required' from a pydantic error, without its input value
    or pydantic's own prefix ("Value error, ")."""
    loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    msg = str(error.get("msg", "invalid"))
    for prefix in _LIBRARY_PREFIXES:
        msg = msg.removeprefix(prefix)
    return f"{loc}: {msg}" if loc else msg
