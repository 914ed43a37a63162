"""DMT names and codes: brands, biosimilars, superseded and German ATC, NDC, non-MS products."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.medications import ndc_product
from tests.records import ATC, RXNORM, facts_of, rx

NDC = "http://hl7.org/fhir/sid/ndc"
BFARM_ATC = "http://fhir.de/CodeSystem/bfarm/atc"
DIMDI_ATC = "http://fhir.de/CodeSystem/dimdi/atc"


@pytest.mark.parametrize(
    ("text", "code", "system", "ingredient", "products"),
    [
        ("Tyruko 300 mg/15 mL", None, RXNORM, "natalizumab", ("Tyruko",)),
        ("natalizumab-sztn", None, RXNORM, "natalizumab", ("Tyruko",)),
        ("BRIUMVI (ublituximab-xiiy) 150 mg", None, RXNORM, "ublituximab", ("Briumvi",)),
        ("Ocrevus Zunovo 920 mg/23,000 units", None, RXNORM, "ocrelizumab", ("Ocrevus Zunovo",)),
        ("Kesimpta Sensoready pen", None, RXNORM, "ofatumumab", ("Kesimpta",)),
        ("Ruxience 500 mg", None, RXNORM, "rituximab", ("Ruxience",)),
        ("rituximab-arrx", None, RXNORM, "rituximab", ("Riabni",)),
        ("Rituxan Hycela", None, RXNORM, "rituximab", ("Rituxan Hycela",)),
        ("Extavia 250 mcg", None, RXNORM, "interferon beta-1b", ("Extavia",)),
        ("Betaferon", None, RXNORM, "interferon beta-1b", ("Betaferon",)),
        ("Tascenso ODT 0.5 mg", None, RXNORM, "fingolimod", ("Tascenso ODT",)),
        ("dimethyl fumarate DR 240 mg capsule", None, RXNORM, "dimethyl fumarate", ()),
        ("glatiramer acetate 40 mg/mL syringe", None, RXNORM, "glatiramer acetate", ()),
        (None, "2105827", RXNORM, "rituximab", ("Truxima",)),  # Truxima BN
        (None, "2273510", RXNORM, "rituximab", ("Ruxience",)),  # rituximab-pvvr IN
        (None, "L04AA23", ATC, "natalizumab", ()),  # superseded in 2024 by L04AG03
        (None, "L04AA36", ATC, "ocrelizumab", ()),  # superseded by L04AG08
        (None, "L04AA52", ATC, "ofatumumab", ()),
        (None, "L04AG08", BFARM_ATC, "ocrelizumab", ()),  # German ATC (BfArM)
        (None, "L04AA23", DIMDI_ATC, "natalizumab", ()),  # legacy German ATC URI
        (None, "50242-150-01", NDC, "ocrelizumab", ("Ocrevus",)),
        (None, "00078100768", NDC, "ofatumumab", ("Kesimpta",)),  # 11-digit 0078-1007-68
        (None, "64406-008-01", NDC, "natalizumab", ("Tysabri",)),
    ],
)
def test_names_and_codes(
    text: str | None, code: str | None, system: str, ingredient: str, products: tuple[str, ...]
) -> None:
    """Brands, biosimilars, superseded/German ATC and NDC name the ingredient; the brand
    matched is recorded in `products`."""
    (dmt,) = facts_of(rx("m", text, code, system)).dmts
    assert (dmt.ingredient, dmt.products) == (ingredient, products)


@pytest.mark.parametrize(
    ("text", "code", "system"),
    [
        ("Arzerra 1000 mg", None, RXNORM),  # ofatumumab for CLL
        ("Campath 30 mg", None, RXNORM),  # alemtuzumab for CLL
        ("cladribine injection 1 mg/mL", None, RXNORM),  # parenteral: hairy-cell leukaemia
        ("ofatumumab", "L01FA02", ATC),  # oncology ofatumumab
        ("cladribine", "L01BB04", ATC),  # the code decides: parenteral cladribine
        (None, "12345-678-90", NDC),  # an NDC no source lists: no guess
    ],
)
def test_same_molecule_in_a_non_ms_product_is_no_dmt(
    text: str | None, code: str | None, system: str
) -> None:
    """Non-MS products of MS molecules and unknown NDCs are no DMT exposure."""
    assert facts_of(rx("m", text, code, system)).dmts == ()


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("50242-150-01", "50242-0150"),  # 5-3-2
        ("0078-1007-68", "00078-1007"),  # 4-4-2
        ("50242-0150-01", "50242-0150"),  # 11-digit hyphenated
        ("50242015001", "50242-0150"),  # 11 digits
        ("5024215001", None),  # 10 digits without hyphens: ambiguous
        ("abc-def", None),
    ],
)
def test_ndc_normalised_to_labeler_product(code: str, key: str | None) -> None:
    """NDCs in any common form become their 5-4 labeler-product key."""
    assert ndc_product(code) == key


def test_products_from_several_records_are_collected() -> None:
    """Tysabri then its biosimilar Tyruko: one natalizumab exposure naming both."""
    records: list[dict[str, Any]] = [
        rx("a", "Tysabri 300 mg", status="completed", start="2024-01-01"),
        rx("b", "Tyruko 300 mg", status="active", start="2025-01-01"),
    ]
    (dmt,) = facts_of(*records).dmts
    assert dmt.products == ("Tysabri", "Tyruko")
