"""Calls in a row for one patient: each answer follows its own request, never an earlier one."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import hook_request, med_request, ms_condition

SELECT = "/cds-services/ms-order-select"


def _msc_request(hook: str = "order-select", **kwargs: Any) -> dict[str, Any]:
    msc = med_request("msc-1", text="Mesenchymal stem cell infusion")
    return hook_request(hook, drafts=[msc], **kwargs)


def _topics(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [card["source"]["topic"]["code"] for card in response.json()["cards"]]


def test_the_same_record_at_every_hook(client: TestClient) -> None:
    """order-select and order-sign with the same record both warn; patient-view answers."""
    conditions = [ms_condition()]
    select = client.post(SELECT, json=_msc_request(conditions=conditions))
    sign = client.post(
        "/cds-services/ms-order-sign", json=_msc_request("order-sign", conditions=conditions)
    )
    view = client.post(
        "/cds-services/ms-patient-view", json=hook_request("patient-view", conditions=conditions)
    )
    assert _topics(select) == _topics(sign) == ["mscWarning"]
    assert view.status_code == 200


def test_a_changed_record_changes_the_answer(client: TestClient) -> None:
    """Adding, then refuting, the MS diagnosis changes the answer each time."""
    assert _topics(client.post(SELECT, json=_msc_request())) == []
    with_ms = _msc_request(conditions=[ms_condition()])
    assert _topics(client.post(SELECT, json=with_ms)) == ["mscWarning"]
    refuted = ms_condition(verification="entered-in-error")
    assert _topics(client.post(SELECT, json=_msc_request(conditions=[refuted]))) == []


@pytest.mark.parametrize(
    "first",
    ["Baclofen 10 mg", "Copaxone 40 mg"],
    ids=["no-rule-reads-the-record", "a-dmt-order-reads-it"],
)
def test_each_call_judges_its_own_drafts_and_reads_its_own_record(
    client: TestClient, first: str
) -> None:
    """A first order for the same record (baclofen: no rule reads the record; a DMT for
    stable RRMS: no card), then an MSC order: the second call still warns."""
    earlier = hook_request(
        "order-select", drafts=[med_request("d-1", text=first)], conditions=[ms_condition()]
    )
    assert _topics(client.post(SELECT, json=earlier)) == []
    assert _topics(client.post(SELECT, json=_msc_request(conditions=[ms_condition()]))) == [
        "mscWarning"
    ]


def test_an_integer_past_64_bits_in_the_record_is_answered(client: TestClient) -> None:
    """A damaged observation with a huge integer is read leniently: 200, the warning given."""
    body = _msc_request(conditions=[ms_condition()])
    body["prefetch"]["observations"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Observation", "id": "o", "valueInteger": 10**30}}],
    }
    assert _topics(client.post(SELECT, json=body)) == ["mscWarning"]
