"""Settings from CDS_-prefixed environment variables (or an env file).

The running app holds them in its `Runtime` (routes get them through `Depends`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cards.config import RuleConfig, RuleThresholds
from cards.orderables import OrderablesError, SiteCode, load_orderables
from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import EfficacyClass

__all__ = ["ASYMMETRIC_ALGORITHMS", "DEV_PATIENT_HASH_KEY", "Settings", "TrustedIssuer"]

# The only JWS algorithms a client may ever use: asymmetric, as CDS Hooks requires.
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "ES384", "ES512", "RS256", "RS384", "RS512"})
# Origins a development server answers cross-origin: the public sandbox and localhost.
DEV_CORS_ORIGINS = ("https://sandbox.cds-hooks.org",)
DEV_CORS_ORIGIN_REGEX = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$"
# Patient hashes in development only: fixed so development logs are comparable.
DEV_PATIENT_HASH_KEY = "ms-cds-development-only-patient-hash-key"


def _is_https(url: str) -> bool:
    return url.startswith("https://") and len(url) > len("https://")


class TrustedIssuer(BaseModel):
    """One trusted client: where its signing keys are, and which `jku` values it may send."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    jku: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _keys_somewhere(self) -> TrustedIssuer:
        if (self.jwks_url is None) == (self.jwks is None):
            raise ValueError("give exactly one of jwks_url or jwks")
        if self.jwks is not None and not isinstance(self.jwks.get("keys"), list):
            raise ValueError("jwks must be a JWK Set: an object with a 'keys' list")
        for url in (self.jwks_url, *self.jku):
            if url is not None and not _is_https(url):
                raise ValueError("jwks_url and jku entries must be https URLs")
        return self


class Settings(BaseSettings, RuleThresholds):
    model_config = SettingsConfigDict(
        env_prefix="CDS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # Each field's docstring is its description: `ms-cds config --markdown` builds
        # the settings table of docs/configuration.md from them.
        use_attribute_docstrings=True,
    )

    dev: bool = False
    """Development mode: readable logs, http and loopback FHIR servers allowed, no JWT check."""
    demo: bool = False
    """Serve the synthetic demo patients read-only at /demo/fhir (development mode only;
    `ms-cds demo` sets it)."""
    public_base_url: str | None = None
    """The service's public base URL (JWT `aud` is this plus the called path; links).
    Production needs it or CDS_AUDIENCE: `aud` is never derived from Host or X-Forwarded-*."""
    log_format: Literal["json", "console"] | None = None
    """Log format; default console in development, json otherwise."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    """Log level (case-insensitive)."""

    # --- rules and mappings (thresholds; issue 3) -------------------------------
    # The thresholds themselves (activity window, AHSCT age/duration/EDSS/MRI limits,
    # high-efficacy failure delay) are declared once, in cards.config.RuleThresholds.
    s1p_efficacy_class: Literal["platform", "high-efficacy"] = "platform"
    """Efficacy class of S1P modulators (fingolimod, siponimod, ozanimod, ponesimod)."""
    mri_gd_codes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Local Observation codes ("system|code", comma-separated) for Gd-enhancing lesion counts."""
    mri_new_t2_codes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Local Observation codes ("system|code", comma-separated) for new/enlarging T2 lesions."""
    dmt_window_months: dict[str, Annotated[int, Field(ge=1, le=120)]] = Field(default_factory=dict)
    """Months after a dose a patient counts as on a DMT, by ingredient (JSON, e.g.
    {"rituximab": 12}), replacing the label window."""
    order_codes_file: Path | None = None
    """JSON or YAML file mapping each proposal (a DMT ingredient, or ahsctReferral) to this
    site's orderable code (Epic creates orders only from its own codes); checked at start-up.
    Format: docs/configuration.md."""
    _orderables: dict[str, SiteCode] = PrivateAttr(default_factory=dict)
    edss_relapse_days: int = Field(30, ge=0)
    """An EDSS measured within this many days of a relapse onset is not used as the baseline
    when an out-of-relapse EDSS exists (it is listed as ignored, with why)."""

    # --- FHIR fetch and prefetch (issue 4) --------------------------------------
    fhir_call_timeout: float = Field(1.5, gt=0)
    """Seconds one FHIR call may take (connect, headers and body), per page or redirect."""
    fhir_deadline: float = Field(2.5, gt=0)
    """Seconds all FHIR fetching for one hook request may take together."""
    fhir_max_pages: int = Field(5, ge=1)
    """Bundle pages read per prefetch key (the first plus `next` links on the same server)."""
    fhir_max_response_bytes: int = Field(5_000_000, ge=1024)
    """Largest FHIR response body per call, in DECODED bytes (after gzip/deflate; the raw
    body is capped alike); a larger one counts as missing."""
    fhir_max_redirects: int = Field(3, ge=0)
    """Same-server redirects followed per call; a redirect to another host never is."""
    fhir_max_connections: int = Field(50, ge=1)
    """Connections the shared FHIR client pools and keeps alive across requests."""
    fhir_allowed_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Allowed fhirServer base URLs (comma-separated); empty: any that passes the host checks."""
    fhir_allow_http: bool = False
    """Allow http:// FHIR servers (development mode always does)."""
    fhir_allow_loopback: bool = False
    """Allow FHIR servers on loopback addresses (development mode always does)."""
    fhir_allow_private: bool = False
    """Allow FHIR servers on private addresses (10/8, 192.168/16, fc00::/7...); link-local never."""

    # --- client authentication, CORS, limits (issue 5) --------------------------
    trusted_issuers: dict[str, TrustedIssuer] = Field(default_factory=dict)
    """JSON: each trusted client `iss` -> {"jwks_url": ...} or {"jwks": {...}}, and "jku": [...]."""
    audience: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Accepted JWT `aud` values besides the called service URL (comma-separated; Epic: by hand)."""
    jwt_algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["ES384", "RS384"]
    )
    """Accepted JWT algorithms (comma-separated); any of ES256/384/512, RS256/384/512."""
    jwt_leeway_seconds: int = Field(default=60, ge=0, le=600)
    """Clock skew allowed on JWT `exp`, `nbf` and `iat`, in seconds."""
    jwt_max_lifetime_seconds: int = Field(default=3600, ge=60)
    """Longest accepted JWT lifetime (`exp` - `iat`); bounds the jti replay cache."""
    jwks_cache_seconds: int = Field(default=3600, ge=0)
    """How long a fetched JWKS is trusted before it is fetched again."""
    jwks_refetch_interval_seconds: float = Field(default=30.0, ge=0)
    """At most one refetch per JWKS URL in this interval when a token names an unknown `kid`."""
    jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    """Deadline for one whole JWKS fetch (connect, headers and body together)."""
    redis_url: str | None = None
    """Redis URL for the shared jti replay cache (several replicas); in memory when unset."""
    cors_origins: Annotated[list[str] | None, NoDecode] = None
    """Browser origins allowed to call (comma-separated); default: none in production, the
    public sandbox and localhost in development."""
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    """Largest accepted request body in bytes (413 beyond)."""
    max_json_depth: int = Field(default=256, ge=16, le=500)
    """Deepest JSON nesting a request body may have; deeper is refused with 400."""
    max_element_depth: int = Field(default=64, ge=8, le=500)
    """Containers nested deeper than this are dropped after decoding (logged count)."""
    max_matched_text_chars: int = Field(default=2048, ge=256, le=1_000_000)
    """Characters of each free text (concept text, display, note, instruction) matched
    against the value sets; the rest of a longer text is not read for codes or phrases."""
    max_resources: int = Field(default=10_000, ge=100)
    """Most FHIR resources in one request's record, prefetch sent plus fetched (a Bundle's
    entries count one each); more: 413."""
    max_draft_orders: int = Field(default=100, ge=1)
    """Most draft orders (context.draftOrders entries) in one request; more: 413."""
    max_cards: int = Field(default=50, ge=1)
    """Most cards in one response: beyond, the most severe are kept (critical, warning,
    info; in their order) and the rest withheld (logged and counted)."""
    max_response_bytes: int = Field(default=1_000_000, ge=10_000)
    """Largest response body: cards are withheld, least severe first, until it fits."""

    # --- storage: card ledger, feedback, analytics (issue 6) --------------------
    database_url: str = "sqlite:///ms-cds.sqlite3"
    """SQLAlchemy URL of the card ledger and feedback store; PostgreSQL: postgresql://..."""
    database_migrate_on_startup: bool | None = None
    """Apply database migrations at start-up; default yes in development, no otherwise."""
    database_connect_timeout: float = Field(default=3.0, gt=0)
    """Seconds to wait for a database connection before answering 503."""
    ledger_buffer_size: int = Field(default=100_000, ge=1)
    """Card ledger entries held in memory while the database is unreachable."""
    ledger_batch_size: int = Field(default=500, ge=1)
    """Card ledger entries written per database transaction."""
    ledger_write_interval_seconds: float = Field(default=0.2, ge=0, le=5)
    """The ledger writer gathers cards this long before a write (one transaction per batch,
    not per card); 0 writes each at once. Feedback and shutdown flush first."""
    ledger_shutdown_timeout: float = Field(default=10.0, ge=0)
    """Seconds allowed at shutdown to write the card ledger entries still in memory."""
    ledger_stuck_seconds: float = Field(default=60.0, gt=0)
    """GET /readyz reports the card ledger stuck when entries waited this long unwritten."""
    feedback_max_items: int = Field(default=1000, ge=1)
    """Most feedback items accepted in one feedback request (more: 413)."""
    feedback_requests_per_minute: int = Field(default=300, ge=0)
    """Feedback requests one client may send per minute, in bursts of as many (more: 429 with
    Retry-After); per process, keyed by the verified client (iss; development: the address);
    0: no limit."""
    feedback_items_per_hour: int = Field(default=20_000, ge=0)
    """Feedback items one client may send per hour, per process (more: 429 with Retry-After);
    0: no limit."""
    feedback_max_extension_bytes: int = Field(default=2048, ge=256)
    """Largest `extension` (with any other unknown fields) of one feedback item, as JSON
    bytes (more: 413)."""
    patient_hash_key: SecretStr | None = None
    """Key of the HMAC-SHA256 patient hash in logs and the ledger: required in production
    (32+ characters, the same on every replica); development: a fixed key."""
    admin_token: SecretStr | None = None
    """Bearer token for GET /analytics/cards; unset: the analytics endpoint is off (404)."""

    # --- operations: metrics, workers, readiness (issue 7) ----------------------
    host: str = "127.0.0.1"
    """Interface `ms-cds serve` binds (0.0.0.0 in a container)."""
    port: int = Field(default=8000, ge=1, le=65535)
    """Port `ms-cds serve` binds."""
    workers: int = Field(default=1, ge=1, le=64)
    """uvicorn worker processes; more than 1 puts metrics in multiprocess mode."""
    request_read_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    """`ms-cds serve`: seconds a client may take to send one request's headers and body
    (from the connection's opening or the request's first byte); then the connection is
    closed (uvicorn itself has no such timeout)."""
    graceful_shutdown_seconds: int = Field(default=20, ge=0, le=600)
    """On SIGTERM, how long in-flight requests may take before the workers stop."""
    metrics_enabled: bool = True
    """Serve Prometheus metrics at GET /metrics."""
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    """Time limit for each readiness check of GET /readyz (e.g. the database)."""
    readiness_database_interval_seconds: float = Field(default=5.0, ge=0, le=300)
    """GET /readyz pings the database at most once in this interval and answers the last
    result in between (it needs no authentication: its cost must not grow with callers)."""
    readiness_requires_database: bool = False
    """GET /readyz answers 503 while the database is unreachable; off: it reports it and stays
    200 (degraded), since cards are still served and the ledger buffers."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator(
        "mri_gd_codes",
        "mri_new_t2_codes",
        "fhir_allowed_servers",
        "audience",
        "jwt_algorithms",
        "cors_origins",
        mode="before",
    )
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        """List settings from the environment: comma-separated, or a JSON array."""
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("order_codes_file")
    @classmethod
    def _orderables_valid(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                load_orderables(value)
            except OrderablesError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _load_orderables(self) -> Settings:
        # Read once here (the field check above proved the file good): never per request.
        self._orderables = load_orderables(self.order_codes_file) if self.order_codes_file else {}
        return self

    @field_validator("jwt_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        bad = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if bad or not value:
            raise ValueError(f"allowed algorithms are {sorted(ASYMMETRIC_ALGORITHMS)}")
        return value

    def production_problems(self) -> list[str]:
        """Why this configuration must not serve in production (empty in development)."""
        if self.dev:
            return []
        problems = []
        if self.demo:
            problems.append(
                "CDS_DEMO serves synthetic demo patients: development mode only (ms-cds demo)"
            )
        if not self.trusted_issuers:
            problems.append(
                "CDS_TRUSTED_ISSUERS is empty: production verifies every client's JWT, so set "
                'it to {"<iss>": {"jwks_url": "https://..."}} (or run with --dev)'
            )
        if not self.public_base_url and not self.audience:
            problems.append(
                "CDS_PUBLIC_BASE_URL (or CDS_AUDIENCE) must be set: every client JWT's `aud` "
                "is checked against it, never against the Host or X-Forwarded-* headers a "
                "caller controls (e.g. CDS_PUBLIC_BASE_URL=https://cds.example.org)"
            )
        if self.workers > 1 and not self.redis_url:
            problems.append(
                f"CDS_WORKERS={self.workers} needs CDS_REDIS_URL: each worker process has its "
                "own memory, so without the shared jti replay cache a token could be replayed "
                "once per worker (set CDS_REDIS_URL=redis://..., or run one worker per replica)"
            )
        key = self.patient_hash_key.get_secret_value() if self.patient_hash_key else ""
        if len(key) < 32:
            problems.append(
                "CDS_PATIENT_HASH_KEY must be set to a secret of at least 32 characters "
                "(e.g. `openssl rand -hex 32`), the same on every replica"
            )
        return problems

    def patient_hash_secret(self) -> bytes:
        """The key for patient hashes: the configured one, or the fixed development key."""
        if self.patient_hash_key is not None:
            return self.patient_hash_key.get_secret_value().encode("utf-8")
        return DEV_PATIENT_HASH_KEY.encode("utf-8")

    def cors_policy(self) -> tuple[list[str], str | None]:
        """(allowed origins, allowed origin regex) for the CORS middleware."""
        if self.cors_origins is not None:
            return list(self.cors_origins), None
        if self.dev:
            return list(DEV_CORS_ORIGINS), DEV_CORS_ORIGIN_REGEX
        return [], None

    def rule_config(self) -> RuleConfig:
        return RuleConfig(
            **{name: getattr(self, name) for name in _RULE_FIELDS}, orderables=self._orderables
        )

    def mapping_config(self) -> MappingConfig:
        return MappingConfig(
            s1p_class=EfficacyClass(self.s1p_efficacy_class),
            mri_gd_codes=frozenset(self.mri_gd_codes),
            mri_new_t2_codes=frozenset(self.mri_new_t2_codes),
            dmt_window_months=dict(self.dmt_window_months),
            onset_months=self.he_failure_min_months,
            edss_relapse_days=self.edss_relapse_days,
        )

    @property
    def migrate_on_startup(self) -> bool:
        if self.database_migrate_on_startup is None:
            return self.dev
        return self.database_migrate_on_startup

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("console" if self.dev else "json")


# Every RuleConfig threshold has a setting of the same name (tests check it).
_RULE_FIELDS = tuple(RuleThresholds.model_fields)
