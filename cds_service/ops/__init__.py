"""Operations: Prometheus metrics, PHI-free logs, readiness checks, the start-up heap."""

from cds_service.ops.heap import StartUpHeap
from cds_service.ops.logs import (
    HOOK_ROUTE,
    ConsoleFormatter,
    JsonFormatter,
    PatientHasher,
    configure_logging,
    log_hook_call,
    patient_hash,
    safe_hook_instance,
    uvicorn_log_config,
    uvicorn_options,
)
from cds_service.ops.metrics import (
    FETCH_OUTCOMES,
    JWT_REJECTION_REASONS,
    STAGES,
    StageTimer,
    count_cards,
    count_fetch,
    count_jwt_rejection,
    count_skipped,
    fetch_outcome,
    render_metrics,
)
from cds_service.ops.middleware import OpsMiddleware
from cds_service.ops.readiness import (
    CheckResult,
    Readiness,
    ReadinessCheck,
    database_check,
    ledger_check,
    value_sets_check,
)

__all__ = [
    "FETCH_OUTCOMES",
    "HOOK_ROUTE",
    "JWT_REJECTION_REASONS",
    "STAGES",
    "CheckResult",
    "ConsoleFormatter",
    "JsonFormatter",
    "OpsMiddleware",
    "PatientHasher",
    "Readiness",
    "ReadinessCheck",
    "StageTimer",
    "StartUpHeap",
    "configure_logging",
    "count_cards",
    "count_fetch",
    "count_jwt_rejection",
    "count_skipped",
    "database_check",
    "fetch_outcome",
    "ledger_check",
    "log_hook_call",
    "patient_hash",
    "render_metrics",
    "safe_hook_instance",
    "uvicorn_log_config",
    "uvicorn_options",
    "value_sets_check",
]
