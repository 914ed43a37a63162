"""Storage for one running app: the engine, the card ledger and the readiness probe."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from cards.config import KNOWLEDGE_VERSION
from cds_hooks import Card
from cds_service.config.settings import Settings
from cds_service.hook_instance import canonical_hook_instance
from cds_service.storage.engine import make_engine, redacted_url
from cds_service.storage.ledger import CardLedger, LedgerEntry
from cds_service.storage.migrate import upgrade
from cds_service.storage.probe import DatabaseProbe

__all__ = ["Storage"]

log = logging.getLogger("ms_cds.storage")


def _count_quarantined(reason: str, entries: int) -> None:
    # Imported on first use: the metrics module creates its series at import, which in
    # multiprocess mode needs PROMETHEUS_MULTIPROC_DIR to exist (not so for `ms-cds db`).
    from cds_service.ops.metrics import count_ledger_quarantined

    count_ledger_quarantined(reason, entries)


class Storage:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url, settings.database_connect_timeout)
        self.ledger = CardLedger(
            self.engine,
            buffer_size=settings.ledger_buffer_size,
            batch_size=settings.ledger_batch_size,
            write_interval=settings.ledger_write_interval_seconds,
            stuck_after=settings.ledger_stuck_seconds,
            on_quarantine=_count_quarantined,
        )
        # /readyz's ping: its own engine and thread (cds_service.storage.probe).
        self.probe = DatabaseProbe(
            make_engine(settings.database_url, settings.database_connect_timeout),
            settings.readiness_database_interval_seconds,
        )

    def start(self) -> None:
        """Migrate (when configured) and start the ledger writer. Never fails the app:
        card evaluation works without the database."""
        if self.settings.migrate_on_startup:
            try:
                upgrade(self.engine)
            except SQLAlchemyError as exc:
                log.error(
                    "database migration failed at start-up; feedback answers 503 until fixed",
                    extra={"error_type": type(exc).__name__, "database": self.database},
                )
        self.ledger.start()

    def close(self) -> None:
        self.ledger.close(self.settings.ledger_shutdown_timeout)
        self.engine.dispose()
        self.probe.close()

    @property
    def database(self) -> str:
        return redacted_url(self.settings.database_url)

    def record_cards(
        self,
        service_id: str,
        hook_instance: str,
        patient: str | None,
        cards: Sequence[Card],
        client: str = "",
    ) -> None:
        """Queue one ledger entry per returned card (no I/O here). `patient` is the
        call's patient hash (`ops.logs.patient_hash`), never an id; `client` the verified
        caller (`ClientIdentity.owner`), whose feedback alone the card accepts."""
        if not cards:
            return
        now = datetime.now(UTC)
        logged_instance = canonical_hook_instance(hook_instance)  # as logged
        self.ledger.record(
            LedgerEntry(
                card_uuid=card.uuid,
                service_id=service_id,
                topic=card.topic,
                hook_instance=logged_instance,
                patient_hash=patient,
                issued_at=now,
                knowledge_version=KNOWLEDGE_VERSION,
                client=client,
            )
            for card in cards
        )
