"""Prefetch values stay undecoded until a rule needs the record; decoding then is unchanged."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.errors import BadRequest
from cds_service.jsonio import decode_json
from cds_service.lazyjson import LazyValues, RawJson, split_object
from cds_service.limits import decode_checked, decode_hook_body
from cds_service.pipeline import run_service
from cds_service.protocol import parse_request
from cds_service.services import SERVICES
from tests.builders import bundle, hook_request, med_request, ms_condition, service_request
from tests.conftest import make_settings
from tests.strategies import encode, request_bodies

TODAY = date(2026, 11, 25)
MAX_DEPTH, KEEP = 256, 64


def _materialized(value: Any) -> Any:
    """`value` with every RawJson decoded (what the lazy body stands for)."""
    if isinstance(value, RawJson):
        return value.value
    if isinstance(value, dict):
        return {k: _materialized(v) for k, v in value.items()}
    return value


def _decode_old_way(raw: bytes) -> Any:
    try:
        return ("ok", decode_checked(raw, MAX_DEPTH, KEEP))
    except BadRequest as exc:
        return ("400", exc.diagnostics)


def _decode_lazily(raw: bytes) -> Any:
    try:
        return ("ok", _materialized(decode_hook_body(raw, MAX_DEPTH, KEEP)))
    except BadRequest as exc:
        return ("400", exc.diagnostics)


@settings(deadline=None, max_examples=150)
@given(request_bodies())
def test_any_body_decodes_to_the_same_value_or_the_same_400(
    generated: tuple[str, bytes, str],
) -> None:
    """Decoded member by member, prefetch values on demand, any body is what it was whole."""
    _, raw, _ = generated
    old, lazy = _decode_old_way(raw), _decode_lazily(raw)
    assert lazy[0] == old[0]
    # json.dumps: canonical for NaN, integers past 64 bits and escaped surrogates too.
    assert json.dumps(lazy[1], sort_keys=True) == json.dumps(old[1], sort_keys=True)


def test_prefetch_values_arrive_undecoded_and_other_members_decoded() -> None:
    """Only the prefetch values wait; hook, context and the rest are decoded at once."""
    body = hook_request("order-select", drafts=[service_request("s1", text="CBC")])
    decoded = decode_hook_body(orjson.dumps(body), MAX_DEPTH, KEEP)
    assert decoded["context"] == body["context"] and decoded["hook"] == "order-select"
    assert set(decoded["prefetch"]) == set(body["prefetch"])
    assert all(isinstance(v, RawJson) and not v.decoded for v in decoded["prefetch"].values())


async def _call(body: dict[str, Any]) -> dict[str, RawJson]:
    service = SERVICES[f"ms-{body['hook']}"]
    request = parse_request(decode_hook_body(orjson.dumps(body), MAX_DEPTH, KEEP))
    await run_service(service, request, make_settings(), TODAY)
    values: dict[str, RawJson] = request.prefetch or {}
    return values


async def test_an_order_no_rule_reads_the_record_for_leaves_it_undecoded() -> None:
    """A lab order: no rule needs the record, so no prefetch value is decoded."""
    values = await _call(hook_request("order-select", drafts=[service_request("s1", text="CBC")]))
    assert values and not any(v.decoded for v in values.values())


async def test_an_msc_order_and_patient_view_decode_the_record() -> None:
    """An MSC order (its card names the alternatives) and patient-view read the record."""
    msc = hook_request(
        "order-select",
        drafts=[med_request("m1", text="mesenchymal stem cell infusion")],
        conditions=[ms_condition()],
    )
    assert all(v.decoded for v in (await _call(msc)).values())
    view = hook_request("patient-view", conditions=[ms_condition()])
    assert all(v.decoded for v in (await _call(view)).values())


def test_an_escaped_operation_outcome_is_still_seen_as_a_stand_in() -> None:
    """A stand-in whose resourceType is spelt with \\u escapes is still recognised."""
    from cds_service.prefetch import is_outcome_stand_in

    raw = b'{"resourceType": "Operation\\u004futcome", "issue": []}'
    assert is_outcome_stand_in(RawJson(raw, decode_json))
    assert not is_outcome_stand_in(RawJson(orjson.dumps(bundle()), decode_json))
    assert is_outcome_stand_in(
        RawJson(b'{"resourceType": "OperationOutcome", "issue": []}', decode_json)
    )


def test_deep_junk_in_a_prefetch_value_is_dropped_when_read_not_refused(
    client: TestClient,
) -> None:
    """300 levels of junk in a condition: the record is still read and the warning given."""
    junk: Any = "leaf"
    for _ in range(150):
        junk = [{"extension": junk}]
    body = hook_request(
        "order-select",
        drafts=[med_request("m1", text="mesenchymal stem cell infusion")],
        conditions=[ms_condition(), {**ms_condition("c2"), "extension": junk}],
    )
    response = client.post("/cds-services/ms-order-select", json=body)
    assert response.status_code == 200, response.text
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["mscWarning"]


def test_split_refuses_what_is_not_one_json_object() -> None:
    """Lists, invalid text or UTF-8, trailing bytes, lone surrogates: the strict way."""
    for raw in (
        b"[1]",
        b'{"a": 1,}',
        b'{"a": 1} x',
        b'{"a": "\\ud800"}',
        b"[" * 3000,
        b'{"a": {"b": "x\xff\xfey"}}',  # invalid UTF-8 inside a member msgspec skips
    ):
        assert split_object(raw) is None
    assert split_object(b'{"a": {"b": [1, 2]}, "a": 3}') == {"a": b"3"}


@pytest.mark.parametrize("value", [None, [], "x", 3])
def test_a_prefetch_that_is_not_an_object_is_decoded_as_sent(value: Any) -> None:
    """`prefetch: null` (or any non-object) stays what it is, for the envelope check."""
    body = {**hook_request("patient-view"), "prefetch": value}
    assert decode_hook_body(encode(body), MAX_DEPTH, KEEP)["prefetch"] == value


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4))
def test_lazy_values_iterate_like_the_dict_they_stand_for(items: dict[str, Any]) -> None:
    """Keys, order, length and membership without decoding; values decoded on reading."""
    lazy = LazyValues({k: RawJson(json.dumps(v).encode(), decode_json) for k, v in items.items()})
    assert list(lazy) == list(items) and len(lazy) == len(items)
    assert all(k in lazy for k in items)
    assert dict(lazy) == items


def test_a_member_outside_the_envelope_is_kept_and_prefetch_still_waits() -> None:
    """An unknown top-level member takes the general split: kept, prefetch still lazy."""
    body = {**hook_request("patient-view"), "vendorThing": {"a": [1]}}
    decoded = decode_hook_body(orjson.dumps(body), MAX_DEPTH, KEEP)
    assert decoded["vendorThing"] == {"a": [1]}
    assert all(isinstance(v, RawJson) and not v.decoded for v in decoded["prefetch"].values())
    assert _materialized(decoded) == body
