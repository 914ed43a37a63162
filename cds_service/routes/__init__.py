"""HTTP routes, one module per concern, and the OpenAPI document that describes them."""

from cds_service.routes import analytics, feedback, hooks, operations
from cds_service.routes.openapi import OPERATION_OUTCOME_SCHEMA, document_api

__all__ = [
    "OPERATION_OUTCOME_SCHEMA",
    "analytics",
    "document_api",
    "feedback",
    "hooks",
    "operations",
]
