"""The one form of a hookInstance the service writes anywhere (log lines, the card ledger).

The spec says a hookInstance is a UUID; clients send version 4 (the sandbox) and
version 1 (Epic), some with the `urn:uuid:` prefix or in upper case. A UUID is written
in its canonical form (lower case, no prefix); anything else as `not-a-uuid`: a value
that is not a UUID may hold a name, and one with a line break would split a log line.
"""

from __future__ import annotations

import re

__all__ = ["NOT_A_UUID", "canonical_hook_instance"]

NOT_A_UUID = "not-a-uuid"
# Any version and variant. Matched with fullmatch: `$` would let "<uuid>\n" through.
_UUID = re.compile(
    r"(?:[uU][rR][nN]:[uU][uU][iI][dD]:)?([0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})"
)


def canonical_hook_instance(value: object) -> str:
    """The UUID of a hookInstance in canonical form, else NOT_A_UUID."""
    if isinstance(value, str):
        match = _UUID.fullmatch(value)
        if match is not None:
            return match.group(1).lower()
    return NOT_A_UUID
