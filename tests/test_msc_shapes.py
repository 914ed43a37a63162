"""Issue 14: MSC orders in the wording, precedence and places real EHRs send them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cards.render import EXPLANATION_KEY
from fhir_mappings.valuesets import load
from tests.builders import SNOMED, condition, med_request, ms_condition, service_request
from tests.builders import hook_request as build

HOOKS = ["order-select", "order-sign"]


def msc_cards(client: TestClient, hook: str, draft: dict[str, Any]) -> list[dict[str, Any]]:
    body = build(hook, drafts=[draft], conditions=[ms_condition()])
    response = client.post(f"/cds-services/ms-{hook}", json=body)
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return [c for c in cards if c["source"]["topic"]["code"] == "mscWarning"]


def facts_of(card: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = card["extension"][EXPLANATION_KEY]["facts"]
    return facts


MSC_WORDING = [
    # other languages (msc.md section 2), accented and not
    "Células madre mesenquimales IV",
    "celulas madres mesenquimales",
    "células estromales mesenquimales alogénicas",
    "células troncales mesenquimales",
    "Cellules souches mésenchymateuses autologues",
    "cellules stromales mesenchymateuses",
    "Mesenchymale Stammzellen i.v.",
    "mesenchymale Stromazellen",
    "cellule staminali mesenchimali",
    "cellule mesenchimali staminali",
    "cellule stromali mesenchimali",
    "células-tronco mesenquimais",
    "células estaminais mesenquimais",
    "células estaminais mesenquimatosas",
    # abbreviations glued to a prefix or hyphenated (msc.md 3.1)
    "adMSC infusion",
    "HB-adMSCs",
    "AD-MSC injection",
    "AT-MSC",
    "ADSC therapy",
    "hADSC",
    "BM-MSC intrathecal",
    "BMSC",
    "hUC-MSC 1x10^6/kg",
    "UC-MSC",
    "UCMSC infusion",
    "hUCB-MSC",
    "WJ-MSC",
    "WJMSCs",
    "hMSC",
    "hfMSCs",
    "Msc infusion",
    # product names (msc.md section 1)
    "Ryoncil (remestemcel-L-rknd)",
    "Prochymal",
    "TEMCELL HS Inj.",
    "darvadstrocel",
    "Alofisel suspension",
    "rexlemestrocel-L",
    "Revascor",
    "lomecel-B",
    "MSC-NP intrathecal",
    "Cartistem",
    "NeuroNata-R",
    # stromal vascular fraction and Wharton's jelly
    "Autologous SVF injection",
    "stromal vascular fraction",
    "fracción vascular estromal",
    "frazione vascolo-stromale",
    "stromal-vaskuläre Fraktion",
    "Wharton's jelly stem cells",
    "Whartons jelly",
    "gelatina de Wharton",
    "Wharton-Sulze",
    # MSC sources beside haematopoietic-looking words (issue 14: "HSCT wins" too wide)
    "Cord blood-derived MSC infusion",
    "cord blood derived mesenchymal stromal cells",
    "Umbilical cord MSC",
    "MSC-derived neural progenitor cells (intrathecal)",
]


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("text", MSC_WORDING)
def test_msc_wording_in_every_language_and_form_is_warned(
    client: TestClient, hook: str, text: str
) -> None:
    """Each verified MSC term, abbreviation or product name gets one mscWarning card."""
    cards = msc_cards(client, hook, med_request("mr-w", text=text))
    assert len(cards) == 1
    assert "orderProduct" not in facts_of(cards[0])


MSC_DERIVED = [
    "MSC-derived exosomes",
    "MSC exosomes IV",
    "MSC-Exos",
    "mesenchymal stem cell-derived extracellular vesicles",
    "MSC secretome nasal spray",
    "MSC-conditioned medium",
    "Exosomes derived from umbilical cord mesenchymal stem cells",
]


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("text", MSC_DERIVED)
def test_msc_derived_products_are_warned_and_named(
    client: TestClient, hook: str, text: str
) -> None:
    """Exosomes, vesicles, secretome and conditioned medium warn, marked 'msc-derived'."""
    cards = msc_cards(client, hook, med_request("mr-d", text=text))
    assert len(cards) == 1
    assert facts_of(cards[0])["orderProduct"] == "msc-derived"


NOT_MSC = [
    "MSCC radiotherapy",  # metastatic spinal cord compression (NICE NG234)
    "Review by Jane Doe, MSc",
    "MS clinic follow-up",
    "downloadMSCstations",
    "ADC map MRI brain",
    "MSC (Member State Concerned): DE",
    "Baclofen 10 mg",
    "svfoo",
]


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("text", NOT_MSC)
def test_lookalikes_of_msc_terms_are_not_warned(client: TestClient, hook: str, text: str) -> None:
    """MSCC, the MSc degree, MS clinic and MSC inside other words are no MSC order."""
    assert msc_cards(client, hook, med_request("mr-n", text=text)) == []


HAEMATOPOIETIC = [
    "Autologous haematopoietic stem cell transplantation",
    "Trasplante autólogo de células madre hematopoyéticas",
    "Autogreffe de cellules souches hématopoïétiques",
    "Autologe hämatopoetische Stammzelltransplantation",
    "Trapianto autologo di cellule staminali emopoietiche",
    "trapianto di cellule staminali ematopoietiche",
    "Transplante de células estaminais hematopoiéticas",
    "Transplante de Células-Tronco Hematopoéticas",
    "CD34+ selected autologous graft",
    "PBSC collection",
    "Stem cell mobilisation with G-CSF",
    "Plerixafor",
    "BEAM/ATG conditioning",
    "Cy/ATG conditioning regimen",
    "Cord blood unit",
]
NEIGHBOURS = ["MSCC", "MS clinic", "MSc", "MS", "downloadMSCstations", "ADC", "svfoo"]


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("text", HAEMATOPOIETIC)
def test_haematopoietic_grafts_beside_msc_terms_stay_hsct(
    client: TestClient, hook: str, text: str
) -> None:
    """A clear haematopoietic graft is never MSC, even with an MSC term beside it."""
    assert msc_cards(client, hook, med_request("mr-h", text=f"{text} + UC-MSC co-infusion")) == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=st.lists(
        st.sampled_from(HAEMATOPOIETIC) | st.sampled_from(NEIGHBOURS), min_size=1, max_size=4
    ).filter(lambda ws: any(w in HAEMATOPOIETIC for w in ws)),
    joiner=st.sampled_from([" ", "; ", " + ", "/", "\n"]),
    hook=st.sampled_from(HOOKS),
    shape=st.sampled_from(["medication", "service", "note"]),
)
def test_no_haematopoietic_wording_is_ever_flagged_msc(
    client: TestClient, words: list[str], joiner: str, hook: str, shape: str
) -> None:
    """Haematopoietic wording, with or without MSC-looking non-MSC neighbours, is never MSC."""
    text = joiner.join(words)
    if shape == "medication":
        draft = med_request("mr-p", text=text)
    elif shape == "service":
        draft = service_request("sr-p", text=text)
    else:
        draft = med_request("mr-p", text="Miscellaneous medication", note=[{"text": text}])
    assert msc_cards(client, hook, draft) == []


LAB_CATEGORY = {"coding": [{"system": SNOMED, "code": "108252007"}]}
IMAGING_CATEGORY = {"coding": [{"system": SNOMED, "code": "363679005"}]}
WORK_UPS = {
    "laboratory category code": service_request(
        "sr-l", text="Mesenchymal marker panel", category=[LAB_CATEGORY]
    ),
    "imaging category code": service_request(
        "sr-i", text="MRI of mesenchymal lesion, thigh", category=[IMAGING_CATEGORY]
    ),
    "pathology category text": service_request(
        "sr-p", text="Mesenchymal cells, review", category=[{"text": "Surgical pathology"}]
    ),
    "mesenchymal tumour biopsy": service_request("sr-t", text="Biopsy of mesenchymal tumour"),
    "mesenchymal neoplasm": service_request("sr-n", text="Mesenchymal neoplasm excision"),
    "chondrosarcoma pathology": service_request(
        "sr-c", text="Chondrosarcoma pathology review, mesenchymal subtype"
    ),
}


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("draft", WORK_UPS.values(), ids=WORK_UPS.keys())
def test_tumour_and_diagnostic_work_ups_are_not_warned(
    client: TestClient, hook: str, draft: dict[str, Any]
) -> None:
    """Mesenchymal wording in a lab, pathology or imaging order or a tumour work-up is silent."""
    assert msc_cards(client, hook, draft) == []


@pytest.mark.parametrize("hook", HOOKS)
def test_a_treatment_category_does_not_silence_an_msc_order(client: TestClient, hook: str) -> None:
    """The same wording in a non-diagnostic order (no category, or a procedure) still warns."""
    draft = service_request(
        "sr-x", text="Mesenchymal stem cell infusion", category=[{"text": "Procedure"}]
    )
    assert len(msc_cards(client, hook, draft)) == 1


WHERE_NAMED = {
    "MedicationRequest note": med_request(
        "mr-note", text="Miscellaneous medication", note=[{"text": "UC-MSC 1x10^6/kg IV"}]
    ),
    "dosageInstruction.text": med_request(
        "mr-dose",
        text="Non-formulary medication",
        dosageInstruction=[{"text": "Infuse Wharton's jelly MSCs over 30 min"}],
    ),
    "dosageInstruction.patientInstruction": med_request(
        "mr-pi",
        text="Miscellaneous",
        dosageInstruction=[{"patientInstruction": "Células madre mesenquimales, 1 infusión"}],
    ),
    "ServiceRequest orderDetail": service_request(
        "sr-od", text="Cell therapy infusion", orderDetail=[{"text": "Product: lomecel-B"}]
    ),
    "ServiceRequest note": service_request(
        "sr-note", text="Infusion visit", note=[{"text": "Bring SVF product from lab"}]
    ),
    "ServiceRequest patientInstruction": service_request(
        "sr-spi", text="Infusion visit", patientInstruction="Adipose-derived stem cells IV"
    ),
    "HCPCS J3590 with product text": med_request(
        "mr-j3590", code="J3590", text="Unclassified biologics: remestemcel-L"
    ),
    "HCPCS C9399 with product in note": med_request(
        "mr-c9399", code="C9399", note=[{"text": "darvadstrocel"}]
    ),
    "CPT 0566T with product text": service_request(
        "sr-0566t",
        code="0566T",
        system="http://www.ama-assn.org/go/cpt",
        text="Injection of cellular implant (AD-MSC), knee",
    ),
}


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("draft", WHERE_NAMED.values(), ids=WHERE_NAMED.keys())
def test_product_named_only_in_instructions_or_details_is_warned(
    client: TestClient, hook: str, draft: dict[str, Any]
) -> None:
    """An MSC product named in note, dosage text, patientInstruction or orderDetail warns."""
    assert len(msc_cards(client, hook, draft)) == 1


@pytest.mark.parametrize("hook", HOOKS)
def test_instructions_do_not_turn_a_named_order_into_msc(client: TestClient, hook: str) -> None:
    """A DMT order whose note mentions past MSC treatment is judged as the DMT, not as MSC."""
    draft = med_request(
        "mr-dmt", text="Ocrelizumab 600 mg IV", note=[{"text": "Had MSC abroad in 2019"}]
    )
    assert msc_cards(client, hook, draft) == []


@pytest.mark.parametrize("hook", HOOKS)
def test_haematopoietic_wording_in_a_note_wins_over_msc_in_it(
    client: TestClient, hook: str
) -> None:
    """A miscellaneous order whose note is a haematopoietic graft plus MSC is not MSC."""
    draft = med_request(
        "mr-hn", text="Miscellaneous", note=[{"text": "PBSC reinfusion; MSC co-infusion"}]
    )
    assert msc_cards(client, hook, draft) == []


def test_every_msc_pattern_names_a_listed_source() -> None:
    """Each msc_orders pattern and code cites a source key listed in the value-set file."""
    import json
    from importlib import resources

    raw = json.loads(
        resources.files("fhir_mappings.valuesets").joinpath("msc_orders.json").read_text("utf-8")
    )
    keys = set(raw["sources"])
    for entry in raw["text_patterns"] + raw["codes"]:
        cited = {part.split(" ")[0] for part in entry["source"].split("; ")}
        assert cited & keys, entry


def test_value_set_api_folds_accents_and_matches_whole_tokens() -> None:
    """valuesets.load('msc_orders') reads accented text and never matches inside words."""
    valueset = load("msc_orders")
    assert valueset.match_text("CÉLULAS MADRE MESENQUIMALES") is not None
    assert valueset.match_text("celulas madre mesenquimales") is not None
    assert valueset.match_text("MSCC") is None
    assert valueset.match_text("iscsiadmScsiServer") is None
    found = valueset.match_text("MSC-derived exosomes")
    assert found is not None and found.attributes.get("product") == "msc-derived"
    hsct = load("hsct")
    assert hsct.match_text("células madre hematopoyéticas") is not None
    assert hsct.match_text("cord blood-derived MSC") is None
    assert hsct.match_text("cord blood unit") is not None


ICD = "http://hl7.org/fhir/sid/icd-10-cm"
RECOGNISED = {
    "acute GVHD D89.810": {"reasonCode": [{"coding": [{"system": ICD, "code": "D89.810"}]}]},
    "GVHD SNOMED 234646005": {
        "reasonCode": [{"coding": [{"system": SNOMED, "code": "234646005"}]}]
    },
    "aGVHD text": {"reasonCode": [{"text": "Steroid-refractory aGVHD"}]},
    "Crohn's fistula K50.913": {"reasonCode": [{"coding": [{"system": ICD, "code": "K50.913"}]}]},
    "perianal fistula in Crohn's text": {
        "reasonCode": [{"text": "Complex perianal fistula, Crohn's disease"}]
    },
    "NCT in reasonCode": {"reasonCode": [{"text": "Per protocol NCT03355365"}]},
    "NCT in note": {"note": [{"text": "Study drug, NCT03822858 expanded access"}]},
    "EudraCT in note": {"note": [{"text": "EudraCT 2011-001295-19"}]},
    "ISRCTN in supportingInformation": {
        "supportingInformation": [{"display": "Trial ISRCTN12345678 consent"}]
    },
    "workflow-researchStudy extension": {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/workflow-researchStudy",
                "valueReference": {"reference": "ResearchStudy/mesems"},
            }
        ]
    },
}


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("extra", RECOGNISED.values(), ids=RECOGNISED.keys())
def test_recognised_indication_or_registered_trial_silences(
    client: TestClient, hook: str, extra: dict[str, Any]
) -> None:
    """Acute GVHD, perianal Crohn's fistula or a registered-trial tie: no mscWarning."""
    assert msc_cards(client, hook, med_request("mr-ok", text="UC-MSC infusion", **extra)) == []


OTHER_REASONS = {
    "gait disorder R26.89": {"coding": [{"system": ICD, "code": "R26.89"}]},
    "demyelinating disease NOS G37.9": {"coding": [{"system": ICD, "code": "G37.9"}]},
    "fatigue": {"text": "Fatigue"},
    "spasticity": {"text": "Spasticity of lower limbs"},
    "chronic GVHD D89.811": {"coding": [{"system": ICD, "code": "D89.811"}]},
    "chronic GVHD text": {"text": "Chronic graft-versus-host disease"},
    "trial word without a registry id": {"text": "Clinical trial"},
}


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("reason", OTHER_REASONS.values(), ids=OTHER_REASONS.keys())
def test_other_stated_reasons_do_not_silence(
    client: TestClient, hook: str, reason: dict[str, Any]
) -> None:
    """An MS symptom or another non-MS reason still warns a patient with MS, and says so."""
    draft = med_request("mr-why", text="UC-MSC infusion", reasonCode=[reason])
    cards = msc_cards(client, hook, draft)
    assert len(cards) == 1
    assert facts_of(cards[0])["statedReason"] == "not MS and not a recognised MSC indication"


def test_other_reason_without_ms_stays_silent(client: TestClient) -> None:
    """A non-MS reason for a patient without MS is not this service's warning."""
    draft = med_request(
        "mr-nm", text="UC-MSC infusion", reasonCode=[{"text": "Knee osteoarthritis"}]
    )
    body = build("order-sign", drafts=[draft], conditions=[])
    response = client.post("/cds-services/ms-order-sign", json=body)
    assert response.status_code == 200
    assert not [c for c in response.json()["cards"] if c["source"]["topic"]["code"] == "mscWarning"]


@pytest.mark.parametrize("hook", HOOKS)
def test_not_an_msc_product_is_an_override_reason(client: TestClient, hook: str) -> None:
    """The MSC card offers the override reason 'Not an MSC product'."""
    card = msc_cards(client, hook, med_request("mr-o", text="MSC infusion"))[0]
    assert {"code": "notMscProduct", "display": "Not an MSC product"}.items() <= next(
        r for r in card["overrideReasons"] if r["code"] == "notMscProduct"
    ).items()


# --- medicationReference the request lacks: judged by its display -----------------------

EPIC_DISPLAY = "MESENCHYMAL STEM CELL (ALLOGENEIC, UMBILICAL CORD) IV INFUSION"


@pytest.mark.parametrize("hook", HOOKS)
def test_medication_reference_display_judges_when_no_server(client: TestClient, hook: str) -> None:
    """Epic's usual order, Medication not sent and no fhirServer: warned by its display,
    and the explanation says the order was judged by the display and why."""
    draft = med_request(
        "mr-ref", medicationReference={"reference": "Medication/eMSC1", "display": EPIC_DISPLAY}
    )
    cards = msc_cards(client, hook, draft)
    assert len(cards) == 1
    facts = facts_of(cards[0])
    assert facts["orderJudgedBy"].startswith("medicationReference.display")
    assert facts["medicationUnavailable"] == "not in the request; no fhirServer to read it from"


@pytest.mark.parametrize("hook", HOOKS)
def test_display_of_a_medication_in_the_request_is_not_what_judges(
    client: TestClient, hook: str
) -> None:
    """A contained Medication that names nothing MSC wins over an MSC-looking display."""
    draft = med_request(
        "mr-c",
        medicationReference={"reference": "#m", "display": EPIC_DISPLAY},
        contained=[{"resourceType": "Medication", "id": "m", "code": {"text": "Baclofen"}}],
    )
    assert msc_cards(client, hook, draft) == []


@pytest.mark.parametrize("hook", HOOKS)
def test_display_only_reference_is_judged_and_says_it_names_nothing(
    client: TestClient, hook: str
) -> None:
    """A medicationReference with only a display (no reference) is judged by it."""
    draft = med_request("mr-d", medicationReference={"display": "Wharton's jelly MSC"})
    cards = msc_cards(client, hook, draft)
    assert [facts_of(c)["medicationUnavailable"] for c in cards] == [
        "the reference names no resource"
    ]


@pytest.mark.parametrize("hook", HOOKS)
def test_haematopoietic_display_is_never_msc(client: TestClient, hook: str) -> None:
    """An AHSCT product known only by its display stays HSCT."""
    draft = med_request(
        "mr-h",
        medicationReference={
            "reference": "Medication/x",
            "display": "Autologous haematopoietic stem cell transplantation + UC-MSC",
        },
    )
    assert msc_cards(client, hook, draft) == []


# --- DSTU2 MedicationOrder --------------------------------------------------------------


def medication_order(oid: str, text: str, **extra: Any) -> dict[str, Any]:
    """A DSTU2 MedicationOrder draft as the public sandbox builds one."""
    return {
        "resourceType": "MedicationOrder",
        "id": oid,
        "status": "draft",
        "patient": {"reference": "Patient/pat-1"},
        "dateWritten": "2026-01-01",
        "medicationCodeableConcept": {"text": text},
        **extra,
    }


@pytest.mark.parametrize("hook", HOOKS)
def test_dstu2_medication_order_is_read_like_a_medication_request(
    client: TestClient, hook: str
) -> None:
    """A DSTU2 MedicationOrder naming an MSC product warns, with a delete of that order."""
    cards = msc_cards(client, hook, medication_order("mo-1", "Mesenchymal stem cell infusion"))
    assert len(cards) == 1
    delete = cards[0]["suggestions"][0]["actions"][0]
    assert delete == {**delete, "type": "delete", "resourceId": "MedicationOrder/mo-1"}


@pytest.mark.parametrize("hook", HOOKS)
def test_dstu2_medication_order_reason_and_note_are_read(client: TestClient, hook: str) -> None:
    """DSTU2's single reasonCodeableConcept (acute GVHD) silences; a string note names it."""
    gvhd = {"coding": [{"system": SNOMED, "code": "402355000"}]}
    order = medication_order("mo-2", "UC-MSC", reasonCodeableConcept=gvhd)
    assert msc_cards(client, hook, order) == []
    noted = medication_order("mo-3", "Miscellaneous medication", note="Wharton's jelly MSC IV")
    assert len(msc_cards(client, hook, noted)) == 1


@pytest.mark.parametrize("hook", HOOKS)
def test_dstu2_medication_order_ahsct_is_not_msc(client: TestClient, hook: str) -> None:
    """A DSTU2 order for haematopoietic cells is never flagged MSC."""
    order = medication_order("mo-4", "Autologous peripheral blood stem cells (CD34+)")
    assert msc_cards(client, hook, order) == []


def test_sandbox_r4_draft_with_a_lone_reason_code_is_read() -> None:
    """The sandbox's R4 draft sends reasonCode as one object: read (and noted)."""
    from fhir_mappings.build import PatientRecord, read_drafts
    from fhir_mappings.facts import OrderReason

    draft = med_request(
        "mr-s", text="MSC", reasonCode={"coding": [{"system": SNOMED, "code": "24700007"}]}
    )
    drafts = {"resourceType": "Bundle", "entry": [{"resource": draft}]}
    reading = read_drafts(PatientRecord("pat-1", {}, drafts))
    assert [o.reason for o in reading.orders] == [OrderReason.MS]
    assert [n.element for n in reading.notes] == ["reasonCode"]


# --- acute GVHD on the record, CIS history ------------------------------------------------


def gvhd_condition(clinical: str = "active") -> dict[str, Any]:
    return condition("gvhd-1", code="402355000", clinical=clinical)


def cards_with(client: TestClient, draft: dict[str, Any], *conditions: dict[str, Any]) -> list[Any]:
    body = build("order-sign", drafts=[draft], conditions=[ms_condition(), *conditions])
    response = client.post("/cds-services/ms-order-sign", json=body)
    assert response.status_code == 200, response.text
    return [c["source"]["topic"]["code"] for c in response.json()["cards"]]


def test_active_gvhd_on_the_record_is_the_reason_when_the_order_states_none(
    client: TestClient,
) -> None:
    """An MSC order stating no reason, acute GVHD active on the problem list: no warning."""
    assert "mscWarning" not in cards_with(
        client, med_request("m", text="Ryoncil"), gvhd_condition()
    )


def test_resolved_gvhd_or_a_stated_ms_reason_still_warns(client: TestClient) -> None:
    """A resolved GVHD does not count; nor does an active one when the order states MS."""
    order = med_request("m", text="UC-MSC")
    assert "mscWarning" in cards_with(client, order, gvhd_condition("resolved"))
    ms_reason = med_request("m", text="UC-MSC", reasonCode=[{"text": "Multiple sclerosis"}])
    assert "mscWarning" in cards_with(client, ms_reason, gvhd_condition())


def test_chronic_gvhd_on_the_record_does_not_silence(client: TestClient) -> None:
    """Chronic GVHD is no recognised MSC indication, on the record as on the order."""
    chronic = condition("cgvhd", code="D89.811", system=ICD)
    assert "mscWarning" in cards_with(client, med_request("m", text="UC-MSC"), chronic)


@pytest.mark.parametrize(
    "text",
    [
        "Relapsing remitting multiple sclerosis, initially CIS 2017",
        "Multiple sclerosis (converted from clinically isolated syndrome)",
        "CIS converted to relapsing-remitting multiple sclerosis",
    ],
)
def test_text_ms_diagnosis_naming_its_cis_history_is_ms(client: TestClient, text: str) -> None:
    """A text-only MS diagnosis that mentions its CIS history makes the patient one with MS."""
    body = build("order-sign", drafts=[med_request("m", text="UC-MSC")], conditions=[])
    body["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "entry": [{"resource": condition("dx", text=text)}],
    }
    response = client.post("/cds-services/ms-order-sign", json=body)
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == ["mscWarning"]


@pytest.mark.parametrize("text", ["Clinically isolated syndrome", "CIS, suspected MS"])
def test_current_cis_is_still_not_ms(client: TestClient, text: str) -> None:
    """A CIS stated as the current diagnosis is not MS: no warning for a reasonless order."""
    body = build("order-sign", drafts=[med_request("m", text="UC-MSC")], conditions=[])
    body["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "entry": [{"resource": condition("dx", text=text)}],
    }
    response = client.post("/cds-services/ms-order-sign", json=body)
    assert response.json()["cards"] == []


# --- "stem cell therapy" naming no product ---------------------------------------------------

UNSPECIFIED = [
    "Stem cell therapy",
    "Stem cell infusion IV",
    "Stem-cell injection, knee",
    "Terapia con células madre",
    "Injection de cellules souches",
    "Stammzelltherapie",
    "Infusione di cellule staminali",
    "Terapia com células-tronco",
]


def topics(client: TestClient, hook: str, *drafts: dict[str, Any], **extra: Any) -> list[str]:
    body = build(hook, drafts=list(drafts), conditions=[ms_condition()], **extra)
    response = client.post(f"/cds-services/ms-{hook}", json=body)
    assert response.status_code == 200, response.text
    return [c["source"]["topic"]["code"] for c in response.json()["cards"]]


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("text", UNSPECIFIED)
def test_stem_cells_naming_no_product_ask_which(client: TestClient, hook: str, text: str) -> None:
    """A stem cell order with no MSC or haematopoietic word: one warning asking which product."""
    body = build(hook, drafts=[med_request("sc", text=text)], conditions=[ms_condition()])
    response = client.post(f"/cds-services/ms-{hook}", json=body)
    cards = response.json()["cards"]
    assert [(c["source"]["topic"]["code"], c["indicator"]) for c in cards] == [
        ("stemCellClarify", "warning")
    ]
    assert "suggestions" not in cards[0]  # nothing to delete: the order may be legitimate


@pytest.mark.parametrize("hook", HOOKS)
def test_stem_cells_in_a_haematopoietic_context_stay_silent(client: TestClient, hook: str) -> None:
    """A prior AHSCT, or an HSCT order beside it, or a transplant: no card at all."""
    plain = med_request("sc", text="Stem cell infusion")
    prior = {
        "resourceType": "Procedure",
        "id": "p1",
        "status": "completed",
        "code": {"coding": [{"system": SNOMED, "code": "234336002"}]},
        "subject": {"reference": "Patient/pat-1"},
    }
    assert (
        topics(
            client,
            hook,
            plain,
            procedures={"resourceType": "Bundle", "entry": [{"resource": prior}]},
        )
        == []
    )
    mobilisation = med_request("g", text="G-CSF stem cell mobilisation")
    assert topics(client, hook, plain, mobilisation) == []
    assert topics(client, hook, med_request("t", text="Stem cell transplant")) == []


def test_stem_cells_without_ms_or_with_a_trial_stay_silent(client: TestClient) -> None:
    """No MS in the record, or a registered trial on the order: no clarify card."""
    body = build("order-sign", drafts=[med_request("sc", text="Stem cell therapy")], conditions=[])
    assert client.post("/cds-services/ms-order-sign", json=body).json()["cards"] == []
    trial = med_request("sc", text="Stem cell therapy", note=[{"text": "NCT03355365"}])
    assert topics(client, "order-sign", trial) == []


def test_a_note_mentioning_stem_cells_does_not_make_an_order_ambiguous(
    client: TestClient,
) -> None:
    """Only the order's own name counts: amoxicillin with a stem cell note gets no card."""
    order = med_request(
        "a", text="Amoxicillin 500 mg", note=[{"text": "asks about stem cell therapy"}]
    )
    assert topics(client, "order-sign", order) == []


# --- patient-view: MSC orders already in the record (Oracle Health: no order hooks) --------


def history_order(status: str, text: str = "UC-MSC infusion", kind: str = "med") -> dict[str, Any]:
    if kind == "service":
        return service_request("sr-h", text=text, status=status)
    return med_request("mr-h", text=text, status=status, intent="order")


def patient_view_msc(client: TestClient, *orders: dict[str, Any]) -> list[dict[str, Any]]:
    meds = [o for o in orders if o["resourceType"] == "MedicationRequest"]
    services = [o for o in orders if o["resourceType"] == "ServiceRequest"]
    body = build(
        "patient-view",
        conditions=[ms_condition()],
        medicationRequests={"resourceType": "Bundle", "entry": [{"resource": m} for m in meds]},
        serviceRequests={"resourceType": "Bundle", "entry": [{"resource": s} for s in services]},
    )
    response = client.post("/cds-services/ms-patient-view", json=body)
    assert response.status_code == 200, response.text
    return [c for c in response.json()["cards"] if c["source"]["topic"]["code"] == "mscWarning"]


@pytest.mark.parametrize("kind", ["med", "service"])
@pytest.mark.parametrize("status", ["active", "on-hold", "unknown"])
def test_open_msc_order_in_the_record_is_warned_at_patient_view_without_delete(
    client: TestClient, kind: str, status: str
) -> None:
    """An open MSC order in the history warns at patient-view; no delete for a non-draft."""
    cards = patient_view_msc(client, history_order(status, kind=kind))
    assert len(cards) == 1
    assert facts_of(cards[0])["orderInRecord"] == {"status": status}
    actions = [a for s in cards[0].get("suggestions", []) for a in s["actions"]]
    assert not [a for a in actions if a["type"] == "delete"]


def test_draft_msc_order_in_the_record_may_be_deleted(client: TestClient) -> None:
    """A draft MSC order in the record: warned, with the delete suggestion."""
    cards = patient_view_msc(client, history_order("draft"))
    assert [a["type"] for a in cards[0]["suggestions"][0]["actions"]] == ["delete"]


@pytest.mark.parametrize(
    "status", ["completed", "stopped", "cancelled", "revoked", "entered-in-error"]
)
def test_closed_msc_orders_in_the_record_are_not_warned(client: TestClient, status: str) -> None:
    """Given, stopped, cancelled or erroneous: nothing left to prevent, no warning."""
    assert patient_view_msc(client, history_order(status)) == []


def test_ahsct_order_in_the_record_is_never_msc(client: TestClient) -> None:
    """An active AHSCT order with MSC co-infusion wording in the history: no MSC warning."""
    order = history_order(
        "active", "Autologous haematopoietic stem cell transplantation + UC-MSC", kind="service"
    )
    assert patient_view_msc(client, order) == []


def test_history_msc_order_for_gvhd_is_not_warned(client: TestClient) -> None:
    """An active remestemcel-L order for acute GVHD in the record: no warning."""
    order = med_request(
        "mr-g",
        text="Ryoncil",
        status="active",
        reasonCode=[{"coding": [{"system": ICD, "code": "D89.810"}]}],
    )
    assert patient_view_msc(client, order) == []


@pytest.mark.parametrize(
    "extra",
    [
        {"dosageInstruction": [{"text": "UC-MSC 1x10^6/kg IV once"}]},
        {"note": [{"text": "Mesenchymal stem cell infusion, 2 x 10^6 cells/kg"}]},
        {
            "medicationReference": {"reference": "#m1"},
            "contained": [{"resourceType": "Medication", "id": "m1", "code": {"text": "hUC-MSC"}}],
        },
        {"medicationReference": {"reference": "Medication/m404", "display": "UC-MSC infusion"}},
    ],
    ids=["dosage-text", "note", "contained-medication", "reference-display"],
)
def test_msc_order_in_the_record_named_outside_its_code_is_warned(
    client: TestClient, extra: dict[str, Any]
) -> None:
    """An open order in the record whose MSC product is named only in its instructions,
    a contained Medication or its reference's display warns at patient-view."""
    order = med_request("mr-x", text="Cell therapy product", status="active", **extra)
    assert len(patient_view_msc(client, order)) == 1
