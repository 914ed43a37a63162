"""Issue 14: MSC orders in the wording, precedence and places real EHRs send them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cards.render import EXPLANATION_KEY
from fhir_mappings.valuesets import load
from tests.builders import SNOMED, med_request, ms_condition, service_request
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
