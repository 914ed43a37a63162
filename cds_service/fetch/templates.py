"""CDS Hooks 2.0 prefetch template tokens -> relative FHIR URLs.

Tokens: `{{context.X}}` for a first-level primitive context field, and
`{{userPractitionerId}}`, `{{userPractitionerRoleId}}`, `{{userPatientId}}`,
`{{userRelatedPersonId}}`, the id part of `context.userId` ("Practitioner/123")
when it names that resource type. Values are percent-encoded, so a context value
can never add a path segment or a query parameter to the URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["UnresolvedToken", "render"]

_TOKEN = re.compile(r"\{\{\s*([^{}\s]*)\s*\}\}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
_USER_ID = re.compile(
    r"(?:^|/)(Practitioner|PractitionerRole|Patient|RelatedPerson)/([A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?$"
)


class UnresolvedToken(Exception):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token[:64]


def render(template: str, context: Mapping[str, Any]) -> str:
    """The template with every token replaced; UnresolvedToken names the first that cannot be."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        value = _value(token, context)
        if value is None:
            raise UnresolvedToken(token)
        return quote(value, safe="")

    return _TOKEN.sub(replace, template)


def _value(token: str, context: Mapping[str, Any]) -> str | None:
    if token.startswith("context."):
        field = token.removeprefix("context.")
        if "." in field:
            return None  # first-level fields only
        return _primitive(context.get(field))
    expected = _USER_TOKENS.get(token)
    user_id = context.get("userId")
    if expected is None or not isinstance(user_id, str):
        return None
    match = _USER_ID.search(user_id)
    if match is None or match.group(1) != expected:
        return None
    return match.group(2)


def _primitive(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value:
        return value
    return None
