"""The ASGI entry point for uvicorn: settings come from the environment."""

from cds_service.app import create_app

app = create_app()
