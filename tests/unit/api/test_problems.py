"""Bad input of every kind gets a 4xx problem document naming the field and the rule, never a
500, never a partial write."""

from __future__ import annotations

import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_csr
from tests.unit.api.conftest import call

PROBLEM = "application/problem+json"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def assert_problem(response, status: int, field: str | None = None, slug: str | None = None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"].startswith("tag:delegato.dev,2026:problem:")
    assert body["request_id"] == response.headers["X-Request-Id"]
    if field is not None:
        assert body["field"] == field, body
    if slug is not None:
        assert body["type"].endswith(":" + slug), body
    return body


def test_no_key_bad_key_and_revoked_key_are_401(client, cast, services):
    response = client.get("/v1/certificates")
    assert_problem(response, 401, "authorization", "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for header in ("Bearer", "Basic abc", "Bearer dlg_nope", "Bearer " + cast.bpo.key + "x"):
        assert_problem(client.get("/v1/certificates", headers={"Authorization": header}), 401)
    key_id = cast.bpo.key.split("_")[1]
    services.api_keys.revoke(key_id, actor="operator:test")
    assert_problem(call(client, "GET", "/v1/certificates", cast.bpo), 401)


def test_body_rules_name_the_field(client, cast):
    def post(body, **kw):
        return call(client, "POST", "/v1/assignments", cast.tnsp, body, **kw)

    good = {"enterprise": cast.enterprise.id, "tns": ["12025550100"], "expires_at": "+1d"}
    assert_problem(post({k: v for k, v in good.items() if k != "expires_at"}), 400, "expires_at")
    body = assert_problem(post({**good, "expiry": "+1d"}), 400, "expiry")
    assert "expires_at" in body["detail"]  # the allowed fields are listed
    assert_problem(post({**good, "tns": "12025550100"}), 400, "tns")
    assert_problem(post({**good, "ranges": [{"start": "12025550100"}]}), 400, "ranges[0].count")
    assert_problem(post({**good, "tns": ["1202555010x"]}), 400, "tns[0]")
    assert_problem(post({**good, "expires_at": "next tuesday"}), 400, "expires_at")
    assert_problem(post({**good, "tns": []}), 400, "tns")
    assert_problem(post([good]), 400, "body")
    bad_json = client.post(
        "/v1/assignments",
        data="{",
        headers={**cast.tnsp.headers, "Content-Type": "application/json"},
    )
    assert_problem(bad_json, 400, "body")
    as_form = client.post("/v1/assignments", data=json.dumps(good), headers=cast.tnsp.headers)
    assert_problem(as_form, 415, slug="unsupported-media-type")
    huge = post({**good, "evidence": "x" * (70 * 1024)})
    assert_problem(huge, 413, slug="request-too-large")


def test_nul_characters_are_refused_before_any_lookup(client, cast):
    body = {"enterprise": "org-\x00x", "tns": ["12025550100"], "expires_at": "+1d"}
    assert_problem(call(client, "POST", "/v1/assignments", cast.tnsp, body), 400, "enterprise")
    nested = {**body, "enterprise": cast.enterprise.id, "ranges": [{"start": "1\x00", "count": 2}]}
    assert_problem(call(client, "POST", "/v1/assignments", cast.tnsp, nested), 400, "ranges[0].start")
    assert_problem(call(client, "GET", "/v1/assignments/asg-%00", cast.tnsp), 404)
    assert_problem(call(client, "GET", "/v1/tn-status?tn=1%002", cast.tnsp), 400, "tn")


def test_a_refused_post_writes_nothing(client, cast, services):
    good = {"enterprise": cast.enterprise.id, "tns": ["12025550100"], "expires_at": "+1d"}
    mixed = {**good, "tns": ["12025550100", "12025550101"], "ranges": [{"start": "1202555", "count": 0}]}
    assert call(client, "POST", "/v1/assignments", cast.tnsp, mixed).status_code == 400
    status = services.registry.status("12025550100").status
    assert status["assigned"] is False


def test_query_and_route_rules(client, cast):
    assert_problem(call(client, "GET", "/v1/certificates?limit=abc", cast.bpo), 400, "limit")
    assert_problem(call(client, "GET", "/v1/certificates?colour=red", cast.bpo), 400, "colour")
    assert_problem(call(client, "GET", "/v1/certificates?limit=1&limit=2", cast.bpo), 400, "limit")
    assert_problem(call(client, "GET", "/v1/certificates/zz", cast.bpo), 404)
    assert_problem(call(client, "GET", "/v1/assignments/dlg-1", cast.tnsp), 404)
    assert_problem(client.get("/v1/nowhere"), 404, slug="not-found")
    response = client.put("/v1/certificates")
    assert_problem(response, 405, slug="method-not-allowed")
    assert "POST" in response.headers["Allow"]


def _rsa_csr() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rsa")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    ("csr", "slug"),
    [
        ("", "malformed"),
        ("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "bad-csr"),
        ("not a csr at all", "bad-csr"),
        (make_csr()[0].decode().replace("A", "B", 3), "bad-csr"),
        (_rsa_csr().decode(), "bad-public-key"),
        (ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(), "bad-csr"),
    ],
    ids=["empty", "garbage-pem", "text", "tampered", "rsa", "public-key-not-csr"],
)
def test_malformed_csrs_are_400(client, cast, csr, slug):
    call(
        client,
        "POST",
        "/v1/assignments",
        cast.tnsp,
        {"enterprise": cast.enterprise.id, "tns": ["12025550100"], "expires_at": "+1d"},
    )
    response = call(client, "POST", "/v1/certificates", cast.enterprise, {"csr": csr})
    body = assert_problem(response, 400)
    assert body["type"].endswith(":" + slug) or (slug == "bad-csr" and body["field"] == "csr")


def test_malformed_public_keys_for_subscriptions_are_400(client, cast):
    for key in ("", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "x" * 100):
        response = call(client, "POST", "/v1/subscriptions", cast.bpo, {"public_key": key})
        assert 400 <= response.status_code < 500 and response.headers["Content-Type"] == PROBLEM


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/assignments",
        "/v1/assignments/transfer",
        "/v1/delegations",
        "/v1/certificates",
        "/v1/subscriptions",
        "/v1/organizations",
        "/v1/verify/identity",
        "/v1/verify/signer",
    ],
)
def test_arbitrary_json_never_breaks_an_endpoint(client, cast, path):
    caller = {
        "/v1/assignments": cast.tnsp,
        "/v1/assignments/transfer": cast.tnsp,
        "/v1/organizations": cast.operator,
    }.get(path, cast.bpo if "subscriptions" in path else cast.enterprise)

    @given(
        body=json_values
        | st.dictionaries(
            st.sampled_from(["enterprise", "bpo", "tns", "ranges", "csr", "expires_at", "identity", "tn", "x5u", "kind", "name"]),
            json_values,
        )
    )
    @SETTINGS
    def post(body):
        response = call(client, "POST", path, caller, body)
        assert response.status_code < 500, response.get_data(as_text=True)
        if response.status_code >= 400:
            assert_problem(response, response.status_code)

    post()


@given(raw=st.binary(max_size=600))
@SETTINGS
def test_arbitrary_bytes_as_a_csr_are_refused_cleanly(client, cast, raw):
    response = call(
        client, "POST", "/v1/certificates", cast.enterprise, {"csr": raw.decode("latin-1")}
    )
    assert_problem(response, 400)


def test_request_ids_are_kept_when_plain_and_made_otherwise(client):
    assert client.get("/healthz", headers={"X-Request-Id": "trace-12345678"}).headers[
        "X-Request-Id"
    ] == "trace-12345678"
    made = client.get("/healthz", headers={"X-Request-Id": "bad id\u00e9"}).headers["X-Request-Id"]
    assert made != "bad id\u00e9" and len(made) == 16
