"""dmtEscalation and ppmsOcrelizumab at each hook, and the MSC warning's alternatives."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest

from cards.render import EXPLANATION_KEY
from tests.builders import ICD10CM, condition, med_request, service_request
from tests.records import RXNORM, cards_of, edss, gd, procedure, relapse, rx, topics

RRMS = condition("ms-1", "426373005", onsetDateTime="2019-03-01")
PPMS = condition("ms-1", "G35.B0", system=ICD10CM, onsetDateTime="2019-03-01")
ACTIVE = [RRMS, relapse("r1", "2026-05-01"), edss("e1", 2.0), gd("g1", 0)]
OPTIONS = {"1876366", "712566", "354770", "117055", "44157"}
ALEMTUZUMAB, CLADRIBINE = "117055", "44157"


def _codes(card: Any) -> set[str]:
    # the RxNorm ingredient coding comes last (after a site's and a clinical drug's codes)
    return {
        a.resource["medicationCodeableConcept"]["coding"][-1]["code"]
        for s in card.suggestions
        for a in s.actions
        if a.type == "create"
    }


def test_escalation_card_for_active_rrms_on_platform_dmt() -> None:
    """Active RRMS on one platform DMT: four proposals; alemtuzumab left out (label: two drugs)."""
    cards = cards_of("patient-view", *ACTIVE, rx("gla", "Copaxone 40 mg", start="2022-01-01"))
    assert topics(cards) == ["dmtEscalation"]
    (card,) = cards
    assert card.indicator == "info" and card.selectionBehavior == "any"
    assert _codes(card) == OPTIONS - {ALEMTUZUMAB}
    left_out = "- alemtuzumab not proposed: inadequate response recorded to 1 MS drug,"
    assert left_out in (card.detail or "")
    for suggestion in card.suggestions or []:
        for action in suggestion.actions or []:
            MedicationRequest.model_validate(action.resource)
            assert action.resource and action.resource["intent"] == "proposal"
            assert action.resource["status"] == "draft"
    assert "- relapse (2026-05-01)" in (card.detail or "")
    assert "- current DMT: glatiramer acetate" in (card.detail or "")
    explained = card.extension and card.extension[EXPLANATION_KEY]
    assert explained and {"Condition/r1", "MedicationRequest/gla"} <= set(explained["resources"])


def test_escalation_card_on_no_dmt_and_with_unspecified_course() -> None:
    """Active MS (course unspecified, G35) on no DMT gets the escalation card."""
    dx = condition("ms-1", "G35", system=ICD10CM, onsetDateTime="2019-03-01")
    cards = cards_of("patient-view", dx, relapse("r1", "2026-05-01"), gd("g1", 0))
    assert "dmtEscalation" in topics(cards)


def test_no_escalation_when_on_he_dmt_inactive_or_ppms() -> None:
    """On a high-efficacy DMT, without activity, or with PPMS: no escalation card."""
    on_he = cards_of("patient-view", *ACTIVE, rx("nat", "Tysabri", start="2026-04-01"))
    quiet = cards_of("patient-view", RRMS, edss("e1", 2.0), gd("g1", 0))
    ppms = cards_of("patient-view", PPMS, relapse("r1", "2026-05-01"), gd("g1", 0))
    assert "dmtEscalation" not in topics(on_he) + topics(quiet) + topics(ppms)


def test_no_escalation_when_medications_could_not_be_retrieved() -> None:
    """Without any medication data the current DMT is unknown: no escalation card."""
    cards = cards_of(
        "patient-view", *ACTIVE, missing=("medicationRequests", "medicationStatements")
    )
    assert "dmtEscalation" not in topics(cards)


def test_escalation_at_order_hook_for_platform_order() -> None:
    """Ordering a platform DMT for active RRMS: a warning that replaces the draft order."""
    draft = med_request("d1", "teriflunomide 14 MG Oral Tablet")
    for hook in ("order-select", "order-sign"):
        cards = cards_of(hook, *ACTIVE, drafts=[draft])
        assert topics(cards) == ["dmtEscalation"]
        (card,) = cards
        assert card.indicator == "warning"
        assert card.summary.startswith("A platform DMT is being ordered")
        *creates, remove = card.suggestions or []
        assert [[a.type for a in s.actions or []] for s in creates] == [
            ["create"]
        ] * 3  # untreated: alemtuzumab, cladribine gated
        assert [(a.type, a.resourceId) for a in remove.actions or []] == [
            ("delete", "MedicationRequest/d1")
        ]
        assert card.selectionBehavior == "any"


def test_no_order_hook_escalation_for_he_order_or_quiet_disease() -> None:
    """Ordering a HE DMT, or a platform DMT without activity, shows no escalation card
    (the order-time check may still ask for HBV screening)."""
    he = cards_of("order-sign", *ACTIVE, drafts=[med_request("d1", "Ocrevus")])
    quiet = cards_of("order-sign", RRMS, gd("g1", 0), drafts=[med_request("d1", "Aubagio")])
    assert topics(he) == ["dmtOrderCheck"] and quiet == []


def test_ppms_card_at_patient_view() -> None:
    """PPMS not on ocrelizumab: an info card proposing ocrelizumab (RxNorm 1876366)."""
    cards = cards_of("patient-view", PPMS, rx("gla", "Copaxone", start="2020-01-01"))
    assert topics(cards) == ["ppmsOcrelizumab"]
    (card,) = cards
    assert card.indicator == "info"
    assert _codes(card) == {"1876366"}
    assert "only FDA-approved" in card.summary
    assert "hazard ratio 0.76, 95% CI 0.59-0.98" in (card.detail or "")
    assert "not in this record: EDSS in the last 12 months" in (card.detail or "")


def test_no_ppms_card_when_on_ocrelizumab() -> None:
    """PPMS on ocrelizumab (Ocrevus Zunovo): no card."""
    cards = cards_of("patient-view", PPMS, rx("ocr", "Ocrevus Zunovo", start="2024-01-01"))
    assert cards == []


def test_ppms_warning_when_other_dmt_ordered() -> None:
    """Ordering a DMT other than ocrelizumab for PPMS: a warning to replace it with ocrelizumab."""
    cards = cards_of("order-sign", PPMS, drafts=[med_request("d1", "rituximab 500 mg IV")])
    assert topics(cards) == ["dmtOrderCheck", "ppmsOcrelizumab"]  # the check: no HBV result
    card = cards[1]
    assert card.indicator == "warning"
    assert _codes(card) == {"1876366"}
    ocrelizumab = cards_of("order-sign", PPMS, drafts=[med_request("d1", "ocrelizumab 300 mg")])
    assert topics(ocrelizumab) == ["dmtOrderCheck"]


def test_ppms_order_with_a_non_ms_reason_is_left_alone() -> None:
    """Rituximab ordered for lymphoma in a PPMS patient is not this service's business."""
    draft = med_request("d1", "rituximab", reasonCode=[{"text": "Follicular lymphoma"}])
    assert cards_of("order-sign", PPMS, drafts=[draft]) == []


def test_patient_view_topics_are_one_per_response_and_ordered() -> None:
    """A HE DMT stopped for inefficacy, now on a platform DMT: AHSCT then escalation, once each."""
    resources = [
        *ACTIVE,
        gd("g2", 2),
        rx(
            "nat",
            "natalizumab",
            status="stopped",
            start="2020-01-01",
            statusReason={"text": "lack of efficacy"},
        ),
        rx("dmf", "Tecfidera", start="2025-01-01"),
        rx("dmf-2", "dimethyl fumarate 240 MG", start="2025-06-01"),
    ]
    assert topics(cards_of("patient-view", *resources)) == ["ahsctReferral", "dmtEscalation"]


def test_msc_warning_offers_ahsct_referral_when_criteria_met() -> None:
    """An MSC order for a patient meeting AHSCT criteria: the warning adds the referral."""
    resources = [*ACTIVE, gd("g2", 2), rx("ocr", "ocrelizumab", start="2024-01-01")]
    cards = cards_of("order-select", *resources, drafts=[med_request("msc", "MSC infusion")])
    assert topics(cards) == ["mscWarning"]
    labels = [s.label for s in cards[0].suggestions or []]
    assert labels[1].startswith("Alternative: refer for AHSCT evaluation")
    explained = cards[0].extension and cards[0].extension[EXPLANATION_KEY]
    assert explained and explained["facts"]["alternatives"] == ["AHSCT criteria met"]


def test_msc_warning_offers_escalation_options() -> None:
    """An MSC order for active, untreated RRMS: the options the gates allow (no alemtuzumab or
    cladribine before another drug, per their labels)."""
    cards = cards_of("order-sign", *ACTIVE, drafts=[med_request("msc", "Mesenchymal stem cells")])
    assert topics(cards) == ["mscWarning"]
    assert _codes_after_first(cards[0]) == OPTIONS - {ALEMTUZUMAB, CLADRIBINE}


def _codes_after_first(card: Any) -> set[str]:
    return {
        a.resource["medicationCodeableConcept"]["coding"][-1]["code"]
        for s in (card.suggestions or [])[1:]
        for a in s.actions
        if a.resource and a.resource["resourceType"] == "MedicationRequest"
    }


def test_hsct_order_is_never_warned() -> None:
    """An AHSCT ServiceRequest for a patient meeting criteria gets no card at all."""
    resources = [*ACTIVE, gd("g2", 2), rx("ocr", "ocrelizumab", start="2024-01-01")]
    draft = service_request("hsct", "Autologous hematopoietic stem cell transplant", "234336002")
    assert (
        cards_of("order-sign", *resources, procedure("p", "Lumbar puncture"), drafts=[draft]) == []
    )


def test_rxnorm_system_of_proposals() -> None:
    """Proposals use the RxNorm system URI."""
    (card,) = cards_of("patient-view", PPMS)
    (suggestion,) = card.suggestions or []
    resource = (suggestion.actions or [])[0].resource or {}
    assert resource["medicationCodeableConcept"]["coding"][0]["system"] == RXNORM
