"""Prometheus metrics: every metric the service exports, and the helpers that record them.

    cds_hook_requests_total{service,hook,status}      hook calls (POST /cds-services/{id})
    cds_hook_request_duration_seconds{service,hook}   whole hook call
    cds_stage_duration_seconds{stage}                 parse, prefetch, mapping, rules, render
    cds_cards_total{service,topic,indicator}          cards returned
    cds_fhir_fetches_total{outcome}                   FHIR server fetches (count_fetch)
    cds_jwt_rejections_total{reason}                  refused client JWTs (count_jwt_rejection)
    cds_skipped_invalid_total{resource_type,kind}     what the lenient FHIR parse dropped
    cds_ledger_quarantined_total{reason}              card ledger entries the database refused

No label ever carries patient data: every label value comes from a fixed set
(service ids and hooks from the catalogue, topics from the rule registry, FHIR
resource type names, the outcome and reason tuples below); anything else is
counted as "unknown" or "other".

Several uvicorn workers: when PROMETHEUS_MULTIPROC_DIR is set (`ms-cds serve
--workers N` sets it), each worker writes its values there and GET /metrics
aggregates all of them (prometheus-client multiprocess mode).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from functools import cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from cds_service.catalogue import SERVICES
from fhir_mappings.facts import ParseNote

__all__ = [
    "FETCH_OUTCOMES",
    "JWT_REJECTION_REASONS",
    "QUARANTINE_REASONS",
    "STAGES",
    "StageTimer",
    "count_cards",
    "count_fetch",
    "count_jwt_rejection",
    "count_ledger_quarantined",
    "count_skipped",
    "fetch_outcome",
    "multiprocess_dir",
    "observe_hook_call",
    "render_metrics",
]

STAGES = ("parse", "prefetch", "mapping", "rules", "render")

# Bounded label values. A new outcome or reason is added here, in one place.
FETCH_OUTCOMES = (
    "ok",
    "incomplete",
    "timeout",
    "network_error",
    "unauthorized",
    "not_found",
    "http_error",
    "too_large",
    "invalid_response",
    "redirect_refused",
    "unresolved",
)
# cds_service.auth.Reason values (a test keeps the two equal).
JWT_REJECTION_REASONS = (
    "missing_token",
    "malformed",
    "bad_alg",
    "missing_kid",
    "bad_typ",
    "unknown_issuer",
    "jku_not_allowed",
    "keys_unavailable",
    "unknown_kid",
    "bad_key",
    "bad_signature",
    "missing_claim",
    "bad_claim",
    "wrong_audience",
    "expired",
    "not_yet_valid",
    "iat_in_future",
    "lifetime_too_long",
    "replayed_jti",
    "not_ready",
)
# Why a card ledger entry was quarantined (cds_service.storage.ledger.data_reason).
QUARANTINE_REASONS = ("data_error", "integrity_error", "statement_error")
# Latency buckets for an order-entry hook: the spec asks for ~500 ms in all.
_STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("cds_hook_requests", "CDS Hooks service calls", ["service", "hook", "status"])
REQUEST_SECONDS = Histogram(
    "cds_hook_request_duration_seconds",
    "Duration of a CDS Hooks service call",
    ["service", "hook"],
    buckets=_REQUEST_BUCKETS,
)
STAGE_SECONDS = Histogram(
    "cds_stage_duration_seconds",
    "Duration of one pipeline stage of a hook call",
    ["stage"],
    buckets=_STAGE_BUCKETS,
)
CARDS = Counter("cds_cards", "Cards returned", ["service", "topic", "indicator"])
FHIR_FETCHES = Counter("cds_fhir_fetches", "FHIR server fetches by outcome", ["outcome"])
JWT_REJECTIONS = Counter("cds_jwt_rejections", "Refused client JWTs by reason", ["reason"])
SKIPPED = Counter(
    "cds_skipped_invalid",
    "FHIR resources or elements the lenient parse skipped as invalid",
    ["resource_type", "kind"],
)
LEDGER_QUARANTINED = Counter(
    "cds_ledger_quarantined",
    "Card ledger entries the database refused for a data reason (quarantined, not written)",
    ["reason"],
)

# Zero-valued series from the start, so rates and alerts work before the first event.
# The per-call series are also kept here, made once: `labels()` takes a lock and a
# lookup each time, several times in every hook call.
_STAGE_SERIES = {name: STAGE_SECONDS.labels(name) for name in STAGES}
_REQUEST_SERIES = {
    service_id: REQUEST_SECONDS.labels(service.id, service.hook)
    for service_id, service in SERVICES.items()
}
for _outcome in FETCH_OUTCOMES:
    FHIR_FETCHES.labels(_outcome)
for _reason in JWT_REJECTION_REASONS:
    JWT_REJECTIONS.labels(_reason)
for _reason in QUARANTINE_REASONS:
    LEDGER_QUARANTINED.labels(_reason)


def service_labels(service_id: str) -> tuple[str, str]:
    """(service, hook) label values: catalogue ids only, anything else 'unknown'."""
    service = SERVICES.get(service_id)
    return (service.id, service.hook) if service else ("unknown", "unknown")


def observe_hook_call(service_id: str, status: int, seconds: float) -> None:
    """One POST /cds-services/{id} answered with `status` after `seconds`."""
    service, hook = service_labels(service_id)
    REQUESTS.labels(service, hook, str(status)).inc()
    series = _REQUEST_SERIES.get(service_id)
    (REQUEST_SECONDS.labels(service, hook) if series is None else series).observe(seconds)


def count_fetch(outcome: str, keys: int = 1) -> None:
    """`keys` prefetch keys' FHIR fetches (pages and redirects included) ended with `outcome`."""
    FHIR_FETCHES.labels(outcome if outcome in FETCH_OUTCOMES else "other").inc(keys)


def fetch_outcome(gap: str | None) -> str:
    """The FETCH_OUTCOMES value for a fetch's gap reason (cds_service.fetch.client)."""
    if gap is None:
        return "ok"
    if gap.startswith("incomplete"):
        return "incomplete"
    if gap in ("timeout", "deadline exceeded"):
        return "timeout"
    if gap.startswith("HTTP "):
        status = gap.removeprefix("HTTP ")
        return {"401": "unauthorized", "403": "unauthorized", "404": "not_found"}.get(
            status, "http_error"
        )
    return {
        "connection failed": "network_error",
        "fhirServer host name not resolved": "unresolved",
        "response too large": "too_large",
        "not JSON": "invalid_response",
        "unsupported encoding": "invalid_response",
        "corrupt encoding": "invalid_response",
        "not a FHIR resource": "invalid_response",
        "server answered with an OperationOutcome": "invalid_response",
        "redirected to another host (not followed)": "redirect_refused",
        "too many redirects": "redirect_refused",
        "redirected outside the FHIR base (not followed)": "redirect_refused",
    }.get(gap, "other")


def count_jwt_rejection(reason: str) -> None:
    """A client JWT was refused for `reason` (JWT_REJECTION_REASONS)."""
    JWT_REJECTIONS.labels(reason if reason in JWT_REJECTION_REASONS else "other").inc()


def count_ledger_quarantined(reason: str, entries: int = 1) -> None:
    """Card ledger entries quarantined for `reason` (storage.ledger.QUARANTINE_REASONS)."""
    LEDGER_QUARANTINED.labels(reason if reason in QUARANTINE_REASONS else "other").inc(entries)


def count_cards(service_id: str, cards: Iterable[tuple[str | None, str]]) -> None:
    """Cards returned by a service, as (topic, indicator) pairs."""
    service, _ = service_labels(service_id)
    for topic, indicator in cards:
        CARDS.labels(service, _bounded_topic(topic), indicator).inc()


@cache
def _registry_topics() -> frozenset[str]:
    from cards.registry import RULES  # topics are the registry's, nothing else

    return frozenset(rule.topic for rule in RULES)


def _bounded_topic(topic: str | None) -> str:
    return topic if topic in _registry_topics() else "other"


def count_skipped(parse_notes: Iterable[ParseNote]) -> None:
    """The lenient reader's notes, counted by resource type and problem (both bounded)."""
    for note in parse_notes:
        SKIPPED.labels(_resource_type(note.resource_type), note.problem.value).inc()


def _resource_type(name: str) -> str:
    return name if len(name) <= 64 and name.isalpha() and _is_fhir_type(name) else "other"


@cache
def _fhir_type_names() -> frozenset[str]:
    """Every R4B type name (resources and data types): the library's, not the caller's."""
    from fhir.resources.R4B import fhirtypes

    return frozenset(name.removesuffix("Type") for name in dir(fhirtypes) if name.endswith("Type"))


def _is_fhir_type(name: str) -> bool:
    return name in _fhir_type_names()


class _Stage:
    """One timed stage of a StageTimer."""

    __slots__ = ("_name", "_seconds", "_started")

    def __init__(self, seconds: dict[str, float], name: str) -> None:
        self._seconds = seconds
        self._name = name
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        elapsed = time.perf_counter() - self._started
        self._seconds[self._name] = self._seconds.get(self._name, 0.0) + elapsed


class StageTimer:
    """One hook call's stage clock: a stage may be entered more than once (its times add
    up); `observe()` records each stage once, at the end of the call."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def stage(self, name: str) -> _Stage:
        return _Stage(self.seconds, name)

    def observe(self) -> None:
        for name, seconds in self.seconds.items():
            series = _STAGE_SERIES.get(name)
            (STAGE_SECONDS.labels(name) if series is None else series).observe(seconds)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render_metrics() -> tuple[bytes, str]:
    """The exposition text: this process's registry, or every worker's in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
