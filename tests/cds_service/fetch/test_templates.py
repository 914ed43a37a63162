"""Prefetch templates: every CDS Hooks 2.0 token, and tokens that cannot be resolved."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.fetch import UnresolvedToken, render

CONTEXT: dict[str, Any] = {
    "patientId": "pat-1",
    "encounterId": "enc-9",
    "userId": "Practitioner/doc-1",
    "count": 3,
    "flag": True,
    "draftOrders": {"resourceType": "Bundle"},
    "selections": ["MedicationRequest/m1"],
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Patient/{{context.patientId}}", "Patient/pat-1"),
        (
            "Observation?patient={{context.patientId}}&encounter={{ context.encounterId }}",
            "Observation?patient=pat-1&encounter=enc-9",
        ),
        ("X?n={{context.count}}&f={{context.flag}}", "X?n=3&f=true"),
        ("Practitioner/{{userPractitionerId}}", "Practitioner/doc-1"),
    ],
)
def test_context_and_user_tokens_render(template: str, expected: str) -> None:
    """First-level primitive context fields and the user tokens are substituted."""
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(
    ("user_id", "token", "expected"),
    [
        ("PractitionerRole/role-2", "userPractitionerRoleId", "role-2"),
        ("Patient/pat-1", "userPatientId", "pat-1"),
        ("RelatedPerson/rp-3", "userRelatedPersonId", "rp-3"),
        ("https://ehr.example/fhir/Practitioner/doc-1", "userPractitionerId", "doc-1"),
    ],
)
def test_user_tokens_derive_from_user_id(user_id: str, token: str, expected: str) -> None:
    """Each user token takes the id of context.userId when it names that resource type."""
    assert render(f"{{{{{token}}}}}", {**CONTEXT, "userId": user_id}) == expected


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("Patient/{{context.missing}}", CONTEXT),
        ("Bundle/{{context.draftOrders}}", CONTEXT),
        ("X?s={{context.selections}}", CONTEXT),
        ("X?s={{context.draftOrders.resourceType}}", CONTEXT),
        ("PractitionerRole/{{userPractitionerRoleId}}", CONTEXT),
        ("Patient/{{userPatientId}}", {**CONTEXT, "userId": None}),
        ("X/{{unknownToken}}", CONTEXT),
        ("X/{{context.patientId}}", {**CONTEXT, "patientId": ""}),
    ],
)
def test_unresolvable_tokens_are_reported(template: str, context: dict[str, Any]) -> None:
    """Absent, non-primitive, nested, mismatched or unknown tokens cannot be rendered."""
    with pytest.raises(UnresolvedToken):
        render(template, context)


def test_values_cannot_reshape_the_url() -> None:
    """A context value with /, ? or & is percent-encoded, never a new segment or parameter."""
    rendered = render(
        "Condition?patient={{context.patientId}}", {"patientId": "1&_include=*/../x?y"}
    )
    assert rendered == "Condition?patient=1%26_include%3D%2A%2F..%2Fx%3Fy"
