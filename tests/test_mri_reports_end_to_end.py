"""End to end: a patient-view whose only MRI activity is written in a radiology report."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cards.render import EXPLANATION_KEY
from cds_service import pipeline
from fhir_mappings.build import PatientRecord
from tests.builders import bundle, condition, hook_request, med_request
from tests.records import mri_report, observation, rx

REPORT = (
    "EXAM: MRI brain with and without contrast.\n"
    "INDICATION: Relapsing MS on glatiramer. Prior MRI showed 1 enhancing lesion.\n"
    "FINDINGS: Two new T2 hyperintense lesions in the left centrum semiovale. "
    "One of them is a new enhancing lesion. Several non-enhancing lesions, unchanged.\n"
    "IMPRESSION: 2 new T2 lesions, one enhancing lesion: active demyelinating disease."
)


def test_patient_view_reads_activity_from_a_diagnostic_report(client: TestClient) -> None:
    """RRMS on glatiramer with activity only in an MRI report's presentedForm text: the
    dmtEscalation card's explanation names the report, its counts and its date."""
    body = hook_request(
        "patient-view",
        conditions=[condition("ms-1", "426373005", onsetDateTime="2019-03-01")],
        medicationRequests=bundle(rx("gla-1", "glatiramer acetate 20 MG/ML", start="2023-01-10")),
        mriReports=bundle(mri_report("mri-7", when="2026-09-14", text=REPORT)),
    )
    response = client.post("/cds-services/ms-patient-view", json=body)
    assert response.status_code == 200
    cards = {card["extension"][EXPLANATION_KEY]["rule"]: card for card in response.json()["cards"]}
    assert "dmtEscalation" in cards, list(cards)
    explained = cards["dmtEscalation"]["extension"][EXPLANATION_KEY]
    assert "DiagnosticReport/mri-7" in explained["resources"]
    events = explained["facts"]["activity"]["events"]
    assert {
        "what": "2 new/enlarging T2 lesions",
        "date": "2026-09-14",
        "source": "DiagnosticReport/mri-7",
    } in events
    assert {
        "what": "1 Gd-enhancing lesion",
        "date": "2026-09-14",
        "source": "DiagnosticReport/mri-7",
    } in events
    assert "centrum" not in response.text and "demyelinating" not in response.text


_FRESH_WORKER = """
import json, sys
from fastapi.testclient import TestClient
from cds_service.app import create_app
from cds_service.config import Settings
from fhir_mappings.mri_text import pipeline_ready

calls = json.loads(sys.stdin.read())
out = {}
with TestClient(create_app(Settings(dev=True))) as client:
    out["after_start_up"] = [pipeline_ready(), "spacy" in sys.modules]
    for name, path, body in calls:
        response = client.post(path, json=body)
        out[name] = [response.status_code, pipeline_ready(), response.json()]
print(json.dumps(out))
"""


def test_text_model_is_built_on_first_need_only(tmp_path: Path) -> None:
    """A fresh worker starts and answers an order hook and a patient-view without report
    text with the MRI text model unbuilt (spaCy not even imported); the first patient-view
    with a report builds it and reads the report."""
    ms = [condition("ms-1", "426373005", onsetDateTime="2019-03-01")]
    no_text = hook_request("patient-view", conditions=ms)
    msc = med_request("msc-1", text="Mesenchymal stem cell infusion")
    order = hook_request("order-select", drafts=[msc], conditions=ms)
    with_text = hook_request(
        "patient-view",
        conditions=[condition("ms-1", "426373005", onsetDateTime="2019-03-01")],
        medicationRequests=bundle(rx("gla-1", "glatiramer acetate 20 MG/ML", start="2023-01-10")),
        mriReports=bundle(mri_report("mri-7", when="2026-09-14", text=REPORT)),
    )
    calls = [
        ["order", "/cds-services/ms-order-select", order],
        ["no_text", "/cds-services/ms-patient-view", no_text],
        ["with_text", "/cds-services/ms-patient-view", with_text],
    ]
    env = {**os.environ, "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.sqlite3"}
    subprocess.run(
        [sys.executable, "-m", "cds_service.cli", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", _FRESH_WORKER],
        input=json.dumps(calls),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["after_start_up"] == [False, False]
    assert out["order"][:2] == [200, False]
    assert "mscWarning" in json.dumps(out["order"][2])
    assert out["no_text"][:2] == [200, False]
    status, ready, response = out["with_text"]
    assert (status, ready) == (200, True)
    assert "DiagnosticReport/mri-7" in json.dumps(response)


@pytest.mark.parametrize(
    ("prefetch", "built"),
    [
        ({"mriReports": bundle(mri_report("r", text=REPORT))}, True),
        ({"observations": bundle(observation("o", "MRI brain", valueString=REPORT))}, True),
        ({"observations": bundle(observation("o", "EDSS", value=3.0))}, False),
        ({"conditions": bundle(condition("ms-1", "426373005"))}, False),
    ],
)
def test_the_text_model_is_built_off_the_loop_for_any_record_that_may_hold_report_text(
    monkeypatch: pytest.MonkeyPatch, prefetch: dict[str, Any], built: bool
) -> None:
    """Report text in a DiagnosticReport or in an Observation's valueString builds the model
    in the CPU pool before the record is read; a record without text builds nothing."""
    builds: list[int] = []
    monkeypatch.setattr(pipeline, "pipeline_ready", lambda: False)
    monkeypatch.setattr(pipeline, "load_pipeline", lambda: builds.append(1))
    asyncio.run(pipeline.build_text_model(PatientRecord("p", prefetch)))
    assert builds == ([1] if built else [])
