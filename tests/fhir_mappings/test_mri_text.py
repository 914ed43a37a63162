"""MRI activity read from radiology text: counts, negation, uncertainty, history, sections."""

from __future__ import annotations

import json
import logging
from importlib import resources

import pytest

from fhir_mappings import mri_text
from fhir_mappings.facts import MriMeasure
from fhir_mappings.mri_text import TEXT_CAP_CHARS, count_word, load_pipeline, read_mri_text

GD = MriMeasure.GD_ENHANCING
T2 = MriMeasure.NEW_OR_ENLARGING_T2


def counts(text: str) -> dict[MriMeasure, int]:
    return {m: c for m, (c, _) in read_mri_text([text]).counts.items()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 new T2 lesions.", {T2: 2}),
        ("One enhancing lesion.", {GD: 1}),
        ("No new or enhancing lesions.", {T2: 0, GD: 0}),
        ("IMPRESSION: No new or enhancing lesions.", {T2: 0, GD: 0}),
        ("No evidence of new lesions.", {T2: 0}),
        ("Stable appearance of the white matter lesions.", {T2: 0}),
        ("Multiple T2 hyperintense lesions, unchanged.", {T2: 0}),
        ("No interval change.", {T2: 0}),
        ("A single new T2 lesion.", {T2: 1}),
        ("two new T2 hyperintense lesions and a gadolinium-enhancing lesion", {T2: 2, GD: 1}),
        ("Three new or enlarging T2/FLAIR lesions.", {T2: 3}),
        ("Several new T2 lesions.", {T2: 2}),
        ("New T2 lesions: 3.", {T2: 3}),
        ("Enhancing lesions: none.", {GD: 0}),
        ("Gd+ lesions: 2", {GD: 2}),
        ("2 lesions with enhancement.", {GD: 2}),
        ("No new T2 lesions, 1 enhancing lesion.", {T2: 0, GD: 1}),
        ("No new T2 lesions; a new enhancing lesion in the right frontal lobe.", {T2: 0, GD: 1}),
        ("Stable white matter lesions without enhancement.", {T2: 0, GD: 0}),
        ("No abnormal enhancement.", {GD: 0}),
    ],
)
def test_counts_as_the_radiologist_wrote_them(text: str, expected: dict[MriMeasure, int]) -> None:
    """Digits or number words, negation as a count of 0 for each measure negated, 'stable'
    as 0 new T2 lesions; a second finding after a count is not negated by the first."""
    assert counts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Several non-enhancing lesions.",
        "Nonenhancing lesions in the periventricular white matter.",
        "Non enhancing T2 lesions.",
        "The lesion is not enhancing.",
    ],
)
def test_non_enhancing_never_counts_as_enhancing(text: str) -> None:
    """'non-enhancing' (any spelling) is no Gd-enhancing finding at all: not a count, not 0."""
    assert GD not in counts(text)


def test_non_enhancing_with_new_lesion_counts_only_the_new_lesion() -> None:
    """'New lesion, not enhancing': one new T2 lesion, nothing about Gd."""
    assert counts("New lesion, not enhancing.") == {T2: 1}


@pytest.mark.parametrize(
    ("text", "measure"),
    [
        ("Possible new lesion.", T2),
        ("A new lesion cannot be excluded.", T2),
        ("Questionable enhancing focus in the left frontal lobe.", GD),
        ("Probable new T2 lesion.", T2),
    ],
)
def test_uncertain_mentions_are_not_activity_and_not_zero(text: str, measure: MriMeasure) -> None:
    """A possible lesion is neither counted nor read as none: the measure is 'uncertain'."""
    reading = read_mri_text([text])
    assert measure not in reading.counts
    assert reading.uncertain == (measure,)


def test_a_stated_count_outweighs_an_uncertain_mention() -> None:
    """'2 new T2 lesions; possible third new lesion': 2 counted, nothing uncertain left."""
    reading = read_mri_text(["2 new T2 lesions. Possible additional new lesion."])
    assert reading.counts[T2][0] == 2 and reading.uncertain == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("History of enhancing lesions.", {}),
        ("Previously enhancing lesion in the right frontal lobe no longer enhances.", {}),
        (
            "Compared with the prior MRI which showed 3 enhancing lesions, there are no "
            "enhancing lesions.",
            {GD: 0},
        ),
        ("INDICATION: MS, 3 enhancing lesions on prior.\nIMPRESSION: No new lesions.", {T2: 0}),
        ("COMPARISON: MRI 2025-01-04 with 2 new T2 lesions.\nFINDINGS: Stable.", {T2: 0}),
        ("If new lesions develop, consider escalation.", {}),
    ],
)
def test_historical_comparison_and_hypothetical_mentions_are_not_this_scan(
    text: str, expected: dict[MriMeasure, int]
) -> None:
    """History, the prior study, the indication and comparison sections, and 'if' are not
    findings of this scan."""
    assert counts(text) == expected


def test_the_largest_count_wins_and_repeats_are_not_added() -> None:
    """Findings repeated in the impression count once: the largest count stated, not a sum."""
    text = (
        "FINDINGS: There are two new T2 hyperintense lesions. No enhancing lesions.\n"
        "IMPRESSION: 2 new T2 lesions, no enhancing lesions."
    )
    assert counts(text) == {T2: 2, GD: 0}


def test_text_past_the_cap_is_not_read_and_the_reading_says_so() -> None:
    """A finding after TEXT_CAP_CHARS characters is not read; `truncated` says text was cut."""
    filler = "Normal brain parenchyma. " * (TEXT_CAP_CHARS // 25 + 1)
    reading = read_mri_text([filler, "3 new T2 lesions."])
    assert reading.truncated and reading.counts == {}
    assert reading.read_chars <= TEXT_CAP_CHARS + 1


def test_texts_of_one_report_are_read_together() -> None:
    """conclusion and presentedForm texts of one report give one reading per measure."""
    reading = read_mri_text(["No new lesions.", "IMPRESSION: one enhancing lesion."])
    assert {m: c for m, (c, _) in reading.counts.items()} == {T2: 0, GD: 1}


@pytest.mark.parametrize(
    ("text", "value"),
    [("two", 2), ("Two", 2), ("none", 0), ("a single", 1), ("one", 1), ("a", None), ("x", None)],
)
def test_count_words(text: str, value: int | None) -> None:
    """Counts written as words are read; anything else is not a count."""
    assert count_word(text) == value


def test_the_pipeline_is_built_once_per_process() -> None:
    """load_pipeline returns the same pipeline every time (a model, built once)."""
    assert load_pipeline() is load_pipeline()


def test_every_rule_names_a_known_source() -> None:
    """Each target, modifier and section rule of mri_terms.json cites a listed source."""
    raw = resources.files("fhir_mappings.valuesets").joinpath("mri_terms.json").read_text()
    terms = json.loads(raw)
    rules = [*terms["targets"], *terms["modifiers"], *terms["sections"]["rules"]]
    assert rules and all(rule["source"] in terms["sources"] for rule in rules)


def test_no_report_text_reaches_any_log(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Reading a report with every logger at DEBUG logs none of its words: not through
    logging, not through loguru (PyRuSH's logger), not on stdout or stderr."""
    from loguru import logger

    caught: list[str] = []
    sink = logger.add(lambda message: caught.append(str(message)), level="DEBUG")
    caplog.set_level(logging.DEBUG)
    for name in ("PyRuSH", "medspacy", "spacy"):
        caplog.set_level(logging.DEBUG, logger=name)
    try:
        secret = "Zyxwvut"
        mri_text._build.cache_clear()  # build it again under DEBUG: loading logs too
        reading = read_mri_text([f"{secret} 2 new T2 lesions. No enhancing lesions. {secret}"])
    finally:
        logger.remove(sink)
    assert reading.counts[T2][0] == 2
    out, err = capfd.readouterr()
    everything = caplog.text + "".join(caught) + out + err
    assert secret not in everything and "lesions" not in everything
