"""Issue 17 #16: a refused client's log line names the route template, never the raw path."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.jwt_support import STATIC_ISSUERS, production_settings

PLANTED = "Jane-Doe-MRN-12345"


@pytest.mark.parametrize(
    ("path", "route"),
    [
        (f"/cds-services/{PLANTED}", "/cds-services/{service_id}"),
        (f"/cds-services/{PLANTED}/feedback", "/cds-services/{service_id}/feedback"),
    ],
)
def test_rejection_line_names_the_route_template(
    path: str,
    route: str,
    sqlite_url: str,
    app_factory: Callable[..., FastAPI],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 401 is logged with its route template; what the caller put in the path is not."""
    settings = production_settings(database_url=sqlite_url, trusted_issuers=STATIC_ISSUERS)
    with TestClient(app_factory(settings)) as client, caplog.at_level(logging.INFO):
        # After create_app, which configures the service's loggers.
        monkeypatch.setattr(logging.getLogger("ms_cds"), "propagate", True)
        response = client.post(path, json={}, headers={"Authorization": "Bearer x.y.z"})
    assert response.status_code == 401 and response.content == b""
    [line] = [r for r in caplog.records if r.getMessage() == "client rejected"]
    assert line.__dict__["route"] == route
    assert "path" not in line.__dict__
    assert all(PLANTED not in str(value) for value in vars(line).values())
    assert PLANTED not in caplog.text
