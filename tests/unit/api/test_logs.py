"""Structured logs: one JSON object per request with its request id; no API key, private key or
passphrase ever reaches the log, whatever the request carried."""

from __future__ import annotations

import io
import json
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca.logs import configure_logging
from tests.conftest import make_csr
from tests.unit.api.conftest import call


@pytest.fixture
def log_stream():
    loggers = [logging.getLogger(name) for name in ("delegato", "apscheduler")]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    stream = io.StringIO()
    configure_logging(stream, logging.DEBUG)
    yield stream
    for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def test_requests_are_logged_as_json_without_secrets(client, cast, log_stream):
    private_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    csr, _ = make_csr()
    ids = []
    responses = [
        call(client, "POST", f"/v1/organizations/{cast.bpo.id}/keys", cast.operator, {"role": "bpo"}),
        call(client, "POST", "/v1/certificates", cast.enterprise, {"csr": csr.decode()}),
        # A caller who pastes its private key where the CSR goes: refused, and never logged.
        call(client, "POST", "/v1/certificates", cast.enterprise, {"csr": private_pem}),
        call(client, "POST", "/v1/subscriptions", cast.bpo, {"public_key": private_pem}),
        client.get("/v1/certificates", headers={"Authorization": "Bearer dlg_key-000000000000_" + "s" * 43}),
        call(client, "GET", "/v1/tn-status?tn=12025550100", cast.tnsp),
    ]
    ids = [r.headers["X-Request-Id"] for r in responses]
    new_key = responses[0].json["key"]

    text = log_stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    requests = [line for line in lines if line["logger"] == "delegato.http"]
    assert [line["request_id"] for line in requests] == ids
    assert {line["status"] for line in requests} >= {201, 400, 401, 200}
    assert requests[1]["organization"] == cast.enterprise.id
    assert requests[1]["key_id"] == cast.enterprise.key.split("_")[1]

    secrets = [new_key, new_key.split("_", 2)[2], "s" * 43, "PRIVATE KEY", "BEGIN CERTIFICATE REQUEST"]
    secrets += [caller.key.split("_", 2)[2] for caller in cast.all().values()]
    for secret in secrets:
        assert secret not in text, secret
