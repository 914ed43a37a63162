"""Rule thresholds and mapping options come from CDS_ settings; the registry checks content."""

from __future__ import annotations

import pytest

from cards.config import RuleConfig
from cards.registry import RULES, RegistryError, Rule, check_registry, rules_for
from fhir_mappings.facts import EfficacyClass
from tests.conftest import make_settings


def test_every_rule_threshold_has_a_setting_with_the_same_default() -> None:
    """Settings().rule_config() equals the RuleConfig defaults, field by field."""
    assert make_settings().rule_config() == RuleConfig()


def test_environment_sets_thresholds_and_mapping_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """CDS_AHSCT_MAX_EDSS, CDS_S1P_EFFICACY_CLASS and the MRI code lists reach the configs."""
    monkeypatch.setenv("CDS_AHSCT_MAX_EDSS", "6.0")
    monkeypatch.setenv("CDS_S1P_EFFICACY_CLASS", "high-efficacy")
    monkeypatch.setenv("CDS_MRI_GD_CODES", "urn:oid:1.2.3|GD, urn:oid:1.2.3|GD2")
    monkeypatch.setenv("CDS_MRI_NEW_T2_CODES", '["urn:oid:1.2.3|T2"]')
    settings = make_settings()
    assert settings.rule_config().ahsct_max_edss == 6.0
    mapping = settings.mapping_config()
    assert mapping.s1p_class is EfficacyClass.HIGH
    assert mapping.mri_gd_codes == frozenset({"urn:oid:1.2.3|GD", "urn:oid:1.2.3|GD2"})
    assert mapping.mri_new_t2_codes == frozenset({"urn:oid:1.2.3|T2"})


def test_invalid_threshold_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """An EDSS threshold outside 0-10 fails at start-up, not at a patient."""
    monkeypatch.setenv("CDS_AHSCT_MAX_EDSS", "12")
    with pytest.raises(ValueError, match="ahsct_max_edss"):
        make_settings()


def test_hook_visibility() -> None:
    """patient-view: mscWarning (orders in the record) and the four advice topics; order
    hooks mscWarning first, the stem cell clarification, then the DMT topics."""
    assert [r.topic for r in rules_for("patient-view")] == [
        "mscWarning",
        "ahsctReferral",
        "dmtEscalation",
        "ppmsOcrelizumab",
        "dataGaps",
    ]
    for hook in ("order-select", "order-sign"):
        assert [r.topic for r in rules_for(hook)] == [
            "mscWarning",
            "stemCellClarify",
            "dmtEscalation",
            "ppmsOcrelizumab",
        ]


def test_registry_requires_msc_warning_first() -> None:
    """A registry that does not start with mscWarning fails the start-up check."""
    check_registry()
    reordered: tuple[Rule, ...] = (*RULES[1:], RULES[0])
    with pytest.raises(RegistryError, match="mscWarning"):
        check_registry(reordered)
