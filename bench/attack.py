"""`make bench-attack`: a normal call's latency while worst-case bodies arrive (issue 17 #3).

One uvicorn worker (development mode). Normal order-select calls are paced at a fixed
rate from one client, first alone, then while two attackers send the red team's bodies
back to back: a 4.5 MB Condition text of "ms ms ms ...", 20,000 MSC orders in one
order-sign, the most draft orders allowed (CDS_MAX_DRAFT_ORDERS) each with a long text,
a record of 7,500 Conditions with long texts, and the value-set prefilter's worst case:
texts at the matched length holding a keyword of every pattern (so every pattern runs),
in 2,000 Conditions and in the most draft orders allowed. Prints p50/p99 of the normal
calls in both phases, and each attack body's status, time and response size; writes
bench/attack_results.json. Not a test: the numbers move with the machine's load.

`--cpu`: no server; each attack body's CPU time in this process (decode, envelope,
`run_service`, encode; worker threads included), the work one request can cost; and
value-set text matching's CPU per character (one text through all text value sets).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.generator import generate
from bench.server import serve
from fhir_mappings.textcap import MATCHED_TEXT_CHARS
from fhir_mappings.valuesets import all_value_sets

RESULTS = Path(__file__).with_name("attack_results.json")
APP = "cds_service.asgi:app"
ENV = {"CDS_DEV": "true"}
# --limits-off: the request limits raised out of reach (the off-loop reading stays).
LIMITS_OFF = {
    "CDS_MAX_MATCHED_TEXT_CHARS": "1000000",
    "CDS_MAX_DRAFT_ORDERS": "100000",
    "CDS_MAX_RESOURCES": "1000000",
    "CDS_MAX_CARDS": "100000",
    "CDS_MAX_RESPONSE_BYTES": "1000000000",
}
SUBJECT = {"reference": "Patient/bench-attack"}


def _condition(index: int, text: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"c{index}",
        "subject": SUBJECT,
        "code": {"text": text},
        "clinicalStatus": {"coding": [{"code": "active"}]},
    }


def _msc_order(index: int, text: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"d{index}",
        "status": "draft",
        "intent": "order",
        "subject": SUBJECT,
        "medicationCodeableConcept": {"text": text},
    }


def _request(hook: str, conditions: list[dict[str, Any]], drafts: list[Any]) -> dict[str, Any]:
    context: dict[str, Any] = {"patientId": "bench-attack", "userId": "Practitioner/p"}
    if hook != "patient-view":
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in drafts],
        }
    ms = _condition(-1, "Multiple sclerosis")
    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": context,
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "bench-attack", "birthDate": "1990-01-01"},
            "conditions": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": c} for c in [ms, *conditions]],
            },
        },
    }


def stuffed_text() -> str:
    """A text at the matched length holding the shortest keyword of every value-set
    pattern, glued between letters so that few of them match: each pattern runs its
    regex over the whole text."""
    words = [min(k, key=len) for vs in all_value_sets().values() for k in vs.keywords if k]
    text = "x" + "x".join(words) + "x"
    return (text * (MATCHED_TEXT_CHARS // len(text) + 1))[:MATCHED_TEXT_CHARS]


def attack_bodies() -> dict[str, dict[str, Any]]:
    """The worst-case bodies, each under the 5 MB body limit."""
    long_text = "Mesenchymal stem cell infusion " + "ms " * 1500
    stuffed = stuffed_text()
    return {
        "4.5 MB Condition text": _request("patient-view", [_condition(0, "ms " * 1_500_000)], []),
        "20,000 MSC orders": _request(
            "order-sign", [], [_msc_order(i, "MSC infusion") for i in range(20_000)]
        ),
        "100 MSC orders, long texts": _request(
            "order-sign", [], [_msc_order(i, long_text) for i in range(100)]
        ),
        "7,500 Conditions, long texts": _request(
            "patient-view", [_condition(i, "ms " * 150) for i in range(7500)], []
        ),
        "2,000 Conditions, keyword-stuffed texts": _request(
            "patient-view", [_condition(i, stuffed) for i in range(2000)], []
        ),
        "100 orders, keyword-stuffed texts": _request(
            "order-sign", [], [_msc_order(i, stuffed) for i in range(100)]
        ),
    }


def matching_cost(repeats: int = 5) -> dict[str, float]:
    """CPU microseconds per character to match one text against every text value set
    (within one request's memo, as the mappings do), least of `repeats`."""
    from fhir_mappings.textcap import matched_text_limit

    sets = [vs for vs in all_value_sets().values() if vs.patterns]
    texts = {
        '"ms ms ms ..."': "ms " * 700,
        "clinic prose": "Seen in clinic for follow up, no new complaints. " * 45,
        "keyword-stuffed": stuffed_text(),
    }
    out: dict[str, float] = {}
    for name, text in texts.items():
        best = float("inf")
        for _ in range(repeats):
            begun = time.process_time()
            with matched_text_limit(MATCHED_TEXT_CHARS):
                for valueset in sets:
                    valueset.matches(text)
            best = min(best, time.process_time() - begun)
        out[name] = round(best * 1e6 / min(len(text), MATCHED_TEXT_CHARS), 3)
    return out


def _service(body: bytes) -> str:
    return "ms-patient-view" if b'"patient-view"' in body[:40] else "ms-order-sign"


def cpu_per_body(repeats: int = 3) -> dict[str, dict[str, Any]]:
    """Each attack body's least CPU time over `repeats` in-process calls, and its status."""
    from bench.inprocess import call_once
    from cds_service.config import Settings
    from cds_service.errors import PayloadTooLarge

    settings = Settings(_env_file=None, dev=True, redis_url=None)
    out: dict[str, dict[str, Any]] = {}
    for name, raw in attack_bodies().items():
        body = orjson.dumps(raw)
        times, status = [], 200
        for _ in range(repeats):
            begun = time.process_time()  # every thread of this process: the CPU pool too
            try:
                asyncio.run(call_once(_service(body), body, settings))
            except PayloadTooLarge:
                status = 413
            times.append((time.process_time() - begun) * 1000)
        out[name] = {"body_bytes": len(body), "status": status, "cpu_ms": round(min(times), 1)}
    return out


async def _paced(
    client: httpx.AsyncClient, url: str, bodies: list[bytes], rate: float, seconds: float
) -> list[float]:
    """Normal calls at `rate` per second for `seconds`; each one's latency in ms."""
    latencies: list[float] = []
    started = time.perf_counter()
    sent = 0
    while time.perf_counter() - started < seconds:
        body = bodies[sent % len(bodies)]
        begun = time.perf_counter()
        response = await client.post(
            url, content=body, headers={"content-type": "application/json"}
        )
        response.raise_for_status()
        latencies.append((time.perf_counter() - begun) * 1000)
        sent += 1
        await asyncio.sleep(max(0.0, started + sent / rate - time.perf_counter()))
    return latencies


async def _attacker(
    client: httpx.AsyncClient, base: str, bodies: dict[str, bytes], stop: asyncio.Event
) -> dict[str, list[dict[str, Any]]]:
    seen: dict[str, list[dict[str, Any]]] = {name: [] for name in bodies}
    while not stop.is_set():
        for name, body in bodies.items():
            path = "/cds-services/" + _service(body)
            begun = time.perf_counter()
            response = await client.post(
                base + path, content=body, headers={"content-type": "application/json"}
            )
            seen[name].append(
                {
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - begun) * 1000, 1),
                    "response_bytes": len(response.content),
                }
            )
            if stop.is_set():
                break
    return seen


def _summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "calls": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(ordered[-1], 1),
    }


async def _run(base: str, seconds: float, rate: float) -> dict[str, Any]:
    url = base + "/cds-services/ms-order-select"
    normal = [orjson.dumps(generate(i, "typical", 8, "order-select").body) for i in range(50)]
    attacks = {name: orjson.dumps(body) for name, body in attack_bodies().items()}
    timeout = httpx.Timeout(120)
    async with httpx.AsyncClient(timeout=timeout) as client:
        await _paced(client, url, normal, rate, 2)  # warm-up
        quiet = await _paced(client, url, normal, rate, seconds)
        stop = asyncio.Event()
        async with (
            httpx.AsyncClient(timeout=timeout) as a1,
            httpx.AsyncClient(timeout=timeout) as a2,
        ):
            attackers = [asyncio.create_task(_attacker(a, base, attacks, stop)) for a in (a1, a2)]
            await asyncio.sleep(0.5)
            loaded = await _paced(client, url, normal, rate, seconds)
            stop.set()
            seen = await asyncio.gather(*attackers)
    merged = {name: [e for s in seen for e in s[name]] for name in attacks}
    return {
        "rate_per_s": rate,
        "normal_alone": _summary(quiet),
        "normal_under_attack": _summary(loaded),
        "attack_bodies": {
            name: {
                "body_bytes": len(attacks[name]),
                "sent": len(entries),
                "statuses": sorted({e["status"] for e in entries}),
                "median_ms": round(statistics.median(e["ms"] for e in entries), 1)
                if entries
                else None,
                "max_response_bytes": max((e["response_bytes"] for e in entries), default=0),
            }
            for name, entries in merged.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="normal-call latency under worst-case bodies")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--rate", type=float, default=20.0, help="normal calls per second")
    parser.add_argument("--limits-off", action="store_true", help="for comparison")
    parser.add_argument("--cpu", action="store_true", help="in-process CPU per attack body")
    args = parser.parse_args()
    if args.cpu:
        cost = {"per_body": cpu_per_body(), "matching_us_per_char": matching_cost()}
        print(json.dumps(cost, indent=2))
        return
    env = {**ENV, **(LIMITS_OFF if args.limits_off else {})}
    with serve(APP, env, ready_path="/cds-services") as server:
        results = asyncio.run(_run(server.url, args.seconds, args.rate))
    results["limits"] = "off" if args.limits_off else "default"
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
