"""Value sets: codes looked up in a dict, text matched by one compiled matcher per set."""

from __future__ import annotations

from fhir_mappings.reader import Concept
from fhir_mappings.valuesets import Code, TextPattern, all_value_sets, load

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def test_every_code_and_pattern_names_its_source() -> None:
    """Each shipped value set loads, and every code and text pattern says where it is from."""
    for valueset in all_value_sets().values():
        assert all(code.source for code in valueset.codes.values())
        assert all(pattern.source for pattern in valueset.patterns)


def test_lookup_normalises_system_aliases_and_padding() -> None:
    """An OID alias of RxNorm and a padded code find the same entry; no system, no match."""
    dmt = load("dmt")
    found = dmt.lookup(RXNORM, "1876366")
    assert isinstance(found, Code) and found.attributes["ingredient"] == "ocrelizumab"
    assert dmt.lookup("urn:oid:2.16.840.1.113883.6.88", " 1876366 ") == found
    assert dmt.lookup(None, "1876366") is None and dmt.lookup(RXNORM, None) is None


def test_first_pattern_in_file_order_wins_not_the_leftmost_in_the_text() -> None:
    """'natalizumab, then Ocrevus' names ocrelizumab first in the file: that one is found,
    whatever the order in the text; whitespace runs and case do not matter."""
    dmt = load("dmt")
    found = dmt.match_text("natalizumab,\tthen  OCREVUS")
    assert isinstance(found, TextPattern) and found.attributes["ingredient"] == "ocrelizumab"
    assert [p.attributes["ingredient"] for p in dmt.matches("natalizumab then ocrevus")] == [
        "ocrelizumab",
        "natalizumab",
    ]
    assert dmt.match_text("baclofen 10 mg") is None and dmt.matches("") == []


def test_match_concept_prefers_a_code_to_text() -> None:
    """A concept's code decides before its text; text is used only when asked."""
    dmt = load("dmt")
    concept = Concept(((RXNORM, "1876366"),), ("natalizumab",))
    assert isinstance(dmt.match_concept(concept), Code)
    text_only = Concept((), ("natalizumab",))
    assert dmt.match_concept(text_only, use_text=False) is None
    found = dmt.match_concept(text_only)
    assert isinstance(found, TextPattern) and found.attributes["ingredient"] == "natalizumab"
