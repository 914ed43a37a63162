"""The catalogue: prefetch templates EHRs accept, made from the value sets (issue 18)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cds_service import catalogue
from cds_service.app import create_app
from cds_service.config import Settings
from fhir_mappings.config import MappingConfig
from fhir_mappings.valuesets import Code
from tests.conftest import TODAY

LOCAL = "urn:oid:1.2.3|GD-COUNT"


def test_every_observation_template_names_codes() -> None:
    """No discovery Observation search without a code (Epic refuses a bare one)."""
    for config in (MappingConfig(), MappingConfig(mri_new_t2_codes=frozenset({LOCAL}))):
        for service in catalogue.services(config).values():
            for template in (service.prefetch or {}).values():
                if template.startswith("Observation"):
                    assert "&code=" in template or "&category=" in template, template


def test_observation_codes_come_from_value_sets_then_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A code another value set marks searched_in Observation flows into the template,
    before the site's local MRI codes, each once."""
    extra = Code("http://loinc.org", "00000-0", "placeholder for a value set's code", "test")
    real = catalogue.searched_codes
    monkeypatch.setattr(catalogue, "searched_codes", lambda t: [*real(t), extra, extra])
    codes = catalogue.observation_codes(MappingConfig(mri_gd_codes=frozenset({LOCAL})))
    searched = [f"{c.system}|{c.code}" for c in real("Observation")]
    assert searched[0] == "http://snomed.info/sct|273554001"  # EDSS
    assert codes == [*searched, "http://loinc.org|00000-0", LOCAL]


def test_discovery_advertises_the_sites_codes_and_describes_every_key() -> None:
    """A running app's discovery names its configured MRI codes, and every service's
    description says what each of its prefetch keys reads."""
    settings = Settings(_env_file=None, dev=True, mri_gd_codes=[LOCAL])
    with TestClient(create_app(settings, clock=lambda: TODAY)) as client:
        found = client.get("/cds-services").json()["services"]
    for service in found:
        assert service["prefetch"]["observations"].endswith(f",{LOCAL}")
        for key in service["prefetch"]:
            assert f"{key}: " in service["description"]
    assert set(catalogue.KEY_DESCRIPTIONS) == {
        *catalogue.PREFETCH,
        *catalogue.PATIENT_VIEW_PREFETCH,
    }


def test_only_observations_have_fallback_codes() -> None:
    """The fallback searches the Observation codes bare, each once; other keys have none;
    `code_search` names a list of them in one search."""
    template = catalogue.observation_template(MappingConfig(mri_gd_codes=frozenset({LOCAL})))
    codes = catalogue.fallback_codes("observations", template)
    bare = dict.fromkeys(c.code for c in catalogue.searched_codes("Observation"))
    assert codes == [*bare, "GD-COUNT"]
    assert codes[0] == "273554001"
    assert catalogue.code_search(codes[:2]) == (
        f"Observation?patient={{{{context.patientId}}}}&code={codes[0]},{codes[1]}"
    )
    assert catalogue.fallback_codes("conditions", catalogue.PREFETCH["conditions"]) == []
