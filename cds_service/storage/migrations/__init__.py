"""Alembic migrations, run programmatically (cds_service.storage.migrate); no alembic.ini."""
