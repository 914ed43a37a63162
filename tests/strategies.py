"""Hypothesis strategies for CDS Hooks requests and FHIR resources, valid and damaged.

Profiles (loaded in tests/conftest.py from HYPOTHESIS_PROFILE):
- "dev" (default, `make test`): few examples, derandomized, so the suite stays fast
  and deterministic;
- "fuzz" (`make fuzz`): many examples, a fixed seed (derandomized), generous deadline.

Damage is applied to a JSON tree at random paths: wrong types (a string where a
list belongs, numbers as dates), nulls in arrays, unknown resourceTypes, STU3/R5
field shapes, huge strings and lists, deep nesting. Byte-level damage (truncation,
invalid UTF-8, duplicate keys, BOMs) is applied to the encoded body.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from cds_service.body import json_depth
from cds_service.config import Settings
from tests import builders as b

JSON = dict[str, Any]
MAX_JSON_DEPTH: int = Settings.model_fields["max_json_depth"].default
MAX_BODY_BYTES: int = Settings.model_fields["max_body_bytes"].default

# --- profiles ------------------------------------------------------------------

_COMMON: dict[str, Any] = {
    "derandomize": True,  # a fixed seed: the same examples on every run and machine
    "database": None,
    "deadline": timedelta(seconds=20),  # generous: a bound on hangs, not a speed test
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
    "print_blob": True,
}
settings.register_profile("dev", max_examples=40, **_COMMON)
settings.register_profile("fuzz", max_examples=1000, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
FUZZING = PROFILE == "fuzz"

# --- scalars and junk ----------------------------------------------------------

SNOMED = b.SNOMED
HCPCS = b.HCPCS
# Unknown or foreign resource types, and a few that exist only in STU3 or R5.
STRANGE_TYPES = [
    "Foo",
    "",
    "patient",
    "__class__",
    "Resource",
    "DomainResource",
    "ProcedureRequest",  # STU3
    "ReferralRequest",  # STU3
    "MedicationUsage",  # R5
    "Bundle",
    "OperationOutcome",
    "x" * 300,
]

texts = st.text(max_size=12)
# Lone surrogates are valid in JSON text ("\ud800") but not in UTF-8.
nasty_texts = st.one_of(
    texts,
    st.text(st.characters(categories=["Cs", "Cc", "Zs", "So"]), max_size=6),
    st.sampled_from(["", " ", "\x00", "null", "[]", "{}", "1e400", "2021-02-30", "--"]),
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 20210301, 1.5e308, 1e-320]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, nasty_texts)
junk: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def _deep(levels: int) -> Any:
    value: Any = {"url": "x", "valueString": "deep"}
    for _ in range(levels):
        value = {"url": "x", "extension": [value]}
    return value


# Sizes that cost a lot to process are kept for the fuzz profile.
_BIG_STRING = 1_000_000 if FUZZING else 20_000
_MANY = 10_000 if FUZZING else 500
huge_values = st.sampled_from(["huge-string", "many-nulls", "deep", "long-list"]).map(
    lambda kind: {
        "huge-string": lambda: "M" * _BIG_STRING,
        "many-nulls": lambda: [None] * _MANY,
        "deep": lambda: _deep(100),
        "long-list": lambda: [{"text": "x"}] * _MANY,
    }[kind]()
)

# --- damage to a JSON tree -----------------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = (), limit: int = 400) -> list[tuple[Any, ...]]:
    """Paths to every node (breadth-first, at most `limit`)."""
    out: list[tuple[Any, ...]] = []
    queue: list[tuple[tuple[Any, ...], Any]] = [(prefix, value)]
    while queue and len(out) < limit:
        path, node = queue.pop(0)
        out.append(path)
        if isinstance(node, dict):
            queue.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            queue.extend(((*path, i), v) for i, v in enumerate(node[:50]))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    _get(value, path[:-1])[path[-1]] = new
    return value


OPERATIONS = [
    "junk",  # anything at all in its place
    "null",
    "wrap",  # a string where a list belongs (and the reverse)
    "unwrap",
    "stringify",
    "number",  # numbers as dates, as codes, as references
    "delete",
    "null-in-array",
    "strange-type",
    "huge",
    "empty",
]


@st.composite
def damaged(draw: st.DrawFn, value: Any, max_hits: int = 3) -> Any:
    """`value` (deep-copied) with 1..max_hits random pieces of damage."""
    value = copy.deepcopy(value)
    for _ in range(draw(st.integers(1, max_hits))):
        path = draw(st.sampled_from(_paths(value)))
        node = _get(value, path)
        op = draw(st.sampled_from(OPERATIONS))
        if op == "junk":
            value = _set(value, path, draw(junk))
        elif op == "null":
            value = _set(value, path, None)
        elif op == "wrap":
            value = _set(value, path, [node])
        elif op == "unwrap":
            value = _set(value, path, node[0] if isinstance(node, list) and node else "x")
        elif op == "stringify":
            value = _set(value, path, json.dumps(node)[:40])
        elif op == "number":
            value = _set(value, path, draw(numbers))
        elif op == "delete" and path:
            parent = _get(value, path[:-1])
            if isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent.pop(path[-1])
        elif op == "null-in-array":
            if isinstance(node, list):
                node.insert(draw(st.integers(0, len(node))), None)
            else:
                value = _set(value, path, [None, node])
        elif op == "strange-type":
            if isinstance(node, dict):
                node["resourceType"] = draw(st.sampled_from(STRANGE_TYPES))
        elif op == "huge":
            value = _set(value, path, draw(huge_values))
        elif op == "empty":
            value = _set(value, path, draw(st.sampled_from([{}, [], ""])))
    return value


# --- FHIR resources ------------------------------------------------------------

noise_ids = st.from_regex(r"x-[a-z0-9]{1,6}", fullmatch=True)
dates = st.dates().map(lambda d: d.isoformat())
other_med_texts = st.sampled_from(
    ["Cholecalciferol 1000 unit tablet", "Ocrelizumab 600 mg IV", "Natalizumab", "Saline"]
)


def _concept(text: str | None, system: str | None = None, code: str | None = None) -> JSON:
    concept: JSON = {}
    if code:
        concept["coding"] = [{"system": system, "code": code}]
    if text:
        concept["text"] = text
    return concept


@st.composite
def noise_resources(draw: st.DrawFn) -> JSON:
    """A plausible resource that is neither the planted MSC order nor the MS Condition."""
    rid = draw(noise_ids)
    kind = draw(
        st.sampled_from(
            [
                "Patient",
                "Observation",
                "Procedure",
                "Condition",
                "MedicationRequest",
                "MedicationStatement",
                "Medication",
                "ServiceRequest",
                "Condition-stu3",
                "MedicationRequest-r5",
                "Observation-r5",
                "Unknown",
            ]
        )
    )
    if kind == "Patient":
        return {"resourceType": "Patient", "id": rid, "birthDate": draw(dates), "gender": "other"}
    if kind == "Observation":
        return {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "code": _concept("EDSS score"),
            "effectiveDateTime": draw(dates),
            "valueQuantity": {"value": draw(st.integers(0, 10))},
        }
    if kind == "Observation-r5":
        return {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "code": _concept("MRI brain"),
            "instantiatesCanonical": "http://example.org/x",  # R5 only
            "triggeredBy": [{"observation": {"reference": "Observation/y"}, "type": "reflex"}],
        }
    if kind == "Procedure":
        return {
            "resourceType": "Procedure",
            "id": rid,
            "status": "completed",
            "code": _concept("Lumbar puncture"),
            "performedDateTime": draw(dates),
        }
    if kind == "Condition":
        return b.condition(rid, text=draw(st.sampled_from(["Hypertension", "Migraine", "Asthma"])))
    if kind == "Condition-stu3":
        # STU3: clinicalStatus and verificationStatus were plain codes.
        return {
            "resourceType": "Condition",
            "id": rid,
            "clinicalStatus": "active",
            "verificationStatus": "confirmed",
            "code": _concept("Migraine"),
            "subject": {"reference": "Patient/pat-1"},
            "onsetDateTime": draw(dates),
        }
    if kind == "MedicationRequest":
        return b.med_request(rid, text=draw(other_med_texts))
    if kind == "MedicationRequest-r5":
        return {
            "resourceType": "MedicationRequest",
            "id": rid,
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/pat-1"},
            "medication": {"concept": _concept(draw(other_med_texts))},  # R5 CodeableReference
        }
    if kind == "MedicationStatement":
        return {
            "resourceType": "MedicationStatement",
            "id": rid,
            "status": "active",
            "taken": "y",  # STU3 only
            "medicationCodeableConcept": _concept(draw(other_med_texts)),
            "subject": {"reference": "Patient/pat-1"},
        }
    if kind == "Medication":
        return {"resourceType": "Medication", "id": rid, "code": _concept(draw(other_med_texts))}
    if kind == "ServiceRequest":
        return b.service_request(rid, text="MRI brain with contrast")
    return {"resourceType": draw(st.sampled_from(STRANGE_TYPES)), "id": rid, "x": draw(junk)}


def damaged_resources(p_damage: float = 0.6) -> st.SearchStrategy[Any]:
    """A noise resource, damaged most of the time (sometimes beyond recognition)."""
    return noise_resources().flatmap(
        lambda r: st.one_of(st.just(r), damaged(r), damaged(r), junk) if p_damage else st.just(r)
    )


def bundles(entries: st.SearchStrategy[Any], kind: str = "searchset") -> st.SearchStrategy[JSON]:
    return st.lists(entries, max_size=4).map(
        lambda rs: {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in rs]}
    )


# --- whole requests ------------------------------------------------------------

HOOKS = {
    "ms-order-select": "order-select",
    "ms-order-sign": "order-sign",
    "ms-patient-view": "patient-view",
}


@st.composite
def valid_requests(draw: st.DrawFn, service: str | None = None) -> tuple[str, JSON]:
    """(service id, request) built from plausible resources, undamaged."""
    service = service or draw(st.sampled_from(sorted(HOOKS)))
    hook = HOOKS[service]
    drafts = draw(st.lists(noise_resources(), max_size=3))
    conditions = draw(st.lists(st.sampled_from([b.ms_condition()]) | noise_resources(), max_size=3))
    body = b.hook_request(hook, drafts=drafts, conditions=conditions)
    body["prefetch"]["observations"] = draw(bundles(noise_resources()))
    return service, body


@st.composite
def damaged_requests(draw: st.DrawFn) -> tuple[str, JSON]:
    """(service id, request) with damage anywhere: envelope, context, prefetch, resources."""
    service, body = draw(valid_requests())
    return service, draw(damaged(body, max_hits=4))


def encode(body: Any) -> bytes:
    return json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")


BYTE_DAMAGE: list[Callable[[bytes, int], bytes]] = [
    lambda raw, i: raw[:i],  # truncated JSON
    lambda raw, i: raw[:i] + b"\xff\xfe\xc3" + raw[i:],  # invalid UTF-8
    lambda raw, i: raw.replace(b"{", b'{"resourceType": "Bundle", ', 1),  # duplicate keys
    lambda raw, i: raw.replace(b'"hook": ', b'"hook": "x", "hook": ', 1),
    lambda raw, i: b"\xef\xbb\xbf" + raw,  # UTF-8 BOM
    lambda raw, i: raw.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass"),
    lambda raw, i: raw + b"garbage",
    lambda raw, i: b"[" * 3000 + b"]" * 3000,
    lambda raw, i: b"",
    lambda raw, i: b"null",
    lambda raw, i: b'"\\ud800"',
]


@st.composite
def request_bodies(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """(service id, raw body, content type): any body an EHR or an attacker might send."""
    kind = draw(st.sampled_from(["valid", "damaged", "damaged", "bytes", "junk"]))
    if kind == "junk":
        service, raw = draw(st.sampled_from(sorted(HOOKS))), encode(draw(junk))
    else:
        service, body = draw(valid_requests() if kind == "valid" else damaged_requests())
        raw = encode(body)
        if kind == "bytes":
            damage = draw(st.sampled_from(BYTE_DAMAGE))
            raw = damage(raw, draw(st.integers(0, max(len(raw) - 1, 0))))
    service = draw(st.sampled_from([service, service, service, "nope", "ms-order-select/x"]))
    content_type = draw(
        st.sampled_from(
            ["application/json"] * 6
            + ["application/fhir+json; charset=utf-8", "text/plain", "", "application/xml"]
        )
    )
    return service, raw, content_type


# --- planted MSC and AHSCT orders (safety properties) --------------------------

MS_CONDITIONS = [
    ("http://snomed.info/sct", "24700007"),
    ("http://snomed.info/sct", "426373005"),
    ("http://snomed.info/sct", "428700003"),
    ("http://hl7.org/fhir/sid/icd-10-cm", "G35.A"),
    ("http://hl7.org/fhir/sid/icd-10-cm", "G35"),
    ("http://hl7.org/fhir/sid/icd-10", "G35"),
]
MSC_TEXTS = [
    "Mesenchymal stem cells IV infusion",
    "MSC infusion",
    "Autologous bone marrow-derived MSCs",
    "Remestemcel-L",
    "Ryoncil 2 x 10^6 cells/kg",
    "Wharton's jelly stem cells",
    "Umbilical cord-derived mesenchymal stem cells",
    "Adipose-derived stromal cells",
    "stromal cell therapy",
]
HCPCS_SYSTEMS = [
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "urn:oid:2.16.840.1.113883.6.285",
]
# Haematopoietic wording and codes from fhir_mappings/valuesets/hsct.json.
HSCT_TEXTS = [
    "Autologous haematopoietic stem cell transplantation",
    "hematopoietic stem cell transplant",
    "Haemopoietic SCT",
    "aHSCT",
    "HSCT (autologous)",
    "Bone marrow transplant",
    "Peripheral blood stem cell collection and reinfusion",
    "PBSCT",
    "Cord blood unit",
    "HPC, apheresis",
    "autologous stem cell transplant",
]
HSCT_CODES = [
    ("http://snomed.info/sct", "234336002"),
    ("http://snomed.info/sct", "425983008"),
    ("http://www.ama-assn.org/go/cpt", "38241"),
    ("http://www.cms.gov/Medicare/Coding/ICD10", "30243Y0"),
    ("http://hl7.org/fhir/sid/icd-10-pcs", "30233Y0"),
]
SPACES = [" ", "  ", "\u00a0", "\n", "\t", " \r\n "]


@st.composite
def wordings(draw: st.DrawFn, phrases: list[str]) -> str:
    """A phrase from `phrases`, re-cased and with its spaces replaced by any whitespace."""
    phrase = draw(st.sampled_from(phrases))
    case = draw(st.sampled_from([str, str.upper, str.lower, str.title]))
    words = case(phrase).split(" ")
    out = words[0]
    for word in words[1:]:
        out += draw(st.sampled_from(SPACES)) + word
    return out


def _msc_concept(draw: st.DrawFn) -> JSON:
    if draw(st.booleans()):
        return {"coding": [{"system": draw(st.sampled_from(HCPCS_SYSTEMS)), "code": "J3402"}]}
    return {"text": draw(wordings(MSC_TEXTS))}


@st.composite
def planted_orders(draw: st.DrawFn, index: int, concept: JSON) -> tuple[JSON, list[JSON]]:
    """(order, extra draft resources) for an order of `concept` in one of the real shapes."""
    oid = f"order-{index}"
    shape = draw(st.sampled_from(["text", "contained", "bundle-medication", "service-request"]))
    reason: JSON = draw(
        st.sampled_from(
            [
                {},
                {"reasonReference": [{"reference": "Condition/ms-1"}]},
                {"reasonCode": [{"text": "relapsing-remitting multiple sclerosis"}]},
            ]
        )
    )
    if shape == "service-request":
        order = b.service_request(oid, **reason)
        order["code"] = concept
        return order, []
    if shape == "text":
        order = b.med_request(oid, **reason)
        order["medicationCodeableConcept"] = concept
        return order, []
    medication = {"resourceType": "Medication", "id": f"med-{index}", "code": concept}
    if shape == "contained":
        medication["id"] = "m"
        order = b.med_request(oid, medicationReference={"reference": "#m"}, **reason)
        order["contained"] = [medication]
        return order, []
    ref = {"reference": f"Medication/med-{index}"}
    return b.med_request(oid, medicationReference=ref, **reason), [medication]


def _outcome_free(value: Any, fallback: JSON) -> Any:
    from cds_service.fetch import is_outcome_stand_in

    return fallback if is_outcome_stand_in(value) else value


@st.composite
def orders_in_damaged_records(
    draw: st.DrawFn, concept: Callable[[st.DrawFn], JSON]
) -> tuple[str, JSON, list[str]]:
    """(service, request, planted order refs): planted orders and an MS Condition, intact,
    amid damaged drafts, conditions, patient and other prefetch."""
    service = draw(st.sampled_from(["ms-order-select", "ms-order-sign"]))
    planted, extra = [], []
    for index in range(draw(st.integers(1, 3))):
        order, more = draw(planted_orders(index, concept(draw)))
        planted.append(order)
        extra.extend(more)
    system, code = draw(st.sampled_from(MS_CONDITIONS))
    ms = b.condition("ms-1", code, system=system)
    noise = st.lists(damaged_resources(), max_size=4)
    drafts = draw(noise) + planted + extra + draw(noise)
    drafts = draw(st.permutations(drafts))
    conditions = draw(st.permutations([ms, *draw(noise)]))
    refs = [f"{o['resourceType']}/{o['id']}" for o in planted]
    junk_selections = st.lists(st.sampled_from(["x", "", "MedicationRequest/x-1", "/"]))
    selections = refs + draw(junk_selections)
    body = b.hook_request(
        HOOKS[service], drafts=drafts, selections=selections, conditions=conditions
    )
    prefetch = body["prefetch"]
    prefetch["patient"] = _outcome_free(draw(damaged_resources()), b.patient())
    for key in (
        "medicationRequests",
        "medicationStatements",
        "medicationAdministrations",
        "observations",
        "imagingObservations",
        "procedures",
        "encounters",
    ):
        prefetch[key] = draw(st.one_of(bundles(damaged_resources()), junk, st.none()))
    # Unknown envelope members and extensions must be ignored.
    body["extension"] = draw(st.dictionaries(texts, junk, max_size=3))
    body["context"][draw(texts.filter(lambda k: k not in body["context"]))] = draw(junk)
    # A body nested past the configured limit (400) or larger than it (413) is refused
    # whole by design (cds_service/limits.py): the invariant holds for what is read.
    raw = encode(body)
    assume(len(raw) <= MAX_BODY_BYTES and json_depth(raw, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH)
    return service, body, refs


def msc_concepts(draw: st.DrawFn) -> JSON:
    return _msc_concept(draw)


def ahsct_concepts(draw: st.DrawFn) -> JSON:
    """Haematopoietic wording or code, with MSC wording or J3402 mixed in."""
    concept: JSON = {}
    if draw(st.booleans()):
        system, code = draw(st.sampled_from(HSCT_CODES))
        concept["coding"] = [{"system": system, "code": code}]
        hsct_text = draw(st.none() | wordings(HSCT_TEXTS))
    else:
        hsct_text = draw(wordings(HSCT_TEXTS))
    msc_text = draw(wordings(MSC_TEXTS))
    parts = draw(st.permutations([t for t in (hsct_text, msc_text) if t]))
    concept["text"] = draw(st.sampled_from([" with ", " + ", "; ", " and ", "/"])).join(parts)
    if draw(st.booleans()):
        coding = concept.setdefault("coding", [])
        coding.append({"system": HCPCS_SYSTEMS[0], "code": "J3402"})
    return concept
