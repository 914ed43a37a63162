"""GET/POST /demo/fhir/...: a read-only FHIR R4 server of the synthetic demo patients.

Mounted by `create_app` only in development mode with CDS_DEMO (`ms-cds demo`).
What the public CDS Hooks sandbox needs from it (docs/research/integration.md 1b):
`/metadata` with fhirVersion 4.0.1, a bare `GET /Patient` that is not a 401,
searchset Bundles with `total`, `POST {type}/_search` with a form body (its prefetch),
and CORS on every answer (the app's CORS middleware: the sandbox's origin and
localhost in development).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cds_service.body import encode_json
from cds_service.demo.store import SEARCH_PARAMETERS, DemoStore, Page, resource_types
from cds_service.errors import FHIR_JSON, BadRequest, NotFound
from cds_service.runtime import Runtime, get_runtime

__all__ = ["PREFIX", "router"]

PREFIX = "/demo/fhir"
router = APIRouter(prefix=PREFIX, tags=["demo"])
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _fhir(value: dict[str, Any]) -> Response:
    return Response(encode_json(value), media_type=FHIR_JSON)


def _base(request: Request, runtime: Runtime) -> str:
    root = runtime.settings.public_base_url or str(request.base_url)
    return root.rstrip("/") + PREFIX


def _known(resource_type: str) -> str:
    if resource_type not in resource_types():
        raise NotFound(f"resource type not served by the demo endpoint: {resource_type[:64]}")
    return resource_type


@router.get("/metadata", summary="Demo FHIR server: CapabilityStatement")
async def metadata(request: Request, runtime: RuntimeDep) -> Response:
    params = [{"name": name, "type": kind} for name, kind in SEARCH_PARAMETERS]
    return _fhir(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": runtime.today().isoformat(),
            "kind": "instance",
            "software": {"name": "ms-cds demo FHIR endpoint (synthetic patients, read-only)"},
            "implementation": {
                "description": "Synthetic multiple sclerosis demo patients",
                "url": _base(request, runtime),
            },
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json", "json"],
            "rest": [
                {
                    "mode": "server",
                    "resource": [
                        {
                            "type": resource_type,
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "searchParam": params,
                        }
                        for resource_type in resource_types()
                    ],
                }
            ],
        }
    )


def _bundle(
    request: Request, runtime: RuntimeDep, resource_type: str, params: dict[str, list[str]]
) -> Response:
    page: Page = DemoStore.for_day(runtime.today()).search(resource_type, params)
    base = _base(request, runtime)
    links = [{"relation": "self", "url": f"{base}/{resource_type}?{urlencode(params, True)}"}]
    if page.next_offset is not None:
        following = {**params, "_offset": [str(page.next_offset)]}
        links.append(
            {"relation": "next", "url": f"{base}/{resource_type}?{urlencode(following, True)}"}
        )
    return _fhir(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": page.total,
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}/{resource_type}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in page.resources
            ],
        }
    )


@router.get("/{resource_type}", summary="Demo FHIR server: search (GET)")
async def search(resource_type: str, request: Request, runtime: RuntimeDep) -> Response:
    params = parse_qs(request.url.query, keep_blank_values=False)
    return _bundle(request, runtime, _known(resource_type), params)


@router.post("/{resource_type}/_search", summary="Demo FHIR server: search (POST form)")
async def search_post(resource_type: str, request: Request, runtime: RuntimeDep) -> Response:
    _known(resource_type)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if body and media_type != "application/x-www-form-urlencoded":
        raise BadRequest("a _search body must be application/x-www-form-urlencoded")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the _search body is not UTF-8") from None
    params = parse_qs(request.url.query)
    for name, values in parse_qs(text).items():
        params.setdefault(name, []).extend(values)
    return _bundle(request, runtime, resource_type, params)


@router.get("/{resource_type}/{resource_id}", summary="Demo FHIR server: read")
async def read(resource_type: str, resource_id: str, runtime: RuntimeDep) -> Response:
    resource = DemoStore.for_day(runtime.today()).read(_known(resource_type), resource_id)
    if resource is None:
        raise NotFound(f"no demo {resource_type} with this id")
    return _fhir(resource)
