"""The demo (issue 19): a read-only FHIR R4 endpoint of the synthetic patients of
`demo_data`, and the sandbox links `ms-cds demo` prints. Development mode only."""

from cds_service.demo.fhir import PREFIX, router
from cds_service.demo.links import curl_msc_order_select, sandbox_url, start_banner
from cds_service.demo.store import DemoStore, resource_types

__all__ = [
    "PREFIX",
    "DemoStore",
    "curl_msc_order_select",
    "resource_types",
    "router",
    "sandbox_url",
    "start_banner",
]
