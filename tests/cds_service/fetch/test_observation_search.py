"""Observation searches Epic accepts (issue 18): codes always named, and the fallback when
the server refuses the search."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from cds_service.catalogue import searched_codes, services
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


async def test_refused_search_falls_back_to_one_search_per_bare_code(
    fhir: respx.MockRouter,
) -> None:
    """HTTP 400 for the list of codes: each code searched alone, without its system, and the
    answers merged into one Bundle (each resource once); the key is complete."""
    edss = _observation("o-edss", SNOMED, "273554001")
    mri = _observation("o-mri", "urn:oid:1.2.840.114350", "MRI-GD")

    def answer(request: object) -> object:
        import httpx

        assert isinstance(request, httpx.Request)
        code = request.url.params["code"]
        if "," in code or "|" in code:
            return httpx.Response(400, json={"resourceType": "OperationOutcome"})
        found = {"273554001": [edss, edss], "MRI-GD": [mri]}.get(code, [])
        return httpx.Response(200, json=search_bundle(*found))

    route = fhir.get("/Observation").mock(side_effect=answer)
    record = await resolve(fetch_request("observations"), service=_service())  # type: ignore[arg-type]
    assert route.call_count == 1 + len(BARE)
    ids = [e["resource"]["id"] for e in record.prefetch["observations"]["entry"]]
    assert ids == ["o-edss", "o-mri"]
    assert record.missing == {}


async def test_fallback_that_fails_too_says_both(fhir: respx.MockRouter) -> None:
    """The code-by-code searches refused as well: the key is missing, saying both answers."""
    fhir.get("/Observation").respond(400, json={"resourceType": "OperationOutcome"})
    record = await resolve(fetch_request("observations"), service=_service())  # type: ignore[arg-type]
    assert "observations" not in record.prefetch
    assert record.missing == {"observations": "HTTP 400; searched code by code: HTTP 400"}


async def test_partly_failing_fallback_keeps_what_it_got(fhir: respx.MockRouter) -> None:
    """One code's search fails: the other's Observations are kept, the gap says how many."""
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        code = request.url.params["code"]
        if code == "MRI-GD":
            return httpx.Response(200, json=search_bundle(_observation("o", "x", "MRI-GD")))
        return httpx.Response(400, json={"resourceType": "OperationOutcome"})

    fhir.get("/Observation").mock(side_effect=answer)
    record = await resolve(fetch_request("observations"), service=_service())  # type: ignore[arg-type]
    assert [e["resource"]["id"] for e in record.prefetch["observations"]["entry"]] == ["o"]
    assert record.missing == {
        "observations": f"incomplete: {len(BARE) - 1} of {len(BARE)} code-by-code searches "
        "failed (HTTP 400)"
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
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        if "|" in request.url.params["code"]:
            return httpx.Response(400, json={"resourceType": "OperationOutcome"})
        return httpx.Response(200, json=search_bundle(_observation("e", SNOMED, "273554001")))

    fhir.get("/Observation").mock(side_effect=answer)
    record = await resolve(fetch_request("observations"), production())
    assert [e["resource"]["id"] for e in record.prefetch["observations"]["entry"]] == ["e"]
