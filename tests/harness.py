"""One in-process app for generated requests: sends them, counts them, watches the logs.

Every generated request goes through `Harness.post`, which counts it (the count
is printed at the end of the pytest run) and records every log line of level
WARNING or above, so a test can assert that no unhandled error was logged.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import Any

import httpx
from fastapi.testclient import TestClient

from cds_hooks import Card
from cds_service.app import create_app
from tests.conftest import TODAY, make_settings

# Generated requests sent, by test name: printed by pytest_terminal_summary.
SENT: Counter[str] = Counter()

ALLOWED = {200, 400, 401, 404, 412, 413, 415}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Harness:
    """A running app (lifespan entered) and a log watcher."""

    def __init__(self, **settings: Any) -> None:
        self.app = create_app(make_settings(**settings), clock=lambda: TODAY)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.log = _Records()

    def __enter__(self) -> Harness:
        self.client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)

    def _watch_logs(self) -> None:
        # create_app() elsewhere replaces the ms_cds handlers: re-attach every time.
        for name in ("ms_cds", ""):
            logger = logging.getLogger(name)
            if self.log not in logger.handlers:
                logger.addHandler(self.log)
        self.log.records.clear()

    def post(self, test: str, service: str, raw: bytes, content_type: str) -> httpx.Response:
        """Send one generated request; count it under `test`."""
        SENT[test] += 1
        self._watch_logs()
        headers = {"content-type": content_type} if content_type else {}
        return self.client.post(f"/cds-services/{service}", content=raw, headers=headers)

    def check(self, response: httpx.Response) -> dict[str, Any] | None:
        """The answer is allowed, well-formed and logged no error; returns a 200's body."""
        errors = [r for r in self.log.records if r.levelno >= logging.ERROR]
        assert not errors, [f"{r.name}: {r.getMessage()} {vars(r)}" for r in errors]
        assert response.status_code in ALLOWED, (response.status_code, response.text[:500])
        if response.status_code == 401:
            return None
        body = response.json()
        if response.status_code != 200:
            assert response.headers["content-type"].startswith("application/fhir+json")
            assert body["resourceType"] == "OperationOutcome"
            assert body["issue"] and all(i["severity"] == "error" for i in body["issue"])
            return None
        assert set(body) <= {"cards", "systemActions"}
        for card in body["cards"]:
            Card.model_validate(card)
        return dict(body)


def without_uuids(value: Any) -> Any:
    """`value` with every generated uuid (checked to be v4) replaced by '<uuid>'."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "uuid":
                assert isinstance(item, str) and UUID.match(item), item
                out[key] = "<uuid>"
            else:
                out[key] = without_uuids(item)
        return out
    if isinstance(value, list):
        return [without_uuids(v) for v in value]
    return value


def card_deletes(card: dict[str, Any]) -> list[str]:
    """The orders a card's suggestions remove (each delete action's resourceId), in order."""
    return [
        action["resourceId"]
        for suggestion in card.get("suggestions", [])
        for action in suggestion.get("actions", [])
        if action["type"] == "delete"
    ]


def msc_card_orders(body: dict[str, Any]) -> list[str]:
    """The order each mscWarning card asks to remove (its delete action's resourceId)."""
    return [
        ref
        for card in body["cards"]
        if card["source"].get("topic", {}).get("code") == "mscWarning"
        for ref in card_deletes(card)
    ]
