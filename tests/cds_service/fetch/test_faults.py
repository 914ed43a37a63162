"""Fault injection for FHIR fetching, through the whole app: every prefetch key the
client left out is fetched from a server that times out, resets, drips slowly,
hangs, or answers garbage. The answer is a 200 (a 412 only when the patient
itself cannot be had), never a 500, no error is logged, within the deadline, and
the MSC warning is never lost to a fault in unrelated data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from cds_service.fetch import guard as fhir_guard
from tests import builders as b
from tests.fhir_fakes import BASE, fetch_request, public_resolver, search_bundle
from tests.harness import Harness, msc_card_orders
from tests.strategies import encode, junk

pytestmark = pytest.mark.fuzz

KEYS = {
    "patient": f"/Patient/{b.PATIENT_ID}",
    "conditions": "/Condition",
    "medicationRequests": "/MedicationRequest",
    "medicationStatements": "/MedicationStatement",
    "observations": "/Observation",
    "procedures": "/Procedure",
}
FHIR_JSON = {"content-type": "application/fhir+json"}
CALL_TIMEOUT = 0.2


async def _drip(chunks: int, pause: float) -> AsyncIterator[bytes]:
    """A body that arrives a few bytes at a time, slower than the call timeout allows."""
    yield b'{"resourceType": "Bundle", "type": "searchset", "entry": ['
    for _ in range(chunks):
        await asyncio.sleep(pause)
        yield b" "
    yield b"]}"


async def _hang(request: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()  # never set: only the deadline ends this
    raise AssertionError("unreachable")


def _content(raw: bytes, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, content=raw, headers=FHIR_JSON)


def _good(key: str) -> Any:
    if key == "patient":
        return b.patient()
    if key == "conditions":
        return search_bundle(b.ms_condition("ms-fetched"))
    return search_bundle(b.condition("x-1", text="Migraine"))


DEEP_RESOURCE = (
    b'{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Condition", '
    b'"id": "deep", "extension": ' + b'[{"url": "x", "extension": ' * 490 + b"[]" + b"}]" * 490
)
DEEP_RESOURCE += b"}}]}"
HUGE_INTEGER = b'{"resourceType": "Bundle", "total": 1' + b"0" * 5000 + b"}"

# name -> side effect for the route (a callable taking the request), given the key.
FAULTS: dict[str, Callable[[str], Any]] = {
    "ok": lambda key: lambda request: httpx.Response(200, json=_good(key), headers=FHIR_JSON),
    "timeout": lambda key: httpx.ReadTimeout("timed out"),
    "connect-refused": lambda key: httpx.ConnectError("connection refused"),
    "reset": lambda key: httpx.ReadError("connection reset by peer"),
    "half-closed": lambda key: httpx.RemoteProtocolError("peer closed connection mid-body"),
    "slow-drip": lambda key: (
        lambda request: httpx.Response(200, content=_drip(20, CALL_TIMEOUT / 4), headers=FHIR_JSON)
    ),
    "hang": lambda key: _hang,
    "http-500": lambda key: _content(b"Internal Server Error", 500),
    "http-429": lambda key: _content(b'{"resourceType": "OperationOutcome"}', 429),
    "redirect-loop": lambda key: (
        lambda request: httpx.Response(302, headers={"location": str(request.url)})
    ),
    "next-page-loop": lambda key: (
        lambda request: httpx.Response(
            200,
            json={**search_bundle(), "link": [{"relation": "next", "url": str(request.url)}]},
            headers=FHIR_JSON,
        )
    ),
    "truncated": lambda key: _content(encode(_good(key))[:-7]),
    "invalid-utf8": lambda key: _content(b'{"resourceType": "Bundle", "id": "\xff\xfe"}'),
    "lone-surrogate": lambda key: _content(
        b'{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Condition",'
        b' "id": "c\\ud800", "code": {"text": "Multiple sclerosis\\udfff"}}}]}'
    ),
    "huge-integer": lambda key: _content(
        b'{"resourceType": "Bundle", "total": 1' + b"0" * 5000 + b"}"
    ),
    "deep-json": lambda key: _content(b"[" * 5000 + b"]" * 5000),
    "deep-resource": lambda key: _content(DEEP_RESOURCE),
    "wrong-shapes": lambda key: _content(
        b'{"resourceType": "Bundle", "entry": [null, 5, "x", {"resource": "x"},'
        b' {"resource": {"resourceType": 5}}, {"resource": {"resourceType": "Condition",'
        b' "code": "multiple sclerosis", "clinicalStatus": 7}}]}'
    ),
    "stu3-patient": lambda key: _content(
        b'{"resourceType": "Patient", "id": "pat-1", "birthDate": 19900412, "animal": {}}'
    ),
    "binary": lambda key: _content(bytes(range(256)) * 4),
}


@pytest.fixture(scope="module")
def faulty() -> Iterator[Harness]:
    """A production-like app (short timeouts) whose FHIR server host resolves publicly."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fhir_guard, "resolve_host", public_resolver)
        settings = {
            "fhir_call_timeout": CALL_TIMEOUT,
            "fhir_deadline": 1.0,
            "fhir_max_pages": 3,
            "ledger_shutdown_timeout": 0,
        }
        with Harness(**settings) as harness:
            yield harness


@st.composite
def fault_plans(draw: st.DrawFn) -> tuple[dict[str, str], bool, dict[str, Any]]:
    """(fault per fetched key, whether conditions are sent in prefetch, extra junk routes)."""
    sent_conditions = draw(st.booleans())
    keys = [k for k in KEYS if not (sent_conditions and k == "conditions")]
    names = sorted(FAULTS)
    plan = {key: draw(st.sampled_from(names)) for key in keys}
    return plan, sent_conditions, {"junk": draw(junk)}


@given(case=fault_plans())
def test_fetch_faults_never_cost_the_msc_warning(
    faulty: Harness, case: tuple[dict[str, str], bool, dict[str, Any]]
) -> None:
    """Any mix of FHIR server faults: 200 with the MSC warning, or 412 for the patient only."""
    plan, sent_conditions, _ = case
    order = b.med_request(
        "msc-1", text="Mesenchymal stromal cells", reasonCode=[{"text": "multiple sclerosis"}]
    )
    prefetch = {"conditions": b.bundle(b.ms_condition())} if sent_conditions else {}
    body = fetch_request(*plan, hook="order-select", **prefetch)
    body["context"]["draftOrders"] = b.bundle(order, kind="collection")
    body["context"]["selections"] = ["MedicationRequest/msc-1"]
    with respx.mock(base_url=BASE, assert_all_called=False) as fhir:
        for key, fault in plan.items():
            fhir.get(KEYS[key]).mock(side_effect=FAULTS[fault](key))
        response = faulty.post("fetch-faults", "ms-order-select", encode(body), "application/json")
    answer = faulty.check(response)
    if answer is None:
        assert response.status_code == 412, response.text
        assert plan["patient"] != "ok"
        assert response.json()["issue"][0]["expression"] == ["prefetch.patient"]
        return
    assert msc_card_orders(answer) == ["MedicationRequest/msc-1"]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fetch_fault_alone(faulty: Harness, fault: str) -> None:
    """Each fault on every optional key at once: still a 200 with the MSC warning."""
    order = b.med_request("msc-1", text="MSC infusion")
    optional = [k for k in KEYS if k not in ("patient", "conditions")]
    body = fetch_request(*optional, hook="order-sign", conditions=b.bundle(b.ms_condition()))
    body["context"]["draftOrders"] = b.bundle(order, kind="collection")
    with respx.mock(base_url=BASE, assert_all_called=False) as fhir:
        for key in optional:
            fhir.get(KEYS[key]).mock(side_effect=FAULTS[fault](key))
        response = faulty.post("fetch-faults", "ms-order-sign", encode(body), "application/json")
        if fault != "hang":  # a call is recorded when it returns
            assert {call.request.url.path for call in fhir.calls} >= {
                f"/r4{KEYS[key]}" for key in optional
            }
    answer = faulty.check(response)
    assert answer is not None, response.text
    assert msc_card_orders(answer) == ["MedicationRequest/msc-1"]
