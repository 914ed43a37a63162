"""Rule thresholds and mapping options come from CDS_ settings; the registry checks content."""

from __future__ import annotations

from pathlib import Path

import pytest

from cards.config import RuleConfig
from cards.registry import RULES, RegistryError, Rule, check_registry, rules_for
from cds_service.config.loading import InvalidSettings, load_settings
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


def test_site_order_codes_and_extension_domain_reach_the_rule_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """CDS_ORDER_CODES_FILE (YAML) and CDS_EXTENSION_DOMAIN reach RuleConfig, read once."""
    codes = tmp_path / "orders.yaml"
    codes.write_text("system: urn:oid:1.2.3\norders:\n  ocrelizumab: {code: 4711}\n")
    monkeypatch.setenv("CDS_ORDER_CODES_FILE", str(codes))
    monkeypatch.setenv("CDS_EXTENSION_DOMAIN", "org.example-hospital.ms-cds")
    settings = make_settings()
    codes.unlink()  # read at start-up, never per request
    config = settings.rule_config()
    assert config.orderables["ocrelizumab"].coding() == {"system": "urn:oid:1.2.3", "code": "4711"}
    assert config.explanation_key == "org.example-hospital.ms-cds.explanation"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"orders": {"ocrelizmab": {"system": "urn:oid:1.2", "code": "1"}}}', "not a proposal"),
        ('{"orders": {"ocrelizumab": {"code": "1"}}}', "system"),
        ('{"orders": [1]}', "'orders' object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_order_codes_file_stops_start_up_with_a_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, problem: str
) -> None:
    """A mistyped proposal, a code without system, a wrong shape or bad JSON: one line
    naming CDS_ORDER_CODES_FILE and the problem."""
    codes = tmp_path / "orders.json"
    codes.write_text(text)
    monkeypatch.setenv("CDS_ORDER_CODES_FILE", str(codes))
    with pytest.raises(InvalidSettings) as raised:
        load_settings()
    (line,) = raised.value.lines
    assert line.startswith("invalid setting CDS_ORDER_CODES_FILE") and problem in line


def test_bad_yaml_order_codes_file_stops_start_up_with_a_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A YAML code file that does not parse: one line naming the setting and YAML."""
    codes = tmp_path / "orders.yaml"
    codes.write_text("orders: [ocrelizumab\n")
    monkeypatch.setenv("CDS_ORDER_CODES_FILE", str(codes))
    with pytest.raises(InvalidSettings) as raised:
        load_settings()
    (line,) = raised.value.lines
    assert line.startswith("invalid setting CDS_ORDER_CODES_FILE") and "not valid YAML" in line


def test_extension_domain_must_be_reverse_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    """An extension domain that is not reverse-domain notation is refused at start-up."""
    monkeypatch.setenv("CDS_EXTENSION_DOMAIN", "ms-cds-explanation")
    with pytest.raises(InvalidSettings, match="CDS_EXTENSION_DOMAIN"):
        load_settings()


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
            "dmtOrderCheck",
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
