"""The baseline: the cheapest honest CDS Hooks endpoint on the same stack.

It reads the same bytes, decodes them with the same JSON decoder as the service
and answers `{"cards": []}`: the raw HTTP limit of one uvicorn worker, against
which the service's throughput is reported as a ratio.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI(title="baseline")
_EMPTY = orjson.dumps({"cards": []})


@app.post("/cds-services/{service_id}")
async def call_service(service_id: str, request: Request) -> Response:
    body = orjson.loads(await request.body())
    if not isinstance(body, dict):
        return Response(status_code=400)
    return Response(_EMPTY, media_type="application/json")
