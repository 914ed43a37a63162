"""`python -m cds_service.cli`: the `ms-cds` command."""

from cds_service.cli.main import app

app()
