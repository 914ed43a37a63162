"""CORS in a real browser: a page on another localhost origin calls discovery and a service."""

from __future__ import annotations

import html
import json
import logging
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests import jwt_support as js
from tests.builders import hook_request
from tests.servers import page_server, uvicorn_server

CHROMIUM = next(
    (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p),
    None,
)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium installed (apt-get install chromium; .ci/run installs it)",
    ),
]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>cross-origin CDS client</title></head>
<body><pre id="out">pending</pre>
<script>
(async () => {
  const api = %(api)s, token = %(token)s, body = %(body)s;
  const out = {};
  try {
    const discovery = await fetch(api + "/cds-services");
    out.discovery = discovery.status;
    out.services = (await discovery.json()).services.map((s) => s.id);
    const call = await fetch(api + "/cds-services/ms-patient-view", {
      method: "POST",
      headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
    out.service = call.status;
    out.cards = Array.isArray((await call.json()).cards);
  } catch (error) {
    out.error = String(error);
  }
  document.getElementById("out").textContent = JSON.stringify(out);
})();
</script></body></html>
"""


class AccessRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(
            (getattr(record, "method", ""), getattr(record, "route", ""), record.status)  # type: ignore[attr-defined]
        )


@pytest.fixture
def access_records() -> Iterator[list[tuple[str, str, int]]]:
    handler = AccessRecords()
    logger = logging.getLogger("ms_cds.access")
    # Logging is configured by the ASGI entry point, not by create_app: this app is
    # served directly, so the access logger's level is set here.
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def run_page(url: str, profile: Path) -> dict[str, object]:
    """Load `url` in headless Chromium and return what the page wrote into #out."""
    assert CHROMIUM is not None
    result = subprocess.run(  # noqa: S603 (fixed arguments, local URL)
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    match = re.search(r'<pre id="out">(.*?)</pre>', result.stdout, re.DOTALL)
    assert match, f"no page output; chromium said: {result.stderr[-2000:]}"
    text = html.unescape(match.group(1))
    assert text != "pending", "the page's script did not finish"
    output: dict[str, object] = json.loads(text)
    return output


def test_cross_origin_calls_from_a_browser(
    app_factory: Callable[..., FastAPI],
    tmp_path: Path,
    access_records: list[tuple[str, str, int]],
) -> None:
    """A page on an allowed origin reads discovery and a service's cards (after a preflight)."""
    signer = js.es384("browser-1")
    page: dict[str, str] = {}
    # The allowed origin is known once the page server runs, the API's URL once uvicorn
    # runs: the page is written last.
    with page_server(lambda: page["html"]) as origin:
        settings = js.production_settings(
            trusted_issuers={js.ISSUER: {"jwks": js.jwks(signer)}}, cors_origins=[origin]
        )
        with uvicorn_server(app_factory(settings)) as api:
            token = signer.token(js.claims(aud=js.SERVICE_URL))  # the configured public URL
            page["html"] = PAGE % {
                "api": json.dumps(api),
                "token": json.dumps(token),
                "body": json.dumps(hook_request("patient-view")),
            }
            output = run_page(origin + "/", tmp_path / "profile")
    assert output == {
        "discovery": 200,
        "services": ["ms-order-select", "ms-order-sign", "ms-patient-view"],
        "service": 200,
        "cards": True,
    }
    # The Authorization header made the browser ask first.
    assert ("OPTIONS", "/cds-services/{service_id}", 200) in access_records
