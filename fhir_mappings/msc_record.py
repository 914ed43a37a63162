"""The patient's record -> what the MSC warning reads beyond the draft orders.

- Open MSC orders already in the record (MedicationRequest / MedicationOrder /
  ServiceRequest / ProcedureRequest), for EHRs that call patient-view only (Oracle
  Health). Open means draft, active, on-hold or unknown (or no status): each may still
  be given. A completed or stopped order was given, a cancelled / revoked one never
  will be, an entered-in-error one never existed: none of these can be prevented any
  more, so none is warned about. Classified exactly as draft orders are, so an AHSCT
  order in the history is never MSC.
- Active acute GVHD Conditions: a recognised MSC indication (remestemcel-L is approved
  for steroid-refractory acute GVHD) that stands in for an order stating no reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from fhir_mappings.config import MappingConfig
from fhir_mappings.facts import DraftOrder, OrderKind
from fhir_mappings.medications import DmtMemo
from fhir_mappings.orders import ORDER_TYPES, KindMemo, may_name_cell_product, order_fact
from fhir_mappings.reader import Concept, Resource
from fhir_mappings.valuesets import load

__all__ = ["OPEN_STATUSES", "gvhd_conditions", "msc_orders_in_record"]

OPEN_STATUSES = frozenset({"draft", "active", "on-hold", "unknown", None})
_INACTIVE_CLINICAL = {"inactive", "resolved", "remission"}
_EXCLUDED_VERIFICATION = {"refuted", "entered-in-error"}


def msc_orders_in_record(
    resources: Iterable[Resource], config: MappingConfig, dmts: DmtMemo | None = None
) -> list[DraftOrder]:
    """The open MSC orders among these record resources (other types are skipped).
    `dmts`: the DMT matches already worked out in this read (medications.read_medications)."""
    found = []
    seen = KindMemo(dmts={} if dmts is None else dmts)  # this read only
    for resource in resources:
        if resource.type not in ORDER_TYPES or resource.code("status") not in OPEN_STATUSES:
            continue
        if not may_name_cell_product(resource):  # most orders: no cell product at all
            continue
        order = order_fact(resource, config, [], {}, seen)
        if order.kind is OrderKind.MSC:
            found.append(order)
    return found


def gvhd_conditions(conditions: Iterable[Resource]) -> list[str]:
    """'Condition/id' of each current acute GVHD Condition (chronic GVHD is no
    recognised MSC indication: the value set leaves it out)."""
    valueset = load("gvhd_and_non_ms_reasons")
    refs = []
    seen: dict[Concept, bool] = {}  # this read only
    for condition in conditions:
        # The code first: most Conditions name no GVHD, and their statuses need no read.
        concept = condition.concept("code")
        gvhd = seen.get(concept)
        if gvhd is None:
            hit = valueset.match_concept(concept)
            gvhd = seen[concept] = hit is not None and hit.attributes.get("indication") == "gvhd"
        if not gvhd:
            continue
        if condition.status("clinicalStatus") in _INACTIVE_CLINICAL:
            continue
        if condition.status("verificationStatus") in _EXCLUDED_VERIFICATION:
            continue
        refs.append(condition.ref)
    return refs
