"""Service definitions as discovery writes them: the spec's fields, optional ones left out."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cds_hooks import DiscoveryResponse, Hook, ServiceDefinition, dump


def test_a_definition_is_written_in_the_spec_order_without_unset_fields() -> None:
    """hook, title, description, id, prefetch; no usageRequirements when unset."""
    service = ServiceDefinition(
        id="s", hook=Hook.PATIENT_VIEW, description="d", prefetch={"p": "Patient/1"}
    )
    document = dump(DiscoveryResponse(services=[service]))
    assert document == {
        "services": [
            {"hook": "patient-view", "description": "d", "id": "s", "prefetch": {"p": "Patient/1"}}
        ]
    }
    assert list(document["services"][0]) == ["hook", "description", "id", "prefetch"]


def test_an_id_is_a_url_path_segment() -> None:
    """A service id with a slash (it would not be one URL segment) is refused."""
    with pytest.raises(ValidationError):
        ServiceDefinition(id="a/b", hook=Hook.ORDER_SIGN, description="d")
