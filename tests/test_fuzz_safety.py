"""Safety properties: MSC orders are always warned about, AHSCT orders never are,
and the same request always gives the same cards."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given

from tests.harness import Harness, msc_card_orders, without_uuids
from tests.strategies import (
    ahsct_concepts,
    damaged_requests,
    encode,
    msc_concepts,
    orders_in_damaged_records,
    valid_requests,
)

pytestmark = pytest.mark.fuzz


@given(case=orders_in_damaged_records(msc_concepts))
def test_msc_order_always_warned_whatever_else_is_broken(
    harness: Harness, case: tuple[str, dict[str, Any], list[str]]
) -> None:
    """Each intact MSC order for a patient with MS gets exactly one mscWarning card."""
    service, body, planted = case
    response = harness.post("msc-invariant", service, encode(body), "application/json")
    answer = harness.check(response)
    assert answer is not None, response.text[:500]
    warned = Counter(msc_card_orders(answer))
    assert {ref: warned[ref] for ref in planted} == dict.fromkeys(planted, 1)


@given(case=orders_in_damaged_records(ahsct_concepts))
def test_ahsct_order_never_flagged_as_msc(
    harness: Harness, case: tuple[str, dict[str, Any], list[str]]
) -> None:
    """A haematopoietic (AHSCT) order is never an MSC order, whatever MSC wording it mixes in."""
    service, body, planted = case
    response = harness.post("ahsct-never-msc", service, encode(body), "application/json")
    answer = harness.check(response)
    assert answer is not None, response.text[:500]
    assert not set(msc_card_orders(answer)) & set(planted)


@given(case=valid_requests() | damaged_requests())
def test_same_request_same_cards(harness: Harness, case: tuple[str, dict[str, Any]]) -> None:
    """Sending a request twice gives the same status and cards, apart from uuids."""
    service, body = case
    raw = encode(body)
    first = harness.post("determinism", service, raw, "application/json")
    second = harness.post("determinism", service, raw, "application/json")
    assert first.status_code == second.status_code
    assert without_uuids(first.json()) == without_uuids(second.json())
