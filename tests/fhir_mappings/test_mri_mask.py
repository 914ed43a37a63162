"""Report text is masked before spaCy reads it: same facts, bounded vocabulary, no PHI in it."""

from __future__ import annotations

import ast
import dataclasses
import json
import random
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings import mri_text
from fhir_mappings.facts import MriMeasure
from fhir_mappings.mri_mask import ALPHA_MASK, OTHER_MASK, PUNCT_MASK, Masker
from fhir_mappings.mri_text import TextReading, load_pipeline, read_mri_text

ROOT = Path(__file__).resolve().parents[2]
_REPORT_WORDS = re.compile(r"lesion|enhanc|T2|FLAIR|impression|gadolinium|\bMRI\b", re.I)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _corpus() -> list[str]:
    """Every report-like string in the repository's tests, golden files and demo records."""
    texts: set[str] = set()
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("demo_data/*.py")]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.add(node.value)
    for path in ROOT.glob("tests/data/**/*.json"):
        texts.update(_strings(json.loads(path.read_text("utf-8"))))
    return sorted(t for t in texts if _REPORT_WORDS.search(t) and len(t) < 20_000)


CORPUS = _corpus()


class _Unmasked(Masker):
    def mask(self, text: str) -> str:
        return text


def _read_unmasked(monkeypatch: pytest.MonkeyPatch, text: str) -> TextReading:
    pipeline = load_pipeline()
    masker = _Unmasked(
        **{f.name: getattr(pipeline.masker, f.name) for f in dataclasses.fields(Masker)}
    )
    unmasked = dataclasses.replace(pipeline, masker=masker)
    with monkeypatch.context() as patch:
        patch.setattr(mri_text, "load_pipeline", lambda: unmasked)
        return read_mri_text([text])


def test_the_corpus_is_the_repositorys_reports() -> None:
    """The comparison below runs over the report texts the tests and demo records hold."""
    assert len(CORPUS) > 100
    assert "No new T2 lesions, 1 enhancing lesion." in CORPUS


def test_masked_text_gives_the_same_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every report text in the repository reads to the same facts masked and unmasked."""
    differ = [t for t in CORPUS if read_mri_text([t]) != _read_unmasked(monkeypatch, t)]
    assert differ == []


def test_masked_text_has_the_same_tokens_one_for_one() -> None:
    """spaCy cuts a masked text into the same tokens, a placeholder where a word was."""
    pipeline = load_pipeline()
    tokenizer, masker = pipeline.nlp.tokenizer, pipeline.masker
    for text in CORPUS:
        original = [t.text for t in tokenizer(text)]
        masked = [t.text for t in tokenizer(masker.mask(text))]
        assert len(masked) == len(original), text
        for before, after in zip(original, masked, strict=True):
            assert after in (before, before.lower(), ALPHA_MASK, OTHER_MASK, PUNCT_MASK) or (
                before.isspace() and after.isspace()
            ), (text, before, after)


def test_tokens_are_cut_as_spacy_cuts_them() -> None:
    """The masker's tokens are spaCy's, for every chunk of every report text."""
    pipeline = load_pipeline()
    for chunk in {c for text in CORPUS for c in text.split()}:
        spacy_tokens = [t.text for t in pipeline.nlp.tokenizer(chunk)]
        assert pipeline.masker.tokens(chunk) == spacy_tokens, chunk


def test_unread_words_become_placeholders() -> None:
    """Names, identifiers and dates become placeholders; rule words and small counts stay."""
    masker = load_pipeline().masker
    text = "Jane Doe MRN 12345678 DOB 03/12/1975: 2 new T2 lesions, no enhancing lesions."
    masked = masker.mask(text)
    assert masked == ("xxxx xxxx xxxx x0x0 xxxx x0x0 : 2 new T2 lesions, no enhancing lesions.")
    assert masker.mask("NEW lesions") == "NEW lesions"
    assert masker.mask("lesions. ----- Signed") == "lesions. --- xxxx"
    assert masker.mask("nEw lesions") == "new lesions"


_JUNK_WORD = st.one_of(
    st.text(string.ascii_letters, min_size=1, max_size=12),
    st.from_regex(r"\A[0-9]{1,12}\Z"),
    st.from_regex(r"\A[0-9]{2}/[0-9]{2}/[0-9]{4}\Z"),
    st.from_regex(r"\A[A-Z][a-z]{1,8}['-][A-Z][a-z]{1,8}\Z"),
)
_REPORTS = [t for t in CORPUS if 10 < len(t) < 2_000]


def _read_words() -> frozenset[str]:
    return load_pipeline().masker.words


@given(
    report=st.sampled_from(_REPORTS),
    junk=st.lists(st.lists(_JUNK_WORD, min_size=1, max_size=6), min_size=1, max_size=4),
    data=st.data(),
)
def test_words_between_sentences_never_change_the_counts(
    report: str, junk: list[list[str]], data: st.DataObject
) -> None:
    """Sentences of random words, names and digit strings inserted between a report's
    sentences (after a line break) change no count and no uncertain measure."""
    words = _read_words()
    lines = report.split("\n")
    for sentence in junk:
        kept = [w for w in sentence if w.lower() not in words] or [ALPHA_MASK]
        at = data.draw(st.integers(0, len(lines)))
        lines.insert(at, " ".join(kept) + ".")
    before, after = read_mri_text([report]), read_mri_text(["\n".join(lines)])
    assert (after.counts, after.uncertain) == (before.counts, before.uncertain)


def _patient_report(rng: random.Random) -> tuple[str, list[str]]:
    name = "".join(rng.choices(string.ascii_lowercase, k=9)).capitalize()
    family = "".join(rng.choices(string.ascii_lowercase, k=11)).capitalize()
    mrn = "".join(rng.choices(string.digits, k=9))
    born = f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(1940, 2005)}"
    text = (
        f"Patient: {name} {family}, MRN {mrn}, born {born}.\n"
        f"FINDINGS: 2 new T2 lesions, no enhancing lesions; seen by {family}.\n"
        "IMPRESSION: Two new T2 lesions."
    )
    return text, [name, family, mrn, born, name.lower(), family.lower()]


def test_reading_patients_reports_leaves_no_patient_string_in_the_vocabulary() -> None:
    """After many reports with distinct names, MRNs and birth dates, spaCy's string store
    has not grown and holds none of them."""
    rng = random.Random(20261202)
    strings = load_pipeline().nlp.vocab.strings
    for _ in range(3):  # the template's own words and the placeholders
        read_mri_text([_patient_report(rng)[0]])
    size = len(strings)
    seen: list[str] = []
    for _ in range(300):
        text, phi = _patient_report(rng)
        assert read_mri_text([text]).counts[MriMeasure.NEW_OR_ENLARGING_T2][0] == 2
        seen.extend(phi)
    assert len(strings) == size
    assert [s for s in seen if s in strings] == []


def test_without_the_mask_the_vocabulary_keeps_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: unmasked, the same reports leave their names and MRNs in the store."""
    rng = random.Random(7)
    strings = load_pipeline().nlp.vocab.strings
    text, phi = _patient_report(rng)
    _read_unmasked(monkeypatch, text)
    assert [s for s in phi[:3] if s in strings] == phi[:3]


@given(st.text(string.ascii_letters + string.digits + string.punctuation, min_size=1, max_size=24))
def test_any_chunk_is_cut_as_spacy_cuts_it(chunk: str) -> None:
    """The masker's tokens are spaCy's for any run of letters, digits and punctuation."""
    pipeline = load_pipeline()
    assert pipeline.masker.tokens(chunk) == [t.text for t in pipeline.nlp.tokenizer(chunk)]
