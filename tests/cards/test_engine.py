"""The engine in two steps: the drafts judged first, the record read only where a rule can
use it (skipping it never changes a card), then rules and cards."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import cards.engine
from cards.config import RuleConfig
from cards.engine import conclude, evaluate, judge
from fhir_mappings.build import PatientRecord
from fhir_mappings.facts import OrderKind, Problem
from tests.builders import bundle, hook_request, med_request, ms_condition
from tests.test_golden import CASES, normalise

TODAY = date(2026, 11, 25)


def _cards(app: FastAPI, case: dict[str, Any]) -> Any:
    with TestClient(app) as client:
        response = client.post(f"/cds-services/{case['service']}", json=case["request"])
    assert response.status_code == 200, response.text
    return normalise(response.json())


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_shortcut_never_changes_the_cards(
    path: Path, app_factory: Callable[..., FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every golden request gets the same cards with the record always read."""
    case = json.loads(path.read_text(encoding="utf-8"))
    today = date.fromisoformat(case["today"])
    with_shortcut = _cards(app_factory(today=today), case)
    monkeypatch.setattr(cards.engine, "patient_record_needed", lambda hook, judged: True)
    assert _cards(app_factory(today=today), case) == with_shortcut


def _record(body: dict[str, Any]) -> PatientRecord:
    return PatientRecord(
        patient_id=body["context"]["patientId"],
        prefetch=body["prefetch"],
        draft_orders=body["context"].get("draftOrders"),
    )


def test_unrelated_order_does_not_need_the_record() -> None:
    """An order that is neither MSC nor DMT: the record is not needed, not read, no card."""
    body = hook_request(
        "order-select",
        drafts=[med_request("m1", text="Baclofen 10 mg")],
        conditions=[ms_condition()],
    )
    record = _record(body)
    judgement = judge("order-select", record, body["context"]["selections"])
    assert [o.kind for o in judgement.judged] == [OrderKind.OTHER]
    assert not judgement.needs_record
    result = conclude(judgement, record, RuleConfig(), TODAY)
    assert result.cards == [] and result.facts.ms_diagnoses == ()


@pytest.mark.parametrize("text", ["Mesenchymal stem cells", "Ocrevus 300 mg IV"])
def test_msc_or_dmt_order_needs_the_record(text: str) -> None:
    """An MSC or a DMT order needs the patient's record, and step 2 reads it."""
    body = hook_request(
        "order-sign", drafts=[med_request("m1", text=text)], conditions=[ms_condition()]
    )
    judgement = judge("order-sign", _record(body))
    assert judgement.needs_record
    result = conclude(judgement, _record(body), RuleConfig(), TODAY)
    assert result.facts.ms_diagnoses


def test_patient_view_always_needs_the_record() -> None:
    """patient-view judges no order and always reads the record."""
    body = hook_request("patient-view", conditions=[ms_condition()])
    judgement = judge("patient-view", _record(body))
    assert judgement.needs_record and judgement.judged == () and judgement.orders == ()
    assert evaluate("patient-view", _record(body), RuleConfig(), TODAY).facts.ms_diagnoses


def test_order_select_judges_only_the_selections() -> None:
    """At order-select every draft is read, only the selected ones judged; an unselected
    MSC order neither needs the record nor gets a card."""
    drafts = [med_request("msc", text="Mesenchymal stem cells"), med_request("b", "Baclofen")]
    body = hook_request("order-select", drafts=drafts, selections=[" MedicationRequest/b "])
    judgement = judge("order-select", _record(body), body["context"]["selections"])
    assert [o.ref for o in judgement.orders] == ["MedicationRequest/msc", "MedicationRequest/b"]
    assert [o.ref for o in judgement.judged] == ["MedicationRequest/b"]
    assert not judgement.needs_record


def test_step_two_needs_no_drafts() -> None:
    """Step 2 works from the judgement: a record without its drafts gives the same cards."""
    body = hook_request(
        "order-sign",
        drafts=[med_request("m1", text="Mesenchymal stem cells")],
        conditions=[ms_condition()],
    )
    judgement = judge("order-sign", _record(body))
    without_drafts = PatientRecord("pat-1", body["prefetch"])
    cards = conclude(judgement, without_drafts, RuleConfig(), TODAY).cards
    assert [c.topic for c in cards] == ["mscWarning"]


def test_judgement_lists_what_the_drafts_reference_and_the_request_lacks() -> None:
    """A Medication neither in the drafts nor the prefetch is listed for the edge to fetch."""
    order = med_request("m1", medicationReference={"reference": "Medication/absent"})
    record = PatientRecord("pat-1", {"conditions": bundle(ms_condition())}, bundle(order))
    judgement = judge("order-sign", record)
    assert judgement.unresolved == ("Medication/absent",)
    assert [o.kind for o in judgement.judged] == [OrderKind.OTHER]


def test_draft_notes_come_before_the_record_notes() -> None:
    """The facts' parse notes hold the drafts' notes, then the record's, each once."""
    order = med_request("m1", text="Mesenchymal stem cells", reasonReference=[7])
    broken = ms_condition("c2", recordedDate="someday")
    record = PatientRecord(
        "pat-1", {"conditions": bundle(ms_condition(), broken)}, bundle(order, kind="collection")
    )
    result = evaluate("order-sign", record, RuleConfig(), TODAY)
    assert [(n.resource_type, n.problem) for n in result.facts.parse_notes] == [
        ("MedicationRequest", Problem.WRONG_TYPE),
        ("Condition", Problem.INVALID_DATE),
    ]
    assert [c.topic for c in result.cards] == ["mscWarning"]
