"""Synthetic demo patients (issue 19): short descriptions built into FHIR R4 resources.

Pure code with no web framework: `cds_service.demo` serves these records read-only
at /demo/fhir in development mode; the tests post each through the real services.
"""

from demo_data.build import build_patient, build_records
from demo_data.describe import Diagnosis, Lesions, Order, Situation, Treatment
from demo_data.patients import SITUATIONS, situation

__all__ = [
    "SITUATIONS",
    "Diagnosis",
    "Lesions",
    "Order",
    "Situation",
    "Treatment",
    "build_patient",
    "build_records",
    "situation",
]
