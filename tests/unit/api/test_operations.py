"""Operations: liveness, readiness that notices a missing issuer key, Prometheus metrics that
move when certificates are issued and revoked, and CRL age per issuer."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from ca.errors import CAError, ErrorKind
from tests.conftest import make_csr
from tests.unit.api.conftest import call


def samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "checks": {"database": "ok", "issuer_keys": "ok"}}


def test_readyz_reports_an_unavailable_key_and_database(client, services, monkeypatch, tmp_path):
    def token_removed(uri):
        raise CAError(ErrorKind.KEY_UNAVAILABLE, "the PKCS#11 token is not present", field="key_uri")

    monkeypatch.setattr(services.keys, "public_key", token_removed)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["status"] == "not ready"
    assert response.json["checks"] == {
        "database": "ok",
        "issuer_keys": "the PKCS#11 token is not present",
    }

    monkeypatch.setattr(
        services.storage, "engine", create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    )
    down = client.get("/readyz")
    assert down.status_code == 503 and down.json["checks"]["database"] != "ok"


def test_metrics_count_issuance_revocation_and_requests(client, cast, services):
    before = samples(client)
    call(
        client,
        "POST",
        "/v1/assignments",
        cast.tnsp,
        {"enterprise": cast.enterprise.id, "tns": ["12025550001"], "expires_at": "+1d"},
    )
    serial = call(
        client, "POST", "/v1/certificates", cast.enterprise, {"csr": make_csr()[0].decode()}
    ).json["serial"]
    call(client, "POST", f"/v1/certificates/{serial}/revoke", cast.enterprise, {"reason": "superseded"})
    after = samples(client)

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("delegato_certificates_issued_total", basis="registry") == 1
    assert delta("delegato_issuance_seconds_count") == 1
    assert delta("delegato_revocations_total", reason="superseded", source="holder") == 1
    assert delta(
        "delegato_http_requests_total", endpoint="/v1/certificates", method="POST", status="201"
    ) == 1
    sca = services.issuers.active_sca().id
    assert ("delegato_crl_age_seconds", (("issuer", sca),)) in after
    assert after[("delegato_crl_next_update_seconds", (("issuer", sca),))] > 0
