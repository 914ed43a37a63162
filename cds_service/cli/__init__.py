"""The `ms-cds` command line (serve, evaluate, config, db, report) and how it runs uvicorn."""

from cds_service.cli.main import app

__all__ = ["app"]
