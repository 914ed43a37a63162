"""Observation searches Epic accepts (issue 18): codes always named, and the fallback when
the server refuses the search."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import httpx
import pytest
import respx

from cds_service.catalogue import searched_codes, services
from cds_service.fetch.split import MAX_CALLS, PARTS, split
from fhir_mappings.config import MappingConfig
from tests.builders import PATIENT_ID, SNOMED
from tests.fhir_fakes import BASE, fetch_request, production, resolve, search_bundle

LOCAL = "urn:oid:1.2.840.114350|MRI-GD"  # a site's local MRI code, as CDS_MRI_GD_CODES names it
EDSS = f"{SNOMED}|273554001"
SEARCHED = [f"{c.system}|{c.code}" for c in searched_codes("Observation")]  # EDSS first
BARE = list(dict.fromkeys([*(c.code for c in searched_codes("Observation")), "MRI-GD"]))


@pytest.fixture
def fhir() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def _observation(oid: str, system: str, code: str) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "valueQuantity": {"value": 2},
    }


def _service() -> object:
    return services(MappingConfig(mri_gd_codes=frozenset({LOCAL})))["ms-patient-view"]


async def test_fetched_observation_search_names_every_code(fhir: respx.MockRouter) -> None:
    """The service's own Observation search names the value sets' codes (EDSS first) and
    the configured MRI codes."""
    route = fhir.get("/Observation").respond(json=search_bundle())
    record = await resolve(fetch_request("observations"), service=_service())  # type: ignore[arg-type]
    sent = route.calls[0].request.url.params
    assert sent["patient"] == PATIENT_ID
    assert SEARCHED[0] == EDSS
    assert sent["code"] == ",".join([*SEARCHED, LOCAL])
    assert record.missing == {}


Answer = Callable[[httpx.Request], httpx.Response]


def _server(
    accepts: Callable[[list[str]], bool], found: dict[str, list[dict[str, object]]]
) -> tuple[Answer, list[list[str]]]:
    """A FHIR server refusing (400) the combined `system|code` search and every bare code
    list `accepts` refuses; each accepted search answers the Observations `found` has for
    its codes. `searched` records every code list it answered."""
    searched: list[list[str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        codes = request.url.params["code"].split(",")
        if any("|" in c for c in codes) or not accepts(codes):
            return httpx.Response(400, json={"resourceType": "OperationOutcome"})
        searched.append(codes)
        return httpx.Response(
            200, json=search_bundle(*(o for c in codes for o in found.get(c, [])))
        )

    return answer, searched


def _levels(n: int) -> int:
    """Levels of quarters until single codes: ceil(log4 n)."""
    return max(1, math.ceil(math.log(n, PARTS) - 1e-9))


async def test_refused_search_is_searched_in_parts_and_merged(fhir: respx.MockRouter) -> None:
    """HTTP 400 for the list with systems: the bare codes searched in quarters, and the first
    code alone (one round), the answers merged into one Bundle (each resource once)."""
    edss = _observation("o-edss", SNOMED, "273554001")
    mri = _observation("o-mri", "urn:oid:1.2.840.114350", "MRI-GD")
    answer, searched = _server(lambda codes: True, {"273554001": [edss, edss], "MRI-GD": [mri]})
    route = fhir.get("/Observation").mock(side_effect=answer)
    record = await resolve(fetch_request("observations"), service=_service())  # type: ignore[arg-type]
    assert route.call_count == 1 + PARTS + 1
    assert sorted(c for part in searched for c in part) == sorted([*BARE, BARE[0]])
    ids = [e["resource"]["id"] for e in record.prefetch["observations"]["entry"]]
    assert ids == ["o-edss", "o-mri"]
    assert record.missing == {}


async def test_one_refused_code_costs_about_four_log4_n_searches(fhir: respx.MockRouter) -> None:
    """A server refusing any list naming one code (MRI-GD): the parts holding it are split
    until it is alone; at most 1 + 4 x ceil(log4 n) searches; every other code searched and
    its Observations kept; the gap says one code could not be searched."""
    edss = _observation("o-edss", SNOMED, "273554001")
    answer, searched = _server(lambda codes: "MRI-GD" not in codes, {"273554001": [edss]})
    route = fhir.get("/Observation").mock(side_effect=answer)
    record = await resolve(fetch_request("observations"), service=_service())  # type: ignore[arg-type]
    assert route.call_count <= 2 + PARTS * _levels(len(BARE)) < len(BARE)
    assert set(c for part in searched for c in part) == set(BARE) - {"MRI-GD"}
    assert [e["resource"]["id"] for e in record.prefetch["observations"]["entry"]] == ["o-edss"]
    assert record.missing == {
        "observations": f"incomplete: 1 of {len(BARE)} codes could not be searched (HTTP 400)"
    }


@pytest.mark.parametrize("limit", [1, 3, 5, 10])
async def test_server_limiting_the_code_list_gets_every_code(
    fhir: respx.MockRouter, limit: int
) -> None:
    """A server refusing any list longer than `limit` codes (1: no OR list at all): parts
    are split until they fit, every code is searched and the key is complete, within
    MAX_CALLS; a limit of 10 costs one round (the quarters fit)."""
    answer, searched = _server(lambda codes: len(codes) <= limit, {})
    route = fhir.get("/Observation").mock(side_effect=answer)
    record = await resolve(fetch_request("observations"), service=_service())  # type: ignore[arg-type]
    assert route.call_count <= 1 + MAX_CALLS
    if limit == 10:
        assert route.call_count == 1 + PARTS + 1
    assert all(len(part) <= limit for part in searched)
    assert set(c for part in searched for c in part) == set(BARE)
    assert record.missing == {}
    assert record.prefetch["observations"]["entry"] == []


async def test_server_refusing_every_search_is_given_up_after_one_round(
    fhir: respx.MockRouter,
) -> None:
    """Every search refused, the lone first code too: no second round (1 + 4 + 1 searches);
    the key is missing, saying both answers."""
    route = fhir.get("/Observation").respond(400, json={"resourceType": "OperationOutcome"})
    record = await resolve(fetch_request("observations"), service=_service())  # type: ignore[arg-type]
    assert route.call_count == 1 + PARTS + 1
    assert "observations" not in record.prefetch
    assert record.missing == {"observations": "HTTP 400; searched in parts: HTTP 400"}


async def test_part_failing_otherwise_is_not_split(fhir: respx.MockRouter) -> None:
    """A part answered 500 (not about its codes) is reported, not split: the other parts'
    Observations are kept and the gap counts that part's codes."""
    edss = _observation("o-edss", SNOMED, "273554001")

    def answer(request: httpx.Request) -> httpx.Response:
        codes = request.url.params["code"].split(",")
        if any("|" in c for c in codes):
            return httpx.Response(400, json={"resourceType": "OperationOutcome"})
        if "MRI-GD" in codes:
            return httpx.Response(500)
        return httpx.Response(200, json=search_bundle(*([edss] if "273554001" in codes else [])))

    route = fhir.get("/Observation").mock(side_effect=answer)
    record = await resolve(fetch_request("observations"), service=_service())  # type: ignore[arg-type]
    assert route.call_count == 1 + PARTS + 1
    last = split(BARE)[-1]
    assert "MRI-GD" in last
    assert [e["resource"]["id"] for e in record.prefetch["observations"]["entry"]] == ["o-edss"]
    assert record.missing == {
        "observations": f"incomplete: {len(last)} of {len(BARE)} codes could not be searched "
        "(HTTP 500)"
    }


@pytest.mark.parametrize("status", [401, 403, 429])
async def test_no_fallback_for_auth_or_rate_limit(fhir: respx.MockRouter, status: int) -> None:
    """401, 403 and 429 are not about the query: no second round."""
    route = fhir.get("/Observation").respond(status, json={"resourceType": "OperationOutcome"})
    record = await resolve(fetch_request("observations"), service=_service())  # type: ignore[arg-type]
    assert route.call_count == 1
    assert record.missing == {"observations": f"HTTP {status}"}


async def test_default_single_code_search_also_falls_back(fhir: respx.MockRouter) -> None:
    """With only the EDSS code, a refused `system|code` search is retried with the bare code."""

    def answer(request: httpx.Request) -> httpx.Response:
        if "|" in request.url.params["code"]:
            return httpx.Response(400, json={"resourceType": "OperationOutcome"})
        return httpx.Response(200, json=search_bundle(_observation("e", SNOMED, "273554001")))

    fhir.get("/Observation").mock(side_effect=answer)
    record = await resolve(fetch_request("observations"), production())
    assert [e["resource"]["id"] for e in record.prefetch["observations"]["entry"]] == ["e"]


async def test_searches_per_key_are_bounded(fhir: respx.MockRouter) -> None:
    """A site with 100 local MRI codes and a server taking one code per search: MAX_CALLS
    searches in parts, then the rest counted as not searched."""
    local = frozenset(f"urn:oid:1.2.840.114350|MRI-{i:03}" for i in range(100))
    service = services(MappingConfig(mri_gd_codes=local))["ms-patient-view"]
    answer, searched = _server(lambda codes: len(codes) == 1, {})
    route = fhir.get("/Observation").mock(side_effect=answer)
    record = await resolve(fetch_request("observations"), service=service)
    assert route.call_count == 1 + MAX_CALLS
    total = len(SEARCHED) + len(local)
    missed = total - len({c for part in searched for c in part})
    assert record.missing == {
        "observations": f"incomplete: {missed} of {total} codes could not be searched "
        f"(not searched: more than {MAX_CALLS} searches in parts)"
    }
