"""What `ms-cds demo` prints: a sandbox link per demo patient, and a curl for an MSC
order-select.

The sandbox's own URL parameters (cds-hooks/sandbox@3b7e255: `fhirServiceUrl` in
fhir-metadata-retrieval.js, `patientId` in patient-retrieval.js, `serviceDiscoveryURL`,
`hook` and `screen` in main-view.jsx) override what its localStorage remembers.
"""

from __future__ import annotations

import json
import shlex
import uuid
from urllib.parse import urlencode

from cds_service.demo.fhir import PREFIX
from demo_data import SITUATIONS
from demo_data.requests import msc_order_select

__all__ = [
    "SANDBOX",
    "curl_msc_order_select",
    "local_base",
    "sandbox_order_url",
    "sandbox_url",
    "start_banner",
]

SANDBOX = "https://sandbox.cds-hooks.org/"
CURL_PATIENT = "ms-ahsct"  # an MSC order for an AHSCT candidate: the warning names AHSCT


def local_base(host: str, port: int) -> str:
    """The URL a browser on this machine uses (a wildcard bind is reached on loopback)."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (naming the wildcard, not binding it)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def sandbox_url(base: str, patient_id: str, hook: str = "patient-view", **extra: str) -> str:
    """The public sandbox, pointed at this server's demo FHIR endpoint and services."""
    screen = {"patient-view": "patient-view", "order-select": "rx-view"}[hook]
    query = {
        "fhirServiceUrl": base + PREFIX,
        "patientId": patient_id,
        "serviceDiscoveryURL": base + "/cds-services",
        "hook": hook,
        "screen": screen,
        **extra,
    }
    return SANDBOX + "?" + urlencode(query)


def sandbox_order_url(base: str) -> str:
    """The sandbox's Rx View (order-select) for the escalation patient. Its
    `prescribedMedication` parameter cannot preselect the drug: the medication form is
    cleared once the patient loads (medication-reducers.js, GET_PATIENT_SUCCESS)."""
    return sandbox_url(base, "ms-escalation", "order-select")


def curl_msc_order_select(base: str, patient_id: str = CURL_PATIENT) -> str:
    body = msc_order_select(patient_id, base + PREFIX, str(uuid.uuid4()))
    return (
        f"curl -s -X POST {base}/cds-services/ms-order-select "
        f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}"
    )


def start_banner(base: str) -> str:
    """The text printed on start: one sandbox link per patient, then the curl."""
    lines = [
        f"Demo FHIR R4 server (synthetic patients, read-only): {base}{PREFIX}",
        "Open a link in Chrome (allow 'local network access' when asked: the sandbox page",
        "calls this server on your machine). Patients:",
        "",
    ]
    for situation in SITUATIONS:
        lines += [f"  {situation.id}: {situation.title}: {situation.shows}"]
        lines += [f"    {sandbox_url(base, situation.id)}", ""]
    lines += [
        "A platform DMT order for the escalation patient: in the Rx View, type fingolimod",
        "and pick 'fingolimod 0.5 MG Oral Capsule':",
        f"  {sandbox_order_url(base)}",
        "",
        "An MSC infusion order (order-select) for the AHSCT candidate, no prefetch:",
        f"  {curl_msc_order_select(base)}",
        "",
    ]
    return "\n".join(lines)
