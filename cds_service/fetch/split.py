"""A refused code search searched again in parts: the code list split in quarters, and a
part the server refuses (HTTP 4xx) split again, until single codes.

Why parts and not one search per code: a server that limits a list of codes to N
accepts the quarters (or their quarters) at once, and one code a server refuses is
isolated in about 4 x log4(n) searches (one round trip per level, log4(n) levels: 3 for
36 codes), where one search per code costs n calls. Quarters, not halves: the same
number of calls as halving (4 log4 n = 2 log2 n) in half the round trips.

The first round also searches the first code alone: when every quarter and that code
are refused, the server refuses the search itself (or every code), and nothing more is
asked (6 searches in all); when only the lone code is accepted, the server takes short
lists only, and the parts are split down to the length it takes.

`MAX_CALLS` bounds the searches per key at 64: more than the whole tree of quarters down
to single codes for the ~40 codes searched today (4 + 13 + 37 = 54 for 37 codes), so a
server that takes one code per search still gets every code, while a list grown past
that (many local MRI codes) cannot make a key cost more than 64 calls; the codes not
searched are counted in the gap. Only a refusal (4xx other than 401/403/429) is split:
a timeout, a 5xx or an auth failure of a part is not about its codes, so the part is
reported failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cds_service.fetch.client import Fetched, FhirServer, fetch_all

__all__ = ["MAX_CALLS", "PARTS", "search_in_parts"]

PARTS = 4
MAX_CALLS = 64
BUDGET_SPENT = f"not searched: more than {MAX_CALLS} searches in parts"


def split(codes: Sequence[str], parts: int = PARTS) -> list[list[str]]:
    """`codes` in up to `parts` contiguous parts of near-equal size, none empty."""
    size, extra = divmod(len(codes), parts)
    out: list[list[str]] = []
    start = 0
    for i in range(min(parts, len(codes))):
        end = start + size + (1 if i < extra else 0)
        out.append(list(codes[start:end]))
        start = end
    return out


async def search_in_parts(
    server: FhirServer,
    key: str,
    codes: Sequence[str],
    path_for: Callable[[Sequence[str]], str],
    refused: Callable[[str], bool],
    first_gap: str,
    deadline: float,
) -> tuple[Fetched, int]:
    """(the parts' answers merged into one searchset Bundle, with a gap when some codes
    could not be searched; the number of searches made). `path_for` renders the search
    for a list of codes; `refused(gap)` says whether a failed part is split again."""
    pending = split(codes) if len(codes) > 1 else [list(codes)]
    probe = [list(codes[:1])] if len(codes) > PARTS else []
    answered: list[dict[str, Any]] = []
    failed: list[tuple[list[str], str]] = []  # (the part's codes, why)
    found: set[str] = set()  # codes searched alone and answered (the first code)
    calls = 0
    while pending:
        batch, over = pending[: MAX_CALLS - calls], pending[MAX_CALLS - calls :]
        failed += [(part, BUDGET_SPENT) for part in over]
        if not batch:
            break
        asked = batch + probe
        labels = {f"{key} part {calls + i + 1}": part for i, part in enumerate(asked)}
        results = await fetch_all(
            server, {label: path_for(part) for label, part in labels.items()}, deadline
        )
        calls += len(asked)
        answers = [results[label] for label in labels]
        if probe:
            lone = answers.pop()
            probe = []
            if lone.value is not None:
                answered.append(lone.value)
                found.update(codes[:1])
            if all(a.value is None and a.gap and refused(a.gap) for a in [*answers, lone]):
                failed += [(part, a.gap or "") for part, a in zip(batch, answers, strict=True)]
                break  # the search itself refused, whatever its codes
        pending = []
        for part, result in zip(batch, answers, strict=True):
            if result.value is not None:
                answered.append(result.value)
            if result.gap is None:
                continue
            if result.value is None and len(part) > 1 and refused(result.gap):
                pending += split(part)
            else:
                failed.append((part, result.gap))
    return _merged(answered, failed, found, len(codes), first_gap), calls


def _merged(
    answered: list[dict[str, Any]],
    failed: list[tuple[list[str], str]],
    alone: set[str],
    total: int,
    first_gap: str,
) -> Fetched:
    """One searchset Bundle (each resource once); the gap counts the codes not searched."""
    entries: dict[tuple[Any, Any], Any] = {}
    for value in answered:
        found = value.get("entry")
        for entry in found if isinstance(found, list) else ():
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                entries.setdefault((resource.get("resourceType"), resource.get("id")), entry)
    # A server's own answer says more than the budget running out.
    why = next((w for _, w in failed if w != BUDGET_SPENT), BUDGET_SPENT)
    if failed and not answered:
        return Fetched(None, f"{first_gap}; searched in parts: {why}")
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": list(entries.values())}
    if failed:
        missed = len({code for part, _ in failed for code in part} - alone)
        return Fetched(
            bundle, f"incomplete: {missed} of {total} codes could not be searched ({why})"
        )
    return Fetched(bundle)
