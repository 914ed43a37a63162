"""Every card the service answers is one an EHR accepts: checked on every golden response
and on the MSC card's content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cards.config import RuleConfig
from cards.content import content
from cards.decision import Decision
from cards.render import render_msc_warning
from cds_hooks import dump

GOLDEN = sorted((Path(__file__).parents[1] / "data" / "golden").glob("*.json"))


def _empties(value: Any, path: str = "$") -> list[str]:
    if value is None or value == "" or value == [] or value == {}:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _empties(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _empties(v, f"{path}[{i}]")]
    return []


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_cards_are_ones_epic_and_the_sandbox_accept(path: Path) -> None:
    """No empty value anywhere; selectionBehavior "any" with suggestions; one action per
    suggestion; reverse-domain extension keys; delete suggestions never create."""
    cards = json.loads(path.read_text(encoding="utf-8"))["expected"]["cards"]
    for card in cards:  # (an answer without cards is `"cards": []`, as the spec requires)
        assert _empties(card) == []
        if "suggestions" in card:
            assert card["selectionBehavior"] == "any"
        for suggestion in card.get("suggestions", []):
            assert len(suggestion["actions"]) == 1
        for key in card.get("extension", {}):
            assert key.startswith("org.example.ms-cds.")
        text = json.dumps(card)
        assert "234336002" not in text  # an AHSCT suggestion is a referral, never the HSCT


def test_msc_card_names_the_order_and_diagnosis_and_cites_its_claims() -> None:
    """The MSC detail names the triggering order and the MS diagnosis, cites Moll 2019 for
    IBMIR, says MESEMS found no safety signal in its short follow-up, and calls AHSCT an
    established option (not "the evidence-based option")."""
    decision = Decision(
        topic="mscWarning",
        indicator="critical",
        order_ref="MedicationRequest/msc-1",
        explanation={
            "orderMatchedBy": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets|J3402",
            "orderProduct": "remestemcel-L",
            "msEvidence": "current MS diagnosis",
        },
        details={
            "diagnoses": [
                {
                    "course": "relapsing-remitting",
                    "source": "Condition/ms-1",
                    "code": "http://snomed.info/sct|426373005",
                }
            ]
        },
    )
    card = render_msc_warning(decision, RuleConfig(extension_domain="org.example-hospital.x"))
    detail = card.detail or ""
    assert "**This order:** remestemcel-L (MedicationRequest/msc-1)" in detail
    assert "HCPCS J3402" in detail
    assert "relapsing-remitting MS (Condition/ms-1; SNOMED CT 426373005)" in detail
    assert "no safety signal in its short follow-up" in detail
    assert "IBMIR" in detail and "doi:10.1016/j.molmed.2018.12.006" in detail
    assert "an established option for highly active relapsing MS" in detail
    assert "evidence-based" not in detail
    assert "do not support the use" not in detail  # the unverified quote is gone
    assert list(dump(card)["extension"]) == ["org.example-hospital.x.explanation"]
    assert card.selectionBehavior == "any"


def test_every_content_summary_is_under_140_characters() -> None:
    """The order-check summaries stay under 140 characters for the longest drug name."""
    for template in content("dmtOrderCheck")["summaries"].values():
        assert len(template.format(drug="peginterferon beta-1a")) < 140
