"""How a card's detail names what recognised an order."""

from __future__ import annotations

import pytest

from cards.render import code_label


@pytest.mark.parametrize(
    ("matched_by", "label"),
    [
        ("http://snomed.info/sct|24700007", "SNOMED CT 24700007"),
        ("text /mesenchymal/", "its text"),
        (
            "instructions: text /lomecel-?b(?![a-z0-9])|medicinal signall?ing cells?/",
            "the text of its instructions",
        ),
        ("its text", "its text"),
    ],
)
def test_a_clinician_reads_a_code_or_where_the_text_matched_never_a_regex(
    matched_by: str, label: str
) -> None:
    """A code is named by its system; a text match says where, and shows no pattern."""
    assert code_label(matched_by) == label
