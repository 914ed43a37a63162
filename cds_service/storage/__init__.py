"""Durable storage: the card ledger, card feedback and override analytics (SQLAlchemy 2).

SQLite file by default, PostgreSQL (psycopg 3) when CDS_DATABASE_URL says so; the schema
is managed by the Alembic migrations in `migrations/` (`ms-cds db upgrade`).
"""

from cds_service.storage.store import Storage

__all__ = ["Storage"]
