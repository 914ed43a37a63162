"""In headless Chromium: a page on another origin reads the demo FHIR endpoint as the
sandbox does (metadata, Patient, a form POST _search) and shows the service's card."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.servers import page_server, uvicorn_server
from tests.test_browser import CHROMIUM, run_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)"),
]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>demo patient in a browser</title></head>
<body><pre id="out">pending</pre>
<script>
(async () => {
  const api = %(api)s, patient = %(patient)s, hookInstance = %(hook_instance)s;
  const fhir = api + "/demo/fhir", accept = {"Accept": "application/json+fhir"};
  const out = {};
  try {
    out.fhirVersion = (await (await fetch(fhir + "/metadata", {headers: accept})).json())
      .fhirVersion;
    out.name = (await (await fetch(fhir + "/Patient/" + patient, {headers: accept})).json())
      .name[0].given.join(" ");
    const conditions = await fetch(fhir + "/Condition/_search", {
      method: "POST",
      headers: {...accept, "Content-Type": "application/x-www-form-urlencoded"},
      body: "patient=" + encodeURIComponent(patient),
    });
    out.conditions = (await conditions.json()).total;
    const call = await fetch(api + "/cds-services/ms-patient-view", {
      method: "POST",
      headers: {"Authorization": "Bearer unchecked", "Content-Type": "application/json"},
      body: JSON.stringify({
        hook: "patient-view", hookInstance, fhirServer: fhir,
        context: {userId: "Practitioner/demo", patientId: patient},
      }),
    });
    out.service = call.status;
    out.cards = (await call.json()).cards.map((card) => card.summary);
  } catch (error) {
    out.error = String(error);
  }
  document.getElementById("out").textContent = JSON.stringify(out);
})();
</script></body></html>
"""


def test_a_browser_page_shows_the_demo_card(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    """Cross-origin from a page, the AHSCT candidate's record reads and its card shows."""
    page: dict[str, str] = {}
    with page_server(lambda: page["html"]) as origin:
        # Development mode answers localhost origins (and the public sandbox's).
        with uvicorn_server(app_factory(make_settings(demo=True))) as api:
            page["html"] = PAGE % {
                "api": json.dumps(api),
                "patient": json.dumps("ms-ahsct"),
                "hook_instance": json.dumps(str(uuid.uuid4())),
            }
            output = run_page(origin + "/", tmp_path / "profile")
    assert output == {
        "fhirVersion": "4.0.1",
        "name": "AHSCT candidate",
        "conditions": 2,
        "service": 200,
        "cards": [
            "AHSCT criteria met: consider referral to an MS / transplant team for "
            "evaluation for autologous haematopoietic stem cell transplantation"
        ],
    }
