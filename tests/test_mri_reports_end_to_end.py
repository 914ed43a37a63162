"""End to end: a patient-view whose only MRI activity is written in a radiology report."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cards.render import EXPLANATION_KEY
from tests.builders import bundle, condition, hook_request
from tests.records import mri_report, rx

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
