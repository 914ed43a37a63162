"""Condition -> MS diagnoses (course, activity, certainty), relapses, mimics (NMOSD,
MOGAD, CIS, RIS), a prior HSCT on the problem list, pregnancy evidence and the dates
that bound the disease onset, in one pass.

CIS, RIS, refuted and entered-in-error Conditions are never MS; a diagnosis counts only
while active, but onset and relapses read inactive ones too (an old RRMS Condition
resolved when SPMS was recorded still dates the onset). A diagnosis is unconfirmed
when its verificationStatus says unconfirmed / provisional / differential or its text
says possible / probable / suspected / ?MS (valuesets/diagnosis_certainty.json); a
relapse in such words, or a pseudo-relapse (valuesets/pseudo_relapse.json), is no
relapse. Relapse records date relapses, not the disease.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from fhir_mappings.dates import add_months
from fhir_mappings.facts import (
    Certainty,
    DateSpan,
    Diagnosis,
    DiseaseCourse,
    DiseaseOnset,
    Mimic,
    MimicKind,
    MsCourse,
    OnsetBasis,
    PregnancyState,
    PriorAhsct,
    Relapse,
)
from fhir_mappings.reader import Concept, Element, Resource
from fhir_mappings.textcap import matched_part
from fhir_mappings.valuesets import Code, extra, load, none_can_match

__all__ = [
    "ConditionFacts",
    "MsMatch",
    "PregnancyEvidence",
    "classify_concept",
    "disease_course",
    "doubtful",
    "pseudo_relapse",
    "read_conditions",
]

_INACTIVE_CLINICAL = {"inactive", "resolved"}
_EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}
_ASSERTED_DATE = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"
_ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
_AUTOLOGOUS = re.compile(r"\bautologous\b|\bahsct\b|\bauto-?hsct\b", re.IGNORECASE)
_ALLOGENEIC = re.compile(r"\ballo(geneic|gen|-?hsct)\b", re.IGNORECASE)
_MESENCHYMAL = re.compile(r"mesenchymal|\bmscs?\b|stromal", re.IGNORECASE)

MsMatch = tuple[MsCourse, str | None, str, bool]  # course, activity, matched by, relapse


class PregnancyEvidence(NamedTuple):
    """One dated statement of pregnancy state (the latest of all of them wins)."""

    state: PregnancyState
    on: DateSpan | None
    matched_by: str
    source: str


def _names_not_ms(concept: Concept) -> bool:
    """Text naming CIS, RIS or another non-MS disease (a CIS or RIS named as the
    condition's past, "MS, initially CIS 2017", does not count: mimic_history)."""
    not_ms, history = load("not_ms"), load("mimic_history")
    for text in concept.texts:
        if not_ms.match_text(text) is None:
            continue
        text = matched_part(text)  # read up to the matched length, as the value sets do
        for pattern in history.patterns:
            text = pattern.regex.sub(" ", text)
        if not_ms.match_text(text) is not None:
            return True
    return False


def doubtful(concept: Concept) -> bool:
    """Text that leaves a diagnosis or relapse unconfirmed ("possible", "?MS")."""
    doubt = load("diagnosis_certainty")
    return any(doubt.match_text(text) is not None for text in concept.texts)


def pseudo_relapse(concept: Concept) -> bool:
    """Text naming a pseudo-relapse (infection, fever, heat, Uhthoff)."""
    pseudo = load("pseudo_relapse")
    return any(pseudo.match_text(text) is not None for text in concept.texts)


def certainty_of(condition: Element, doubt_text: bool) -> Certainty:
    """Unconfirmed by verificationStatus or by words of doubt, else confirmed."""
    status = condition.status("verificationStatus")
    if doubt_text or status in extra.strings("diagnosis_certainty", "unconfirmed_verification"):
        return Certainty.UNCONFIRMED
    return Certainty.CONFIRMED


def classify_concept(concept: Concept, not_ms_text: bool | None = None) -> MsMatch | None:
    """(course, activity, matched_by, relapse) when the concept states MS, else None.

    A code wins over text; CIS and RIS (by code, or by text when MS is only named
    in text) are not MS. Of the texts, a course-naming pattern beats plain "multiple
    sclerosis". `not_ms_text`: `_names_not_ms(concept)`, when already known.
    """
    ms, not_ms = load("ms_diagnosis"), load("not_ms")
    for system, code in concept.codings:
        if not_ms.lookup(system, code):
            return None
    for system, code in concept.codings:
        found = ms.lookup(system, code)
        if found is not None:
            attrs = found.attributes
            return (
                MsCourse(attrs.get("course", "unspecified")),
                attrs.get("activity"),
                f"{found.system}|{found.code}",
                bool(attrs.get("relapse")),
            )
    if not concept.texts:
        return None
    if _names_not_ms(concept) if not_ms_text is None else not_ms_text:
        return None
    best: MsMatch | None = None
    for text in concept.texts:
        for pattern in ms.matches(text):
            course = MsCourse(pattern.attributes.get("course", "unspecified"))
            if best is None or best[0] is MsCourse.UNSPECIFIED:
                best = (course, None, "text", False)
    return best


def _relapse_of(concept: Concept, not_ms_text: bool) -> str | None:
    """How a concept states an MS relapse (a code, or text not naming a non-MS disease)."""
    relapse = load("ms_relapse")
    found = relapse.match_concept(concept, use_text=False)
    if isinstance(found, Code):
        return f"{found.system}|{found.code}"
    if not_ms_text:
        return None
    return "text" if any(relapse.matches(text) for text in concept.texts) else None


def relapse_matched_by(concept: Concept) -> str | None:
    """How a concept (a Condition's code, an Encounter's reason) states a true MS relapse:
    never a pseudo-relapse, never one in words of doubt."""
    if not concept:
        return None
    found = _relapse_of(concept, _names_not_ms(concept))
    if found is None or pseudo_relapse(concept) or doubtful(concept):
        return None
    return found


def _mimic_of(concept: Concept) -> tuple[MimicKind, str] | None:
    found = load("mimics").match_concept(concept)
    if found is None:
        return None
    kind = MimicKind(found.attributes["kind"])
    if isinstance(found, Code):
        return kind, f"{found.system}|{found.code}"
    return kind, f"text /{found.regex.pattern}/"


def _hsct_history_of(concept: Concept) -> tuple[str, bool | None] | None:
    """(matched_by, autologous) for a problem-list entry of a prior HSCT: a status or
    history code, or history wording; never an MSC (mesenchymal) or allogeneic one."""
    history = load("hsct_history")
    matched: tuple[str, bool | None] | None = None
    for system, code in concept.codings:
        found = history.lookup(system, code)
        if found is not None:
            matched = (f"{found.system}|{found.code}", None)
            break
        procedure = load("hsct").lookup(system, code)
        if procedure is not None and procedure.attributes.get("prior_ahsct"):
            matched = (f"{procedure.system}|{procedure.code}", True)
            break
    if matched is None and any(history.match_text(t) is not None for t in concept.texts):
        matched = ("text", None)
    if matched is None:  # most conditions: the wording checks below need not run
        return None
    texts = [matched_part(t) for t in concept.texts]  # up to the matched length
    if any(_MESENCHYMAL.search(t) or _ALLOGENEIC.search(t) for t in texts):
        return None
    matched_by, autologous = matched
    if autologous is None and any(_AUTOLOGOUS.search(t) for t in texts):
        autologous = True
    return matched_by, autologous


def _pregnancy_of(concept: Concept) -> tuple[PregnancyState, str] | None:
    pregnancy = load("pregnancy")
    for system, code in concept.codings:
        found = pregnancy.lookup(system, code)
        if found is not None and found.attributes.get("role") == "condition":
            return PregnancyState(found.attributes["state"]), f"{found.system}|{found.code}"
        if system == _ICD10CM and _icd_pregnancy(code.strip().upper()):
            return PregnancyState.PREGNANT, f"{system}|{code.strip()}"
    for text in concept.texts:
        pattern = pregnancy.match_text(text)
        if pattern is not None:
            return PregnancyState(pattern.attributes["state"]), "text"
    return None


def _icd_pregnancy(code: str) -> bool:
    for prefix, excluded in extra.ranges("pregnancy", "icd10cm_prefixes"):
        if code.startswith(prefix):
            head = code.split(".")[0]
            return not any(lo <= head <= hi for lo, hi in excluded)
    return False


class _Kinds(NamedTuple):
    ms: MsMatch | None
    relapse: str | None  # how a relapse is stated (pseudo and doubtful ones excluded)
    event: bool  # names a relapse or pseudo-relapse: its onset is no disease onset
    doubt: bool
    mimic: tuple[MimicKind, str] | None
    hsct: tuple[str, bool | None] | None
    pregnancy: tuple[PregnancyState, str] | None

    @property
    def anything(self) -> bool:
        return bool(self.ms or self.relapse or self.mimic or self.hsct or self.pregnancy)


# Every set `_kinds` asks about a condition's code (most codes name none of them).
_CONDITION_SETS = (
    "not_ms",
    "ms_diagnosis",
    "ms_relapse",
    "diagnosis_certainty",
    "pseudo_relapse",
    "mimics",
    "hsct_history",
    "hsct",
    "pregnancy",
)
_NO_KINDS = _Kinds(None, None, False, False, None, None, None)


def _kinds(concept: Concept) -> _Kinds:
    if none_can_match(_CONDITION_SETS, concept) and not any(
        system == _ICD10CM and _icd_pregnancy(code.strip().upper())
        for system, code in concept.codings
    ):
        return _NO_KINDS  # what every check below would find
    not_ms_text = _names_not_ms(concept)
    relapse = _relapse_of(concept, not_ms_text)
    doubt = doubtful(concept)
    pseudo = pseudo_relapse(concept)
    return _Kinds(
        ms=classify_concept(concept, not_ms_text),
        relapse=relapse if relapse is not None and not doubt and not pseudo else None,
        event=relapse is not None or pseudo,
        doubt=doubt,
        mimic=_mimic_of(concept),
        hsct=_hsct_history_of(concept),
        pregnancy=_pregnancy_of(concept),
    )


@dataclass(frozen=True)
class ConditionFacts:
    """What the Conditions say. `onsets`, `asserted` and `recorded` are the MS Conditions'
    onset, assertedDate (the diagnosis date) and recordedDate, each with its source:
    onset.disease_onset weighs them against DMT starts and relapses."""

    diagnoses: tuple[Diagnosis, ...]
    onset: DiseaseOnset | None
    relapses: tuple[Relapse, ...]
    mimics: tuple[Mimic, ...] = ()
    prior_hsct: tuple[PriorAhsct, ...] = ()
    pregnancy: tuple[PregnancyEvidence, ...] = ()
    onsets: tuple[tuple[DateSpan, str], ...] = ()
    asserted: tuple[tuple[DateSpan, str], ...] = ()
    recorded: tuple[tuple[DateSpan, str], ...] = ()


def read_conditions(conditions: Iterable[Resource], birth: DateSpan | None) -> ConditionFacts:
    """Current MS diagnoses, the dates that bound the onset, relapses (resolved ones too:
    they happened), current mimics, prior HSCT entries and pregnancy evidence."""
    diagnoses: list[Diagnosis] = []
    relapses: list[Relapse] = []
    mimics: list[Mimic] = []
    hsct: list[PriorAhsct] = []
    pregnancy: list[PregnancyEvidence] = []
    onsets: list[tuple[DateSpan, str]] = []
    asserted: list[tuple[DateSpan, str]] = []
    recorded: list[tuple[DateSpan, str]] = []
    seen: dict[Concept, _Kinds] = {}  # this read only
    for condition in conditions:
        concept = condition.concept("code")
        if not concept:
            continue
        kinds = seen.get(concept)
        if kinds is None:
            kinds = seen[concept] = _kinds(concept)
        if not kinds.anything:
            continue
        if condition.status("verificationStatus") in _EXCLUDED_VERIFICATION:
            continue
        current = condition.status("clinicalStatus") not in _INACTIVE_CLINICAL
        ref = condition.ref
        onset = _onset_span(condition, birth)
        when = condition.date("recordedDate")
        if kinds.ms is not None:
            course, activity, matched_by, is_relapse = kinds.ms
            is_relapse = is_relapse or kinds.event
            if current:
                diagnoses.append(
                    Diagnosis(
                        source=ref,
                        course=course,
                        activity=activity,
                        matched_by=matched_by,
                        relapse=is_relapse,
                        certainty=certainty_of(condition, kinds.doubt),
                        on=onset or when,
                    )
                )
            if not is_relapse:  # a relapse record's onset is the relapse's, not the disease's
                if onset is not None:
                    onsets.append((onset, ref))
                diagnosed = _asserted_date(condition)
                if diagnosed is not None:
                    asserted.append((diagnosed, ref))
                if when is not None:
                    recorded.append((when, ref))
        if kinds.relapse is not None:
            on = _onset_span(condition, None) or when
            relapses.append(Relapse(on=on, matched_by=kinds.relapse, source=ref))
        if kinds.mimic is not None and current:
            kind, matched_by = kinds.mimic
            mimics.append(
                Mimic(
                    kind=kind,
                    certainty=certainty_of(condition, kinds.doubt),
                    on=onset or when,
                    matched_by=matched_by,
                    source=ref,
                )
            )
        if kinds.hsct is not None:
            matched_by, autologous = kinds.hsct
            hsct.append(
                PriorAhsct(
                    on=onset or when, matched_by=matched_by, source=ref, autologous=autologous
                )
            )
        if kinds.pregnancy is not None and current and "abatementDateTime" not in condition:
            state, matched_by = kinds.pregnancy
            pregnancy.append(PregnancyEvidence(state, onset or when, matched_by, ref))
    return ConditionFacts(
        diagnoses=tuple(diagnoses),
        onset=_earliest_onset(onsets, recorded),
        relapses=tuple(relapses),
        mimics=tuple(mimics),
        prior_hsct=tuple(hsct),
        pregnancy=tuple(pregnancy),
        onsets=tuple(onsets),
        asserted=tuple(asserted),
        recorded=tuple(recorded),
    )


def _asserted_date(condition: Element) -> DateSpan | None:
    """The condition-assertedDate extension (when the diagnosis was first asserted)."""
    if "extension" not in condition:
        return None
    for extension in condition.children("extension"):
        if extension.string("url") == _ASSERTED_DATE:
            return extension.date("valueDateTime")
    return None


def _earliest_onset(
    onsets: list[tuple[DateSpan, str]], recorded: list[tuple[DateSpan, str]]
) -> DiseaseOnset | None:
    """The Conditions' own onset: the earliest onset, else the earliest recordedDate (a
    lower bound only). build uses onset.disease_onset, which weighs more evidence."""
    for candidates, basis in ((onsets, OnsetBasis.ONSET), (recorded, OnsetBasis.RECORDED_DATE)):
        if candidates:
            span, ref = min(candidates, key=lambda c: (c[0].earliest, c[0].latest))
            return DiseaseOnset(
                span=span,
                basis=basis,
                source=ref,
                lower_bound_only=basis is OnsetBasis.RECORDED_DATE,
            )
    return None


def _onset_span(condition: Element, birth: DateSpan | None) -> DateSpan | None:
    return (
        condition.date("onsetDateTime")
        or condition.period("onsetPeriod")[0]
        or _onset_age_span(condition.child("onsetAge") if birth else None, birth)
    )


def _onset_age_span(age: Element | None, birth: DateSpan | None) -> DateSpan | None:
    """onsetAge (an Age quantity in years or months) -> the span of onset days."""
    if age is None or birth is None:
        return None
    amount = age.number("value")
    unit = age.string("code") or age.string("unit")
    if amount is None or amount < 0 or (unit is None and ("code" in age or "unit" in age)):
        return None  # no number, or a unit that cannot be read: no guess
    unit = (unit or "a").lower()
    if unit in {"a", "yr", "yrs", "year", "years"}:
        months, width = int(amount * 12), (12 if amount.is_integer() else 1)
    elif unit in {"mo", "month", "months"}:
        months, width = int(amount), 1
    else:
        return None
    earliest = add_months(birth.earliest, months)
    latest = add_months(birth.latest, months + width) - timedelta(days=1)
    return DateSpan(earliest=earliest, latest=latest, text=f"age {amount:g} {unit}")


_COURSE_RANK = (
    MsCourse.PRIMARY_PROGRESSIVE,
    MsCourse.SECONDARY_PROGRESSIVE,
    MsCourse.PROGRESSIVE_RELAPSING,
    MsCourse.PROGRESSIVE_UNSPECIFIED,
    MsCourse.RELAPSING_REMITTING,
    MsCourse.UNSPECIFIED,
)


def disease_course(diagnoses: Sequence[Diagnosis]) -> DiseaseCourse | None:
    """The most advanced course among current MS diagnoses (relapse records state none)."""
    if not diagnoses:
        return None
    staged = [d for d in diagnoses if not d.relapse] or list(diagnoses)
    recorded = {d.course for d in staged}
    course = next(c for c in _COURSE_RANK if c in recorded)
    chosen = [d for d in staged if d.course is course]
    activities = [d.activity for d in chosen if d.activity]
    activity = "active" if "active" in activities else (activities[0] if activities else None)
    return DiseaseCourse(
        course=course,
        activity=activity,
        sources=tuple(d.source for d in chosen),
        also_recorded=tuple(c for c in _COURSE_RANK if c in recorded and c is not course),
    )
