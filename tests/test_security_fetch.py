"""Issue 17 fetch findings: compressed bodies (#4); base paths of redirects and next links (#10)."""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from cds_service.errors import PrefetchUnavailable
from cds_service.fetch.guard import ServerRefused
from tests.builders import PATIENT_ID, condition
from tests.fhir_fakes import BASE, TOKEN, fetch_request, production, resolve, search_bundle

FHIR_JSON = "application/fhir+json"
BUNDLE = search_bundle(condition("c1", "1"), condition("c2", "2"))
RAW = json.dumps(BUNDLE).encode()


@pytest.fixture
def fhir() -> Iterator[respx.MockRouter]:
    """respx scoped to the FHIR base URL; any other URL is an error."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def conditions_answer(
    fhir: respx.MockRouter, content: Any, *headers: tuple[str, str]
) -> respx.Route:
    """The Condition search answers `content` (raw bytes, never decoded by the fake) with
    these headers and a FHIR JSON type."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = network_chunks(content) if isinstance(content, bytes) else content
        return httpx.Response(200, content=body, headers=[("content-type", FHIR_JSON), *headers])

    return fhir.get("/Condition", params={"patient": PATIENT_ID}).mock(side_effect=answer)


async def network_chunks(data: bytes) -> AsyncIterator[bytes]:
    """`data` as a socket delivers it, 64 KiB at a time (respx would pre-read bytes)."""
    for start in range(0, len(data), 65536):
        yield data[start : start + 65536]


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (RAW, ()),
        (RAW, (("content-encoding", "identity"),)),
        (gzip.compress(RAW), (("content-encoding", "gzip"),)),
        (gzip.compress(RAW), (("content-encoding", "X-GZIP"),)),
        (gzip.compress(RAW[:40]) + gzip.compress(RAW[40:]), (("content-encoding", "gzip"),)),
        (zlib.compress(RAW), (("content-encoding", "deflate"),)),
        (raw_deflate(RAW), (("content-encoding", "deflate"),)),
    ],
    ids=["none", "identity", "gzip", "x-gzip", "gzip-two-members", "deflate", "raw-deflate"],
)
async def test_one_supported_coding_is_decoded(
    fhir: respx.MockRouter, content: bytes, headers: tuple[tuple[str, str], ...]
) -> None:
    """identity, gzip and deflate (zlib or raw) bodies are decoded to the same Bundle."""
    conditions_answer(fhir, content, *headers)
    record = await resolve(fetch_request("conditions"))
    assert record.missing == {}
    assert [e["resource"]["id"] for e in record.prefetch["conditions"]["entry"]] == ["c1", "c2"]


async def test_fetch_asks_for_gzip_and_deflate_only(fhir: respx.MockRouter) -> None:
    """Accept-Encoding is explicit, whatever decoders happen to be installed."""
    route = conditions_answer(fhir, RAW)
    await resolve(fetch_request("conditions"))
    assert route.calls.last.request.headers["accept-encoding"] == "gzip, deflate"


# 50 MiB of zeros gzipped twice is a few hundred bytes.
NESTED_BOMB = gzip.compress(gzip.compress(b"\0" * (50 * 2**20)))


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (NESTED_BOMB, (("content-encoding", "gzip, gzip"),)),
        (NESTED_BOMB, (("content-encoding", "gzip"), ("content-encoding", "gzip"))),
        (gzip.compress(RAW), (("content-encoding", "gzip, x-foo"),)),
        (RAW, (("content-encoding", "br"),)),
        (RAW, (("content-encoding", "compress"),)),
    ],
    ids=["stacked-one-line", "stacked-two-lines", "unknown-token-after", "br", "compress"],
)
async def test_stacked_or_unknown_codings_are_refused(
    fhir: respx.MockRouter, content: bytes, headers: tuple[tuple[str, str], ...]
) -> None:
    """More than one coding, or one the service does not decode, fails the fetch briefly."""
    conditions_answer(fhir, content, *headers)
    record = await resolve(fetch_request("conditions"))
    assert "conditions" not in record.prefetch
    assert record.missing["conditions"] == "unsupported encoding"


async def test_gzip_bomb_stops_at_the_decoded_cap_in_bounded_memory(
    fhir: respx.MockRouter,
) -> None:
    """A 64 MiB gzip bomb (64 KB sent) is refused after about the cap, never inflated whole."""
    bomb = gzip.compress(b"\0" * (64 * 2**20))
    conditions_answer(fhir, bomb, ("content-encoding", "gzip"))
    settings = production(fhir_max_response_bytes=1_000_000)
    tracemalloc.start()
    try:
        record = await resolve(fetch_request("conditions"), settings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert record.missing["conditions"] == "response too large"
    assert peak < 16 * 2**20, peak


@pytest.mark.parametrize(
    "content",
    [gzip.compress(RAW)[:-12], gzip.compress(RAW) + b"trailing junk", b"not gzip at all"],
    ids=["truncated", "trailing-bytes", "not-gzip"],
)
async def test_corrupt_gzip_fails_the_fetch(fhir: respx.MockRouter, content: bytes) -> None:
    """A body that is not a complete gzip stream is refused, not half-read."""
    conditions_answer(fhir, content, ("content-encoding", "gzip"))
    record = await resolve(fetch_request("conditions"))
    assert record.missing["conditions"] == "corrupt encoding"


async def test_a_trickled_gzip_body_is_cut_by_the_call_deadline(fhir: respx.MockRouter) -> None:
    """Each raw chunk arrives inside the read timeout; the call's one deadline still ends it."""
    packed = gzip.compress(RAW)
    sent: list[int] = []

    async def trickle() -> AsyncIterator[bytes]:
        for index in range(len(packed)):
            await asyncio.sleep(0.02)
            sent.append(index)
            yield packed[index : index + 1]

    conditions_answer(fhir, trickle(), ("content-encoding", "gzip"))
    record = await resolve(fetch_request("conditions"), production(fhir_call_timeout=0.3))
    assert record.missing["conditions"] == "timeout"
    assert 0 < len(sent) < len(packed)


ORIGIN = "https://fhir.example.org"
BYPASSES = [
    "/r4/%2e%2e/admin",
    "/r4/%2E%2E/admin",
    "/r4/.%2e/admin",
    "/r4/..%2fadmin",
    "/r4%2f..%2fadmin",
    "/r4/%5c../admin",
    "/r4/..;/admin",
]


@pytest.mark.parametrize("path", BYPASSES)
async def test_encoded_dot_segments_do_not_pass_the_allowlist(
    fhir: respx.MockRouter, path: str
) -> None:
    """A fhirServer climbing out of an allowed base path is refused (412), nothing sent."""
    fhir.route().respond(json={"resourceType": "Patient", "id": PATIENT_ID})
    settings = production(fhir_allowed_servers=[BASE])
    with pytest.raises(ServerRefused) as refused:
        await resolve(fetch_request("patient", server=ORIGIN + path), settings)
    assert refused.value.status == 412
    assert "fhirServer" in str(refused.value) and path not in str(refused.value)
    assert not fhir.calls


@pytest.mark.parametrize("path", ["/r4/%2e%2e/admin", "/r4/..%2Fadmin", "/r4/..;/x"])
async def test_dot_segments_in_fhir_server_are_refused_without_allowlist(
    fhir: respx.MockRouter, path: str
) -> None:
    """Even with no allowlist, a base path that is not what it says is refused, nothing sent."""
    fhir.route().respond(json={"resourceType": "Patient", "id": PATIENT_ID})
    with pytest.raises(ServerRefused, match="dot segments"):
        await resolve(fetch_request("patient", server=ORIGIN + path))
    assert not fhir.calls


@pytest.mark.parametrize(
    "location",
    [f"{ORIGIN}/admin/Patient/x", "/r4/../admin/x", "/r4/%2e%2e/admin/x", "/r4-other/Patient/x"],
    ids=["other-path", "dots", "encoded-dots", "sibling-prefix"],
)
async def test_redirect_outside_the_base_path_is_not_followed(
    fhir: respx.MockRouter, location: str
) -> None:
    """A same-origin redirect that leaves the fhirServer base path is not followed."""
    fhir.get(f"/Patient/{PATIENT_ID}").respond(302, headers={"location": location})
    elsewhere = respx.route(host="fhir.example.org", path__regex=r"^/(admin|r4-other)").respond(
        json={"resourceType": "Patient", "id": PATIENT_ID}
    )
    with pytest.raises(PrefetchUnavailable, match="redirected outside the FHIR base"):
        await resolve(fetch_request("patient"))
    assert not elsewhere.called
    assert len(fhir.calls) == 1


async def test_redirect_below_the_base_path_is_still_followed(fhir: respx.MockRouter) -> None:
    """A redirect to another path below the base is followed with the token."""
    fhir.get(f"/Patient/{PATIENT_ID}").respond(301, headers={"location": "/r4/Patient/moved"})
    moved = fhir.get("/Patient/moved").respond(json={"resourceType": "Patient", "id": "moved"})
    record = await resolve(fetch_request("patient"))
    assert moved.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert record.prefetch["patient"]["id"] == "moved"


@pytest.mark.parametrize(
    "next_url",
    [f"{ORIGIN}/admin/Condition?page=2", "../admin/Condition?page=2", "%2e%2e/x?page=2"],
    ids=["absolute", "relative-dots", "encoded-dots"],
)
async def test_next_link_outside_the_base_path_is_not_followed(
    fhir: respx.MockRouter, next_url: str
) -> None:
    """A next link leaving the base path keeps page 1 and says why; the token stays home."""
    first = search_bundle(condition("c1", "1"), next_url=next_url)
    fhir.get("/Condition", params={"patient": PATIENT_ID}).respond(json=first)
    record = await resolve(fetch_request("conditions"))
    assert len(fhir.calls) == 1
    assert [e["resource"]["id"] for e in record.prefetch["conditions"]["entry"]] == ["c1"]
    assert record.missing["conditions"] == (
        "incomplete: next page outside the FHIR base (not followed)"
    )


async def test_encoded_slash_from_a_context_id_never_leaves_the_base(
    fhir: respx.MockRouter,
) -> None:
    """A patient id that would climb out of the base (`../admin`) is not requested."""
    body = fetch_request("patient")
    body["context"]["patientId"] = "../admin"
    fhir.route().respond(json={"resourceType": "Patient", "id": PATIENT_ID})
    with pytest.raises(PrefetchUnavailable, match="request path outside the FHIR base"):
        await resolve(body)
    assert not fhir.calls
