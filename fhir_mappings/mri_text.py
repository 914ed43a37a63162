"""MRI activity in radiology text, read with medspaCy: which lesions, how many, and whether
the radiologist says they are there (negation, uncertainty, history: ConText).

The pipeline is medspaCy on a blank English spaCy pipeline (no model to download):
spaCy's rule-based sentencizer, the section detector, the target matcher with our
target rules and ConText with medspaCy's default modifier rules plus ours, all from
valuesets/mri_terms.json. It is a model, not data: built once per process on first need
(the HTTP edge builds it off the event loop, see `pipeline_ready`), it keeps no text
between calls, and spaCy (whose vocabulary keeps every token string it sees) reads a
text only masked (`mri_mask`: the rules' words, small numbers and punctuation kept, every
other token a placeholder); calls are serialised by a lock, as the spaCy pipeline is not documented
as safe for concurrent calls. PyRuSH logs each sentence it splits at DEBUG through
loguru, and medspaCy through `logging`: both are silenced here, before the pipeline is
built, so no report text reaches a log.

A mention counts only where it stands in the current findings: negated ("no new or
enhancing lesions") it is a count of 0 for each measure it names; "stable" /
"unchanged" / "no interval change" is 0 new T2 lesions; "non-enhancing" is no Gd
finding at all; a possible one ("possible new lesion", "cannot be excluded") is
uncertain: no count, and the measure is reported as uncertain (never 0: the
radiologist did not say there is none); a historical, hypothetical or family mention,
or one in an indication, history or comparison section, is not this scan. Per measure
the largest count stated wins (reports repeat their findings in the impression, so
counts are not added); a count stated beats a zero.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from fhir_mappings.facts import MriMeasure
from fhir_mappings.mri_mask import Masker, build_masker, rule_strings

__all__ = [
    "RECORD_CAP_CHARS",
    "TEXT_CAP_CHARS",
    "MriTextError",
    "TextReading",
    "check_terms",
    "count_word",
    "load_pipeline",
    "pipeline_ready",
    "read_mri_text",
]

_TERMS: dict[str, Any] = json.loads(
    resources.files("fhir_mappings.valuesets").joinpath("mri_terms.json").read_text("utf-8")
)
TEXT_CAP_CHARS: int = int(_TERMS["text_cap_chars"])
"""At most this many characters of one report's texts are read (the rest is noted)."""
RECORD_CAP_CHARS: int = int(_TERMS["record_cap_chars"])
"""At most this many characters of MRI report text are read for one record (newest first)."""

_LOGGERS = ("PyRuSH", "medspacy", "spacy")
_NEWLINES = ("\n", "\r\n", "\n\n", "\r\n\r\n")  # line-break tokens (runs are squeezed)
_NOT_THIS_SCAN = ("is_historical", "is_hypothetical", "is_family")


class MriTextError(ValueError):
    """mri_terms.json is broken: a rule without a source, an unknown measure or category."""


@dataclass(frozen=True)
class TextReading:
    """Per measure (count, the rule that gave it); measures only possibly present; whether
    text was cut at the cap."""

    counts: dict[MriMeasure, tuple[int, str]] = field(default_factory=dict)
    uncertain: tuple[MriMeasure, ...] = ()
    truncated: bool = False
    read_chars: int = 0


@dataclass(frozen=True)
class _Target:
    id: str
    measures: tuple[MriMeasure, ...]
    zero_when_affirmed: bool  # "stable": said, it means none new
    counts_when_affirmed: bool  # "enhancement" alone is a zero when negated, else nothing


def _silence_logs() -> None:
    """No library logs report text: PyRuSH (loguru) off, medspaCy / spaCy above INFO."""
    from loguru import logger  # PyRuSH's logger; imported here, like the library

    logger.disable("PyRuSH")
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _check(entry: dict[str, Any], what: str) -> None:
    if entry.get("source") not in _TERMS["sources"]:
        raise MriTextError(f"mri_terms.json: {what} {entry.get('id') or entry.get('literal')!r}")


def _targets() -> dict[str, _Target]:
    out: dict[str, _Target] = {}
    for entry in _TERMS["targets"]:
        _check(entry, "target names no known source:")
        try:
            measures = tuple(MriMeasure(m) for m in entry["measures"])
        except ValueError as exc:
            raise MriTextError(f"mri_terms.json: target {entry['id']!r}: {exc}") from exc
        out[entry["id"]] = _Target(
            entry["id"],
            measures,
            bool(entry.get("affirmed_means_zero", False)),
            bool(entry.get("affirmed_counts", True)),
        )
    return out


def _count_prefix() -> list[dict[str, Any]]:
    words = _TERMS["count_words"]
    counted = [*words["values"], *words["at_least_two"]]
    return [
        {"LOWER": "a", "OP": "?"},
        {"LIKE_NUM": True, "OP": "?"},
        {"LOWER": {"IN": counted}, "OP": "?"},
        {"LOWER": {"IN": words["size_words"]}, "OP": "{0,2}"},
    ]


@dataclass(frozen=True)
class _Pipeline:
    nlp: Any  # spacy.Language
    targets: dict[str, _Target]
    lock: threading.Lock
    masker: Masker  # what spaCy sees: the tokens the rules read, placeholders for the rest


def _target_rules(targets: dict[str, _Target]) -> list[Any]:
    from medspacy.target_matcher import TargetRule

    words = [*_TERMS["count_words"]["values"], *_TERMS["count_words"]["at_least_two"]]
    answer = [{"TEXT": ":"}, {"LIKE_NUM": True, "OP": "?"}, {"LOWER": {"IN": words}, "OP": "?"}]
    rules = []
    for entry in _TERMS["targets"]:
        target = targets[entry["id"]]
        pattern = entry["pattern"]
        if target.measures and target.counts_when_affirmed and not target.zero_when_affirmed:
            # "2 new T2 lesions", and "New T2 lesions: 2" / "Enhancing lesions: none"
            rules.append(TargetRule(entry["id"], entry["id"], pattern=[*pattern, *answer]))
            pattern = [*_count_prefix(), *pattern]
        rules.append(TargetRule(entry["id"], entry["id"], pattern=pattern))
    return rules


def _modifier_rules(default_path: str) -> list[Any]:
    from medspacy.context import ConTextRule

    replaced = set(_TERMS["replaced_default_modifiers"]["literals"])
    rules = [r for r in ConTextRule.from_json(default_path) if r.literal not in replaced]
    for entry in _TERMS["modifiers"]:
        _check(entry, "modifier names no known source:")
        try:
            rule = ConTextRule(
                entry["literal"],
                entry["category"],
                pattern=entry.get("pattern"),
                direction=entry["direction"],
                max_scope=entry.get("max_scope"),
            )
        except (ValueError, KeyError) as exc:
            raise MriTextError(f"mri_terms.json: modifier {entry['literal']!r}: {exc}") from exc
        rules.append(rule)
    return rules


def _section_rules() -> list[Any]:
    from medspacy.section_detection import SectionRule

    for entry in _TERMS["sections"]["rules"]:
        _check(entry, "section rule names no known source:")
    rules = _TERMS["sections"]["rules"]
    return [SectionRule(e["literal"], e["category"], pattern=e.get("pattern")) for e in rules]


def check_terms() -> None:
    """mri_terms.json is sound (every rule sourced, measures known): cheap, no model built,
    so start-up can check it without waiting for spaCy."""
    _targets()
    for entry in [*_TERMS["modifiers"], *_TERMS["sections"]["rules"]]:
        _check(entry, "rule names no known source:")


_BUILDING = threading.Lock()  # the first callers wait for one build, not one build each


def load_pipeline() -> _Pipeline:
    """The medspaCy pipeline, built once per process; a broken rule file fails here."""
    with _BUILDING:
        return _build()


def pipeline_ready() -> bool:
    """Whether the pipeline is built (reading a text then costs no model build)."""
    return _build.cache_info().currsize > 0


@cache
def _build() -> _Pipeline:
    _silence_logs()
    import medspacy  # noqa: F401 (registers the medspaCy pipeline components)
    import spacy
    from spacy.pipeline import Sentencizer

    targets = _targets()
    nlp = spacy.blank("en")
    # spaCy's rule-based sentencizer rather than PyRuSH (a tenth of the cost per report);
    # a line break ends a sentence too (report lines often have no full stop).
    punct = [*Sentencizer.default_punct_chars, *_NEWLINES]
    nlp.add_pipe("sentencizer", config={"punct_chars": punct})
    matcher: Any = nlp.add_pipe("medspacy_target_matcher")
    matcher.add(_target_rules(targets))
    sectionizer: Any = nlp.add_pipe("medspacy_sectionizer", config={"rules": None})
    sectionizer.add(_section_rules())
    context: Any = nlp.add_pipe("medspacy_context", config={"rules": None})
    modifiers = _modifier_rules(context.DEFAULT_RULES_FILEPATH)
    context.add(modifiers)
    return _Pipeline(nlp, targets, threading.Lock(), _masker(nlp, modifiers))


def _masker(nlp: Any, modifiers: list[Any]) -> Masker:
    """The masker keeping every word of the rules the pipeline was built with: ours (targets
    as built, with their count prefixes, modifiers, sections, count words) and medspaCy's
    default ConText rules it loaded; the sentencizer's punctuation."""
    from spacy.pipeline import Sentencizer

    built = [(r.literal, r.pattern) for r in _target_rules(_targets())]
    built += [(r.literal, r.pattern) for r in modifiers]
    built += [(r.literal, r.pattern) for r in _section_rules()]
    strings = [
        *rule_strings(built),
        *rule_strings(_TERMS["count_words"]),
        *Sentencizer.default_punct_chars,
    ]
    return build_masker(nlp.tokenizer, strings)


def count_word(text: str | None) -> int | None:
    """A count written as a word or words ("two", "a single", "none"), else None."""
    words = " ".join((text or "").lower().split()).removeprefix("a ")
    value = _TERMS["count_words"]["values"].get(words)
    return value if isinstance(value, int) and words not in ("a", "an") else None


def _count(span: Any) -> int:
    """The count a target states: a number or number word in it (before or after the
    lesion word); else 1 for a singular, 2 (the least a plural means) for a plural."""
    words = _TERMS["count_words"]
    values: dict[str, int] = words["values"]
    for token in span:
        text = token.lower_
        if text.isdigit():
            return int(text)
        if text in values and text not in ("a", "an"):
            return values[text]
        if text in words["at_least_two"]:
            return 2
    last = span[-1].lower_
    plural = last.endswith("s") or last in ("foci", "hyperintensities")
    return 2 if plural and last != "focus" else 1


def read_mri_text(texts: Iterable[str], budget: int = TEXT_CAP_CHARS) -> TextReading:
    """What the texts of one report say about this scan's Gd-enhancing and new/enlarging
    T2 lesions (texts joined in order, at most TEXT_CAP_CHARS characters, or `budget` if
    less, read)."""
    cap = min(TEXT_CAP_CHARS, budget)
    text, truncated = "", False
    for part in texts:
        room = cap - len(text)
        if room <= 0:
            truncated = True
            break
        if len(part) > room:
            truncated = True
        text += part[:room] + "\n"
    read = len(text)
    if not text.strip():
        return TextReading(read_chars=read)
    pipeline = load_pipeline()
    targets = pipeline.targets
    excluded = set(_TERMS["sections"]["not_current"])
    # Line-break runs become one break (a token the sentencizer knows); other whitespace
    # stays as written.
    text = "\n".join(line for line in text.replace("\r\n", "\n").split("\n") if line.strip())
    masked = pipeline.masker.mask(text)  # no patient word reaches spaCy's vocabulary
    with pipeline.lock:
        doc = pipeline.nlp(masked)
    found: dict[MriMeasure, tuple[int, str]] = {}
    zero: dict[MriMeasure, str] = {}
    uncertain: list[MriMeasure] = []
    for ent in doc.ents:
        target = targets.get(ent.label_)
        if target is None or not target.measures:
            continue
        if ent._.section_category in excluded or any(getattr(ent._, a) for a in _NOT_THIS_SCAN):
            continue
        if ent._.is_uncertain:
            uncertain.extend(target.measures)
            continue
        for measure in target.measures:
            if ent._.is_negated:
                if not target.zero_when_affirmed:
                    zero.setdefault(measure, target.id)
            elif target.zero_when_affirmed:
                zero.setdefault(measure, target.id)
            elif target.counts_when_affirmed:
                count = _count(ent)
                best = found.get(measure)
                if count > 0 and (best is None or count > best[0]):
                    found[measure] = (count, target.id)
                elif count == 0:
                    zero.setdefault(measure, target.id)
    counts = dict(found)
    for measure, rule in zero.items():
        if measure not in counts and measure not in uncertain:
            counts[measure] = (0, rule)
    doubtful = tuple(m for m in dict.fromkeys(uncertain) if m not in found)
    return TextReading(counts, doubtful, truncated, read)
