"""Client authentication: the attack suite (every case a bare 401), happy paths, rotation."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_service.config import ConfigurationError
from tests import jwt_support as js
from tests.builders import hook_request
from tests.conftest import make_settings

BODY = hook_request("patient-view")


@pytest.fixture(scope="module")
def es() -> js.Signer:
    return js.es384("es-1")


@pytest.fixture(scope="module")
def rs() -> js.Signer:
    return js.rs384("rs-1")


@pytest.fixture
def jwks_route(es: js.Signer, rs: js.Signer) -> Iterator[respx.Route]:
    """The client's key server, mocked: it publishes the ES384 and RS384 keys."""
    with respx.mock(base_url=js.ISSUER, assert_all_called=False) as router:
        route = router.get("/.well-known/jwks.json")
        route.return_value = httpx.Response(200, json=js.jwks(es, rs))
        yield route


class ReasonLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        reason = getattr(record, "reason", None)
        if reason:
            self.reasons.append(reason)


@pytest.fixture
def reasons() -> Iterator[list[str]]:
    """The reason codes of the "client rejected" log lines."""
    handler = ReasonLog()
    logger = logging.getLogger("ms_cds.auth")
    logger.addHandler(handler)
    yield handler.reasons
    logger.removeHandler(handler)


@pytest.fixture
def prod_client(
    app_factory: Callable[..., FastAPI], jwks_route: respx.Route
) -> Iterator[TestClient]:
    with TestClient(app_factory(js.production_settings())) as client:
        yield client


def call(client: TestClient, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(js.SERVICE_PATH, json=BODY, headers=headers or {})


def assert_bare_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["www-authenticate"] == "Bearer"


# --- the attack suite ---------------------------------------------------------------


def test_no_authorization_header(prod_client: TestClient, reasons: list[str]) -> None:
    """A call without Authorization is refused."""
    assert_bare_401(call(prod_client))
    assert reasons == ["missing_token"]


def test_malformed_token(prod_client: TestClient, reasons: list[str]) -> None:
    """A bearer value that is not a JWT is refused."""
    assert_bare_401(call(prod_client, js.bearer("not.a.jwt")))
    assert reasons == ["malformed"]


def test_alg_none(prod_client: TestClient, es: js.Signer, reasons: list[str]) -> None:
    """An unsigned token (alg none) is refused."""
    assert_bare_401(call(prod_client, js.bearer(js.unsigned(es, js.claims()))))
    assert reasons == ["bad_alg"]


def test_hs256_signed_with_public_key(
    prod_client: TestClient, rs: js.Signer, reasons: list[str]
) -> None:
    """An HS256 token whose secret is the client's public key (key confusion) is refused."""
    token = js.hs256_with_public_key(rs, js.claims())
    assert_bare_401(call(prod_client, js.bearer(token)))
    assert reasons == ["bad_alg"]


def test_wrong_signature(prod_client: TestClient, reasons: list[str]) -> None:
    """A token signed by another key under a trusted kid is refused."""
    impostor = js.es384("es-1")
    assert_bare_401(call(prod_client, js.bearer(impostor.token(js.claims()))))
    assert reasons == ["bad_signature"]


def test_unknown_kid(
    prod_client: TestClient, es: js.Signer, jwks_route: respx.Route, reasons: list[str]
) -> None:
    """A kid the cached JWKS lacks is refused after exactly one refetch."""
    assert call(prod_client, js.bearer(es.token(js.claims()))).status_code == 200
    stranger = js.es384("nobody-knows")
    assert_bare_401(call(prod_client, js.bearer(stranger.token(js.claims()))))
    assert reasons == ["unknown_kid"]
    assert jwks_route.call_count == 2  # first fetch, then one refetch for the unknown kid


def test_expired(prod_client: TestClient, es: js.Signer, reasons: list[str]) -> None:
    """A token expired for longer than the clock skew is refused."""
    token = es.token(js.claims(exp=js.claims()["iat"] - 61, iat=js.claims()["iat"] - 360))
    assert_bare_401(call(prod_client, js.bearer(token)))
    assert reasons == ["expired"]


def test_nbf_in_future(prod_client: TestClient, es: js.Signer, reasons: list[str]) -> None:
    """A token not valid before a time beyond the clock skew is refused."""
    token = es.token(js.claims(nbf=js.claims()["iat"] + 120))
    assert_bare_401(call(prod_client, js.bearer(token)))
    assert reasons == ["not_yet_valid"]


def test_iat_far_in_future(prod_client: TestClient, es: js.Signer, reasons: list[str]) -> None:
    """A token issued an hour from now is refused."""
    now = js.claims()["iat"]
    token = es.token(js.claims(iat=now + 3600, exp=now + 3900))
    assert_bare_401(call(prod_client, js.bearer(token)))
    assert reasons == ["iat_in_future"]


def test_wrong_audience(prod_client: TestClient, es: js.Signer, reasons: list[str]) -> None:
    """A token meant for another service is refused."""
    token = es.token(js.claims(aud="https://other.example.org/cds-services/ms-patient-view"))
    assert_bare_401(call(prod_client, js.bearer(token)))
    assert reasons == ["wrong_audience"]


def test_unknown_issuer(
    prod_client: TestClient, es: js.Signer, jwks_route: respx.Route, reasons: list[str]
) -> None:
    """A token from an issuer not configured as trusted is refused without any fetch."""
    token = es.token(js.claims(iss="https://evil.example.net"))
    assert_bare_401(call(prod_client, js.bearer(token)))
    assert reasons == ["unknown_issuer"]
    assert jwks_route.call_count == 0


def test_jku_off_allowlist(
    prod_client: TestClient, es: js.Signer, jwks_route: respx.Route, reasons: list[str]
) -> None:
    """A jku header off the issuer's allowlist is refused before anything is fetched."""
    with respx.mock(base_url="https://evil.example.net", assert_all_called=False) as evil:
        evil_route = evil.get("/jwks.json").respond(200, json=js.jwks(es))
        token = es.token(js.claims(), jku="https://evil.example.net/jwks.json")
        assert_bare_401(call(prod_client, js.bearer(token)))
    assert reasons == ["jku_not_allowed"]
    assert evil_route.call_count == 0
    assert jwks_route.call_count == 0


def test_replayed_jti(prod_client: TestClient, es: js.Signer, reasons: list[str]) -> None:
    """The same token used twice is accepted once and refused the second time."""
    headers = js.bearer(es.token(js.claims()))
    assert call(prod_client, headers).status_code == 200
    assert_bare_401(call(prod_client, headers))
    assert reasons == ["replayed_jti"]


def test_missing_jti(prod_client: TestClient, es: js.Signer, reasons: list[str]) -> None:
    """A token without a jti is refused."""
    assert_bare_401(call(prod_client, js.bearer(es.token(js.claims(jti=None)))))
    assert reasons == ["missing_claim"]


# --- more ways to be wrong ---------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "claims", "reason"),
    [
        ({"kid": ""}, {}, "missing_kid"),
        ({"typ": "at+jwt"}, {}, "bad_typ"),
        ({}, {"exp": None}, "missing_claim"),
        ({}, {"aud": None}, "missing_claim"),
        ({}, {"exp": "tomorrow"}, "bad_claim"),
        ({}, {"tenant": 42}, "bad_claim"),
        ({}, {"exp": 10**10}, "lifetime_too_long"),
    ],
    ids=["no-kid", "typ", "no-exp", "no-aud", "exp-string", "tenant-number", "lifetime"],
)
def test_header_and_claim_defects(
    prod_client: TestClient,
    es: js.Signer,
    reasons: list[str],
    header: dict[str, Any],
    claims: dict[str, Any],
    reason: str,
) -> None:
    """Missing kid, a wrong typ, missing or ill-typed claims, a lifetime too long: refused."""
    token = es.token(js.claims(**claims), **header)
    assert_bare_401(call(prod_client, js.bearer(token)))
    assert reasons == [reason]


def test_key_of_another_type(prod_client: TestClient, rs: js.Signer, reasons: list[str]) -> None:
    """An ES384 token naming the kid of an RSA key is refused."""
    impostor = js.Signer("ES384", rs.kid, js.es384().private)
    assert_bare_401(call(prod_client, js.bearer(impostor.token(js.claims()))))
    assert reasons == ["bad_key"]


def test_algorithm_off_the_configured_list(prod_client: TestClient, reasons: list[str]) -> None:
    """ES256 is refused unless the settings allow it."""
    signer = js.Signer("ES256", "es-256", js.ec.generate_private_key(js.ec.SECP256R1()))
    assert_bare_401(call(prod_client, js.bearer(signer.token(js.claims()))))
    assert reasons == ["bad_alg"]


def test_jwks_server_down(
    app_factory: Callable[..., FastAPI], es: js.Signer, reasons: list[str]
) -> None:
    """When the client's key server fails, its calls are refused (401), not a 500."""
    with respx.mock(base_url=js.ISSUER) as router:
        router.get("/.well-known/jwks.json").respond(503)
        with TestClient(app_factory(js.production_settings())) as client:
            assert_bare_401(call(client, js.bearer(es.token(js.claims()))))
    assert reasons == ["keys_unavailable"]


def test_other_scheme(prod_client: TestClient, es: js.Signer, reasons: list[str]) -> None:
    """A JWT under another scheme than Bearer is refused."""
    response = call(prod_client, {"Authorization": f"Basic {es.token(js.claims())}"})
    assert_bare_401(response)
    assert reasons == ["missing_token"]


# --- happy paths ------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_valid_token_accepted(
    prod_client: TestClient, es: js.Signer, rs: js.Signer, alg: str, reasons: list[str]
) -> None:
    """A fresh token signed with the client's ES384 or RS384 key gets the cards."""
    signer = es if alg == "ES384" else rs
    response = call(prod_client, js.bearer(signer.token(js.claims(tenant="site-7"))))
    assert response.status_code == 200, response.text
    assert "cards" in response.json()
    assert reasons == []


def test_keys_are_cached(prod_client: TestClient, es: js.Signer, jwks_route: respx.Route) -> None:
    """Several calls fetch the JWKS once."""
    for _ in range(3):
        assert call(prod_client, js.bearer(es.token(js.claims()))).status_code == 200
    assert jwks_route.call_count == 1


def test_key_rotation(app_factory: Callable[..., FastAPI], es: js.Signer) -> None:
    """A new kid published at the JWKS URL is accepted after one refetch, without restart."""
    rotated = js.es384("es-2")
    with respx.mock(base_url=js.ISSUER) as router:
        route = router.get("/.well-known/jwks.json")
        route.side_effect = [
            httpx.Response(200, json=js.jwks(es)),
            httpx.Response(200, json=js.jwks(es, rotated)),
        ]
        with TestClient(app_factory(js.production_settings())) as client:
            assert call(client, js.bearer(es.token(js.claims()))).status_code == 200
            assert call(client, js.bearer(rotated.token(js.claims()))).status_code == 200
            assert call(client, js.bearer(rotated.token(js.claims()))).status_code == 200
        assert route.call_count == 2


def test_unknown_kid_refetch_is_rate_limited(
    prod_client: TestClient, jwks_route: respx.Route
) -> None:
    """A burst of made-up kids causes one fetch and one refetch, not one per token."""
    for n in range(4):
        token = js.es384(f"made-up-{n}").token(js.claims())
        assert call(prod_client, js.bearer(token)).status_code == 401
    assert jwks_route.call_count == 2


def test_allowed_jku_is_used(app_factory: Callable[..., FastAPI], es: js.Signer) -> None:
    """A jku on the allowlist is where the keys are fetched from."""
    with respx.mock(base_url=js.ISSUER) as router:
        alt = router.get("/keys/alt-jwks.json").respond(200, json=js.jwks(es))
        with TestClient(app_factory(js.production_settings())) as client:
            token = es.token(js.claims(), jku=js.ALLOWED_JKU)
            assert call(client, js.bearer(token)).status_code == 200
        assert alt.call_count == 1


def test_static_jwks(app_factory: Callable[..., FastAPI], rs: js.Signer) -> None:
    """An issuer configured with a static JWKS needs no key server."""
    settings = js.production_settings(trusted_issuers={js.ISSUER: {"jwks": js.jwks(rs)}})
    with TestClient(app_factory(settings)) as client:
        assert call(client, js.bearer(rs.token(js.claims()))).status_code == 200


def test_configured_audience(
    app_factory: Callable[..., FastAPI], es: js.Signer, jwks_route: respx.Route
) -> None:
    """An aud set by hand (Epic) is accepted when it is a configured audience."""
    settings = js.production_settings(audience=["urn:ms-cds:site-1"])
    with TestClient(app_factory(settings)) as client:
        token = es.token(js.claims(aud=["urn:other", "urn:ms-cds:site-1"]))
        assert call(client, js.bearer(token)).status_code == 200


def test_public_base_url_audience(
    app_factory: Callable[..., FastAPI], es: js.Signer, jwks_route: respx.Route
) -> None:
    """Behind a proxy, aud is the public service URL, and the internal URL is refused."""
    settings = js.production_settings(public_base_url="https://cds.example.org/")
    public = "https://cds.example.org" + js.SERVICE_PATH
    with TestClient(app_factory(settings)) as client:
        assert call(client, js.bearer(es.token(js.claims(aud=public)))).status_code == 200
        assert call(client, js.bearer(es.token(js.claims()))).status_code == 401


def test_discovery_stays_open(prod_client: TestClient) -> None:
    """Discovery needs no token, per the spec."""
    assert prod_client.get("/cds-services").status_code == 200


def test_unknown_service_needs_a_token_first(prod_client: TestClient) -> None:
    """Without a token, an unknown service id is a 401 (nothing is revealed)."""
    assert_bare_401(prod_client.post("/cds-services/nope", json=BODY))


# --- configuration ----------------------------------------------------------------


def test_production_refuses_to_start_without_issuers(
    app_factory: Callable[..., FastAPI],
) -> None:
    """Production settings without trusted issuers or a hash key refuse to start."""
    with pytest.raises(ConfigurationError) as caught:
        app_factory(make_settings(dev=False))
    text = str(caught.value)
    assert "CDS_TRUSTED_ISSUERS" in text
    assert "CDS_PATIENT_HASH_KEY" in text


def test_development_mode_needs_no_token(client: TestClient) -> None:
    """Development mode serves without any Authorization header."""
    assert client.post(js.SERVICE_PATH, json=BODY).status_code == 200


def test_trusted_issuers_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """CDS_TRUSTED_ISSUERS and CDS_AUDIENCE are JSON in the environment."""
    monkeypatch.setenv("CDS_TRUSTED_ISSUERS", json.dumps({js.ISSUER: {"jwks_url": js.JWKS_URL}}))
    monkeypatch.setenv("CDS_AUDIENCE", '["urn:a"]')
    settings = make_settings()
    assert settings.trusted_issuers[js.ISSUER].jwks_url == js.JWKS_URL
    assert settings.audience == ["urn:a"]


@pytest.mark.parametrize(
    "issuer",
    [
        {"jwks_url": "http://ehr.example.org/jwks.json"},
        {"jwks_url": js.JWKS_URL, "jku": ["http://ehr.example.org/k"]},
        {},
        {"jwks": {"nokeys": []}},
    ],
    ids=["http-jwks", "http-jku", "no-keys", "not-a-jwks"],
)
def test_bad_issuer_configuration(issuer: dict[str, Any]) -> None:
    """An issuer over http, without keys, or with a malformed JWKS is a settings error."""
    with pytest.raises(ValueError, match="jwks"):
        make_settings(trusted_issuers={js.ISSUER: issuer})


def test_symmetric_algorithms_cannot_be_configured() -> None:
    """HS256 or none can never be allowed by setting."""
    for alg in ("HS256", "none"):
        with pytest.raises(ValueError, match="allowed algorithms"):
            make_settings(jwt_algorithms=["ES384", alg])


# --- the feedback route -------------------------------------------------------------

FEEDBACK_PATH = js.SERVICE_PATH + "/feedback"
FEEDBACK = {
    "feedback": [
        {
            "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
            "outcomeTimestamp": "2026-11-25T10:05:31Z",
        }
    ]
}


def test_feedback_needs_a_client_token(prod_client: TestClient, reasons: list[str]) -> None:
    """Feedback without a token is a bare 401, like a service call."""
    assert_bare_401(prod_client.post(FEEDBACK_PATH, json=FEEDBACK))
    assert reasons == ["missing_token"]


@pytest.mark.parametrize("aud", ["feedback", "service"])
def test_feedback_accepts_its_own_or_its_service_url(
    app_factory: Callable[..., FastAPI],
    jwks_route: respx.Route,
    es: js.Signer,
    reasons: list[str],
    aud: str,
) -> None:
    """A feedback token's aud may be the feedback URL or the service URL it belongs to."""
    url = "http://testserver" + (FEEDBACK_PATH if aud == "feedback" else js.SERVICE_PATH)
    settings = js.production_settings(database_migrate_on_startup=True)
    with TestClient(app_factory(settings)) as client:
        response = client.post(
            FEEDBACK_PATH, json=FEEDBACK, headers=js.bearer(es.token(js.claims(aud=url)))
        )
    assert response.status_code == 200, response.text
    assert reasons == []
