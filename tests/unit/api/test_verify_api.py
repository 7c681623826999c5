"""The verify endpoints: a PASSporT signed with a delegate key verifies end to end (x5u fetched
from this app's own repository), a tampered one fails with the RFC 8224 code, and a signer check
answers with evidence. The fetcher routes x5u and CRL URLs to the app itself, in process."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from cryptography import x509

from ca.verifier import VerificationContext, sign_identity
from ca.verifier.errors import FetchError
from tests.conftest import make_csr
from tests.unit.api.conftest import call


class AppFetcher:
    def __init__(self, client) -> None:
        self.client = client

    def fetch(self, url: str, kind: str) -> bytes:
        response = self.client.get(urlsplit(url).path)
        if response.status_code != 200:
            raise FetchError("http-status", f"{url} answered {response.status_code}", transient=False)
        return response.data


@pytest.fixture
def signer(app, client, cast, services):
    """A BPO with a delegate certificate for 12025550001, and its key."""
    anchors = x509.load_pem_x509_certificates((services.config.pki_dir / "root.pem").read_bytes())
    app.extensions["delegato.verification"] = VerificationContext.of(
        anchors, AppFetcher(client), clock=services.clock
    )
    call(
        client,
        "POST",
        "/v1/assignments",
        cast.tnsp,
        {"enterprise": cast.enterprise.id, "ranges": [{"start": "12025550000", "count": 10}], "expires_at": "+30d"},
    )
    call(
        client,
        "POST",
        "/v1/delegations",
        cast.enterprise,
        {"bpo": cast.bpo.id, "tns": ["12025550001"], "expires_at": "+7d"},
    )
    csr, key = make_csr()
    issued = call(client, "POST", "/v1/certificates", cast.bpo, {"csr": csr.decode()}).json
    return issued, key


def test_a_delegate_signed_passport_verifies(client, services, signer):
    issued, key = signer
    identity = sign_identity(key, issued["x5u"], "12025550001", "12025550199", clock=services.clock)
    response = client.post(
        "/v1/verify/identity",
        json={"identity": identity, "from": "12025550001", "to": "12025550199"},
    )
    assert response.status_code == 200, response.json
    assert response.json["valid"] is True
    assert response.json["verstat"] == "TN-Validation-Passed"


def test_a_tampered_passport_fails_with_438(client, services, signer):
    issued, key = signer
    identity = sign_identity(key, issued["x5u"], "12025550001", "12025550199", clock=services.clock)
    jws, _, rest = identity.partition(";")
    header, payload, signature = jws.split(".")
    tampered = ".".join((header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")))
    response = client.post(
        "/v1/verify/identity", json={"identity": f"{tampered};{rest}", "from": "12025550001", "to": "12025550199"}
    )
    assert response.status_code == 200
    assert response.json["valid"] is False and response.json["verstat"] == "TN-Validation-Failed"
    assert response.json["results"][0]["status"] == 438


def test_a_number_outside_the_certificate_fails(client, services, signer):
    issued, key = signer
    identity = sign_identity(key, issued["x5u"], "12025550002", "12025550199", clock=services.clock)
    response = client.post(
        "/v1/verify/identity", json={"identity": identity, "from": "12025550002", "to": "12025550199"}
    )
    assert response.json["valid"] is False


def test_signer_check_gives_a_decision_for_a_number(client, signer):
    issued, _key = signer
    covered = client.post("/v1/verify/signer", json={"x5u": issued["x5u"], "tn": "12025550001"})
    assert covered.status_code == 200 and covered.json["valid"] is True
    outside = client.post("/v1/verify/signer", json={"chain": issued["chain"], "tn": "12025550009"})
    assert outside.status_code == 200 and outside.json["valid"] is False
    both = client.post("/v1/verify/signer", json={"chain": issued["chain"], "x5u": issued["x5u"], "tn": "1"})
    assert both.status_code == 400 and both.json["field"] == "x5u"


def test_require_key_closes_the_verify_endpoints(client, services, cast, monkeypatch):
    import dataclasses

    config = dataclasses.replace(
        services.config, verifier=dataclasses.replace(services.config.verifier, require_key=True)
    )
    monkeypatch.setattr(services, "config", config)
    body = {"identity": "x.y.z;info=<https://a.example/x.pem>"}
    assert client.post("/v1/verify/identity", json=body).status_code == 401
    assert call(client, "POST", "/v1/verify/identity", cast.verifier, body).status_code == 200
