"""Request hardening: body size (413), media type (415), nesting and bad JSON (400)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.body import json_depth
from tests.builders import condition, hook_request, med_request, ms_condition
from tests.conftest import make_settings

PATH = "/cds-services/ms-patient-view"
BODY = hook_request("patient-view")


def outcome_code(response: httpx.Response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    code: str = body["issue"][0]["code"]
    return code


@pytest.fixture
def small_client(app_factory: Callable[..., FastAPI]) -> Iterator[TestClient]:
    """A server whose body limit is 4 KiB."""
    with TestClient(app_factory(make_settings(max_body_bytes=4096))) as client:
        yield client


def padded(size: int) -> bytes:
    body = dict(BODY, extension={"pad": "x" * size})
    return json.dumps(body).encode()


def test_declared_body_over_the_limit(small_client: TestClient) -> None:
    """A Content-Length over the limit is refused with 413 too-costly."""
    response = small_client.post(
        PATH, content=padded(5000), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert outcome_code(response) == "too-costly"


def test_streamed_body_over_the_limit(small_client: TestClient) -> None:
    """A chunked body (no Content-Length) is counted as it arrives and refused past the limit."""
    data = padded(5000)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]

    response = small_client.post(
        PATH, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert outcome_code(response) == "too-costly"


def test_body_under_the_limit_is_served(small_client: TestClient) -> None:
    """A body just under the limit is served."""
    data = padded(4096 - len(padded(0)) - 1)
    assert len(data) < 4096
    response = small_client.post(PATH, content=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


def test_default_limit_is_five_megabytes(client: TestClient) -> None:
    """By default a body over 5 MB is refused."""
    data = padded(5 * 1024 * 1024)
    response = client.post(PATH, content=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", None, "application/json; charset=latin-1"],
    ids=["text", "form", "missing", "latin-1"],
)
def test_only_json_bodies(client: TestClient, content_type: str | None) -> None:
    """Bodies that are not UTF-8 application/json are refused with 415 not-supported."""
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(PATH, content=json.dumps(BODY).encode(), headers=headers)
    assert response.status_code == 415
    assert outcome_code(response) == "not-supported"


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/fhir+json"]
)
def test_json_media_types_accepted(client: TestClient, content_type: str) -> None:
    """application/json with a UTF-8 charset, and application/fhir+json, are served."""
    response = client.post(
        PATH, content=json.dumps(BODY).encode(), headers={"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [300, 5000, 200_000])
def test_deep_nesting_is_a_400(client: TestClient, depth: int) -> None:
    """JSON nested deeper than the decode limit is refused with 400 (never a RecursionError 500)."""
    raw = json.dumps({**BODY, "extension": {"deep": "X"}}).replace('"X"', "[" * depth + "]" * depth)
    response = client.post(PATH, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "deeper than 256" in response.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("depth", [66, 100, 240])
def test_junk_nested_past_the_element_depth_is_dropped(client: TestClient, depth: int) -> None:
    """Junk nested 65-250 deep in an unrelated resource is dropped; the cards still come."""
    junk: Any = "leaf"
    for _ in range(depth // 2):  # a list and an object: two levels a round
        junk = [{"url": "http://example.org/x", "extension": junk}]
    body = hook_request(
        "order-select",
        drafts=[med_request("m1", text="Mesenchymal stem cells")],
        conditions=[ms_condition(), {**condition("htn", "38341003"), "extension": junk}],
    )
    response = client.post("/cds-services/ms-order-select", json=body)
    assert response.status_code == 200, response.text
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["mscWarning"]


def test_prune_deep_drops_only_what_is_too_deep() -> None:
    """prune_deep keeps everything at or above the limit and counts what it drops."""
    from cds_service.body import prune_deep

    value = {"a": {"b": {"c": [1, {"d": 2}]}}, "keep": [1, 2]}
    assert prune_deep(value, 3) == 1
    assert value == {"a": {"b": {}}, "keep": [1, 2]}


def test_brackets_inside_strings_do_not_count(client: TestClient) -> None:
    """A string full of brackets is not nesting."""
    body = {**BODY, "extension": {"note": '[{"\\"' * 500}}
    response = client.post(PATH, json=body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "raw",
    [
        b'{"hook": "patient-view", "n": ' + b"1" * 10_000 + b"}",
        b'{"hook": "patient-view\xff"}',
        b'{"hook": ',
    ],
    ids=["huge-integer", "not-utf8", "truncated"],
)
def test_undecodable_json_is_a_400(client: TestClient, raw: bytes) -> None:
    """Integers too long to convert, invalid UTF-8 and truncated JSON are 400 invalid."""
    response = client.post(PATH, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert outcome_code(response) == "invalid"


JSON_VALUES = st.recursive(
    st.none() | st.integers() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@settings(deadline=None, max_examples=60)
@given(JSON_VALUES)
def test_json_depth_matches_the_structure(value: Any) -> None:
    """json_depth is over a limit exactly when the document nests deeper than it."""

    def depth(v: Any) -> int:
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    raw = json.dumps(value).encode()
    for limit in (1, 2, 3):
        assert (json_depth(raw, limit) > limit) == (depth(value) > limit)


@pytest.mark.parametrize("where", ["extension", "context", "prefetch"])
def test_one_depth_rule_for_the_whole_body(client: TestClient, where: str) -> None:
    """300 levels anywhere, the envelope, the context or a prefetch value, is the same 400."""
    junk: Any = "leaf"
    for _ in range(150):
        junk = [{"extension": junk}]
    body = hook_request("patient-view")
    if where == "extension":
        body["extension"] = {"deep": junk}
    elif where == "context":
        body["context"]["deep"] = junk
    else:
        body["prefetch"]["conditions"] = {**ms_condition(), "extension": junk}
    response = client.post(PATH, json=body)
    assert response.status_code == 400
    assert "deeper than 256" in response.json()["issue"][0]["diagnostics"]
