"""GET /metrics and what the service counts: hook calls, stages, cards, skips, fetches, JWTs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import respx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from cards.config import RuleConfig
from cards.engine import evaluate
from cds_service.ops import metrics
from fhir_mappings.build import PatientRecord
from fhir_mappings.facts import ParseNote, Problem
from tests.builders import bundle, hook_request, med_request, ms_condition, patient
from tests.conftest import TODAY, make_settings
from tests.fhir_fakes import BASE, fetch_request, resolve

EXAMPLE = Path(__file__).parents[3] / "examples" / "order-select-msc.json"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def msc_request(patient_id: str = "pat-1") -> dict[str, Any]:
    order = med_request("msc-1", text="Mesenchymal stem cell infusion")
    request = hook_request(
        "order-select",
        drafts=[order],
        conditions=[ms_condition()],
        patient_resource=patient(pid=patient_id),
    )
    request["context"]["patientId"] = patient_id
    return request


def test_metrics_endpoint_serves_prometheus_text(client: TestClient) -> None:
    """/metrics answers the Prometheus text format with every metric the service defines."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    names = {f.name for f in text_string_to_metric_families(response.text)}
    assert {
        "cds_hook_requests",
        "cds_hook_request_duration_seconds",
        "cds_stage_duration_seconds",
        "cds_cards",
        "cds_fhir_fetches",
        "cds_jwt_rejections",
        "cds_skipped_invalid",
    } <= names


def test_metrics_can_be_turned_off(app_factory: Callable[..., FastAPI]) -> None:
    """CDS_METRICS_ENABLED=false removes /metrics (404)."""
    with TestClient(app_factory(make_settings(metrics_enabled=False))) as client:
        assert client.get("/metrics").status_code == 404


def test_hook_call_counted_by_service_hook_status(client: TestClient) -> None:
    """A hook call adds one to requests{service, hook, status} and to the latency histogram."""
    labels = {"service": "ms-order-select", "hook": "order-select", "status": "200"}
    before = value("cds_hook_requests_total", **labels)
    timed = value(
        "cds_hook_request_duration_seconds_count", service="ms-order-select", hook="order-select"
    )
    response = client.post("/cds-services/ms-order-select", json=msc_request())
    assert response.status_code == 200
    assert value("cds_hook_requests_total", **labels) == before + 1
    assert (
        value(
            "cds_hook_request_duration_seconds_count",
            service="ms-order-select",
            hook="order-select",
        )
        == timed + 1
    )


def test_errors_counted_with_their_status(client: TestClient) -> None:
    """4xx answers are counted under their status: 400 for bad JSON, 412 for missing patient."""
    bad = {"service": "ms-order-sign", "hook": "order-sign", "status": "400"}
    before_bad = value("cds_hook_requests_total", **bad)
    response = client.post(
        "/cds-services/ms-order-sign",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert value("cds_hook_requests_total", **bad) == before_bad + 1

    missing = {"service": "ms-order-select", "hook": "order-select", "status": "412"}
    before_missing = value("cds_hook_requests_total", **missing)
    request = msc_request()
    del request["prefetch"]["patient"]
    assert client.post("/cds-services/ms-order-select", json=request).status_code == 412
    assert value("cds_hook_requests_total", **missing) == before_missing + 1


def test_unknown_service_id_is_labelled_unknown(client: TestClient) -> None:
    """An unknown service id is counted as 'unknown': the id itself never becomes a label."""
    before = value("cds_hook_requests_total", service="unknown", hook="unknown", status="404")
    response = client.post("/cds-services/pat-secret-12345", json=msc_request())
    assert response.status_code == 404
    after = value("cds_hook_requests_total", service="unknown", hook="unknown", status="404")
    assert after == before + 1
    assert "pat-secret-12345" not in client.get("/metrics").text


def test_each_stage_observed_once_per_call(client: TestClient) -> None:
    """One hook call adds exactly one observation to each of the five stage histograms."""
    before = {s: value("cds_stage_duration_seconds_count", stage=s) for s in metrics.STAGES}
    assert client.post("/cds-services/ms-order-select", json=msc_request()).status_code == 200
    after = {s: value("cds_stage_duration_seconds_count", stage=s) for s in metrics.STAGES}
    assert {s: after[s] - before[s] for s in metrics.STAGES} == dict.fromkeys(metrics.STAGES, 1)


def test_failed_call_observes_stages_it_reached(client: TestClient) -> None:
    """A call refused at prefetch (412) records parse and prefetch, not mapping or later."""
    before = {s: value("cds_stage_duration_seconds_count", stage=s) for s in metrics.STAGES}
    request = msc_request()
    del request["prefetch"]["patient"]
    assert client.post("/cds-services/ms-order-select", json=request).status_code == 412
    after = {s: value("cds_stage_duration_seconds_count", stage=s) for s in metrics.STAGES}
    delta = {s: after[s] - before[s] for s in metrics.STAGES}
    assert delta == {"parse": 1, "prefetch": 1, "mapping": 0, "rules": 0, "render": 0}


def test_cards_counted_by_topic(client: TestClient) -> None:
    """Each returned card adds one to cards{service, topic, indicator}."""
    labels = {"service": "ms-order-select", "topic": "mscWarning", "indicator": "critical"}
    before = value("cds_cards_total", **labels)
    response = client.post("/cds-services/ms-order-select", json=msc_request())
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["mscWarning"]
    assert value("cds_cards_total", **labels) == before + 1


def test_skipped_invalid_elements_counted(client: TestClient) -> None:
    """An element a mapping reads and skips is counted by resource type and problem; the
    spec example's STU3 doseQuantity, which no mapping reads, is not counted at all."""
    labels = {"resource_type": "MedicationRequest", "kind": "wrong_type"}
    before = value("cds_skipped_invalid_total", **labels)
    request = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert client.post("/cds-services/ms-order-select", json=request).status_code == 200
    assert value("cds_skipped_invalid_total", **labels) == before
    broken = msc_request()
    broken["context"]["draftOrders"]["entry"][0]["resource"]["reasonReference"] = ["Condition/x"]
    assert client.post("/cds-services/ms-order-select", json=broken).status_code == 200
    assert value("cds_skipped_invalid_total", **labels) == before + 1


def test_no_patient_data_in_metrics(client: TestClient) -> None:
    """Patient id, hookInstance and order text never appear in the metrics output."""
    request = msc_request(patient_id="phi-patient-987")
    request["hookInstance"] = "phi-hook-instance-654"
    request["prefetch"]["conditions"] = bundle(ms_condition("phi-condition-321"))
    assert client.post("/cds-services/ms-order-select", json=request).status_code == 200
    text = client.get("/metrics").text
    for planted in ("phi-patient-987", "phi-hook-instance-654", "phi-condition-321", "msc-1"):
        assert planted not in text


def test_fetch_and_jwt_helpers_bound_their_labels() -> None:
    """count_fetch and count_jwt_rejection count known values and fold the rest into 'other'."""
    ok, other = (
        value("cds_fhir_fetches_total", outcome="ok"),
        value("cds_fhir_fetches_total", outcome="other"),
    )
    metrics.count_fetch("ok")
    metrics.count_fetch("Patient/123 failed")
    assert value("cds_fhir_fetches_total", outcome="ok") == ok + 1
    assert value("cds_fhir_fetches_total", outcome="other") == other + 1

    expired = value("cds_jwt_rejections_total", reason="expired")
    metrics.count_jwt_rejection("expired")
    metrics.count_jwt_rejection("eyJhbGciOi.token")
    assert value("cds_jwt_rejections_total", reason="expired") == expired + 1
    assert (
        REGISTRY.get_sample_value("cds_jwt_rejections_total", {"reason": "eyJhbGciOi.token"})
        is None
    )


def test_every_outcome_and_reason_exported_at_zero(client: TestClient) -> None:
    """Every fetch outcome and JWT rejection reason is a series from start-up on."""
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    outcomes = {s.labels["outcome"] for s in families["cds_fhir_fetches"].samples}
    reasons = {s.labels["reason"] for s in families["cds_jwt_rejections"].samples}
    assert set(metrics.FETCH_OUTCOMES) <= outcomes
    assert set(metrics.JWT_REJECTION_REASONS) <= reasons


def test_skip_notes_bounded() -> None:
    """Parse notes are counted by FHIR resource type and problem; a type that is no FHIR
    resource type is 'other'."""

    def note(rtype: str, problem: Problem) -> ParseNote:
        return ParseNote(resource_type=rtype, resource_id="1", element="code", problem=problem)

    before = value("cds_skipped_invalid_total", resource_type="other", kind="wrong_type")
    dates = value("cds_skipped_invalid_total", resource_type="Condition", kind="invalid_date")
    metrics.count_skipped(
        [note("Condition", Problem.INVALID_DATE), note("Smith John", Problem.WRONG_TYPE)]
    )
    assert (
        value("cds_skipped_invalid_total", resource_type="Condition", kind="invalid_date")
        == dates + 1
    )
    assert (
        value("cds_skipped_invalid_total", resource_type="other", kind="wrong_type") == before + 1
    )


def test_engine_reports_mapping_rules_render_in_order() -> None:
    """evaluate() times mapping, rules and render through the clock it is given, same cards."""
    seen: list[str] = []

    @contextmanager
    def clock(stage: str) -> Iterator[None]:
        seen.append(stage)
        yield

    order = med_request("msc-1", text="Mesenchymal stem cell infusion")
    record = PatientRecord(
        patient_id="pat-1",
        prefetch={"conditions": bundle(ms_condition())},
        draft_orders=bundle(order, kind="collection"),
    )
    timed = evaluate("order-sign", record, RuleConfig(), TODAY, stage=clock)
    untimed = evaluate("order-sign", record, RuleConfig(), TODAY)
    assert list(dict.fromkeys(seen)) == ["mapping", "rules", "render"]
    assert [c.topic for c in timed.cards] == [c.topic for c in untimed.cards] == ["mscWarning"]


def test_stage_timer_adds_repeated_stages() -> None:
    """A stage entered twice in one call is observed once, with the times added."""
    timer = metrics.StageTimer()
    with timer.stage("parse"):
        pass
    with timer.stage("parse"):
        pass
    before = value("cds_stage_duration_seconds_count", stage="parse")
    timer.observe()
    assert list(timer.seconds) == ["parse"]
    assert value("cds_stage_duration_seconds_count", stage="parse") == before + 1


async def test_fhir_fetches_counted_by_outcome() -> None:
    """Each fetched prefetch key counts once under its outcome: ok, not_found, http_error."""
    before = {o: value("cds_fhir_fetches_total", outcome=o) for o in metrics.FETCH_OUTCOMES}
    body = fetch_request("patient", "conditions", "observations")
    with respx.mock(base_url=BASE, assert_all_called=True) as fhir:
        fhir.get("/Patient/pat-1").respond(json=patient())
        fhir.get("/Condition").respond(404)
        fhir.get("/Observation").respond(500)
        record = await resolve(body)
    assert record.missing == {"conditions": "HTTP 404", "observations": "HTTP 500"}
    after = {o: value("cds_fhir_fetches_total", outcome=o) for o in metrics.FETCH_OUTCOMES}
    delta = {o: after[o] - before[o] for o in metrics.FETCH_OUTCOMES if after[o] != before[o]}
    assert delta == {"ok": 1, "not_found": 1, "http_error": 1}


def test_fetch_outcome_of_every_gap_reason() -> None:
    """Every gap reason the FHIR client gives maps to a fixed outcome, unknown ones to 'other'."""
    cases = {
        None: "ok",
        "timeout": "timeout",
        "deadline exceeded": "timeout",
        "incomplete: more than 5 pages": "incomplete",
        "incomplete: deadline exceeded": "incomplete",
        "HTTP 401": "unauthorized",
        "HTTP 403": "unauthorized",
        "HTTP 404": "not_found",
        "HTTP 500": "http_error",
        "connection failed": "network_error",
        "fhirServer host name not resolved": "unresolved",
        "response too large": "too_large",
        "not JSON": "invalid_response",
        "not a FHIR resource": "invalid_response",
        "server answered with an OperationOutcome": "invalid_response",
        "redirected to another host (not followed)": "redirect_refused",
        "too many redirects": "redirect_refused",
        "Patient/123 said no": "other",
    }
    assert {gap: metrics.fetch_outcome(gap) for gap in cases} == cases
    assert set(cases.values()) - {"other"} <= set(metrics.FETCH_OUTCOMES)


def test_jwt_reasons_match_auth_reasons() -> None:
    """The metric's reason values are exactly the authentication module's reason codes."""
    from cds_service.auth import Reason

    assert set(metrics.JWT_REJECTION_REASONS) == {r.value for r in Reason}


def test_jwt_rejection_counted(app_factory: Callable[..., FastAPI]) -> None:
    """A production call without a token is refused (401) and counted as missing_token."""
    from tests.fhir_fakes import production

    before = value("cds_jwt_rejections_total", reason="missing_token")
    with TestClient(app_factory(production())) as client:
        response = client.post("/cds-services/ms-order-select", json=msc_request())
    assert response.status_code == 401
    assert value("cds_jwt_rejections_total", reason="missing_token") == before + 1
    assert (
        value(
            "cds_hook_requests_total", service="ms-order-select", hook="order-select", status="401"
        )
        >= 1
    )
