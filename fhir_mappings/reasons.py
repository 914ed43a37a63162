"""Why a medication or procedure record stopped or was not done: categories, never text.

Read from statusReason (and reasonCode where the record stopped) as a reason in
itself, and from note text only inside a sentence that frames a cause ("stopped
... due to ...", "discontinued because of ..."), so a note saying "no adverse
events" gives no reason. The terms and codes are data (valuesets/dmt_stop_reasons.json).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fhir_mappings.facts import StopReason
from fhir_mappings.reader import Concept, Resource
from fhir_mappings.textcap import matched_part
from fhir_mappings.valuesets import load

__all__ = ["Reasons", "reasons_of", "stop_reason_order"]

REFUSAL = "refusal"
NEVER_STARTED = "never-started"

# A note names a cause only after a stop word and a cause word in one sentence.
_STOP = re.compile(
    r"\b(stop(ped|ping)?|discontinu(ed|ation|ing)|ceased?|switch(ed|ing)?|withdrawn|"
    r"held|halted|cancel+ed|not (given|started|done)|declined|refused)\b",
    re.IGNORECASE,
)
_CAUSE = re.compile(
    r"\b(due to|because( of)?|owing to|secondary to|on account of|given|for|after|as)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[.;\n!?]+")


@dataclass(frozen=True)
class Reasons:
    """The categories a record's reasons name (stop reasons in enum order)."""

    stop: tuple[StopReason, ...] = ()
    refusal: bool = False
    never_started: bool = False
    stated: bool = False  # some reason was given (uncategorised: StopReason.OTHER)


def stop_reason_order(reasons: set[StopReason]) -> tuple[StopReason, ...]:
    """Reasons in the enum's order (lack of efficacy first: it decides failure)."""
    return tuple(r for r in StopReason if r in reasons)


def _categories_of_concept(concept: Concept) -> set[str]:
    table = load("dmt_stop_reasons")
    found = {
        str(hit.attributes["category"])
        for system, code in concept.codings
        if (hit := table.lookup(system, code)) is not None
    }
    for text in concept.texts:
        found |= {str(p.attributes["category"]) for p in table.matches(text)}
    return found


def _categories_of_note(text: str) -> set[str]:
    table = load("dmt_stop_reasons")
    found: set[str] = set()
    for sentence in _SENTENCE.split(matched_part(text)):
        stop = _STOP.search(sentence)
        if stop is None:
            continue
        if any(p.attributes["category"] == REFUSAL for p in table.matches(sentence)):
            found.add(REFUSAL)  # "cancelled: patient declined" needs no cause word
        cause = _CAUSE.search(sentence, stop.end())
        if cause is not None:
            found |= {str(p.attributes["category"]) for p in table.matches(sentence[cause.end() :])}
    return found


def reasons_of(resource: Resource, with_reason_code: bool = False) -> Reasons:
    """The reasons a record gives for its status. `with_reason_code`: read reasonCode
    too (only for records that stopped: elsewhere it is why the drug was given)."""
    categories: set[str] = set()
    stated = False  # a statusReason is a reason; a reasonCode may be the indication
    for concept in resource.concepts("statusReason", lone=True):
        if concept:
            stated = True
            categories |= _categories_of_concept(concept)
    if with_reason_code:
        for concept in resource.concepts("reasonCode"):
            categories |= _categories_of_concept(concept)
    for note in resource.children("note"):
        text = note.string("text")
        if text:
            categories |= _categories_of_note(text)
    refusal = REFUSAL in categories
    stop = {StopReason(c) for c in categories if c in StopReason._value2member_map_}
    if refusal:
        stop.add(StopReason.PATIENT_CHOICE)
    if not stop and stated:
        stop.add(StopReason.OTHER)
    return Reasons(
        stop=stop_reason_order(stop),
        refusal=refusal,
        never_started=NEVER_STARTED in categories,
        stated=stated,
    )
