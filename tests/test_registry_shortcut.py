"""The record is parsed only where a rule can use it, and skipping it never changes a card."""

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
from cards.engine import evaluate
from fhir_mappings.build import PatientRecord
from tests.builders import hook_request, med_request, ms_condition
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


def test_unrelated_order_does_not_read_the_record() -> None:
    """An order that is neither MSC nor DMT leaves the record unread and gets no card."""
    body = hook_request(
        "order-select",
        drafts=[med_request("m1", text="Baclofen 10 mg")],
        conditions=[ms_condition()],
    )
    result = evaluate(
        "order-select", _record(body), RuleConfig(), TODAY, selections=body["context"]["selections"]
    )
    assert result.cards == [] and result.patient_facts is None
    assert result.facts.ms_diagnoses == ()


@pytest.mark.parametrize("text", ["Mesenchymal stem cells", "Ocrevus 300 mg IV"])
def test_msc_or_dmt_order_reads_the_record(text: str) -> None:
    """An MSC or a DMT order reads the patient's record."""
    body = hook_request(
        "order-sign", drafts=[med_request("m1", text=text)], conditions=[ms_condition()]
    )
    result = evaluate("order-sign", _record(body), RuleConfig(), TODAY)
    assert result.patient_facts is not None and result.patient_facts.ms_diagnoses


def test_patient_view_always_reads_the_record() -> None:
    """patient-view reads the record."""
    body = hook_request("patient-view", conditions=[ms_condition()])
    result = evaluate("patient-view", _record(body), RuleConfig(), TODAY)
    assert result.patient_facts is not None and result.patient_facts.ms_diagnoses
