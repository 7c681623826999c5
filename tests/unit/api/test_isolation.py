"""Tenant isolation: every role of another organization, on every endpoint that names an object,
gets 403 or 404 — never the object, never a change to it."""

from __future__ import annotations

import pytest

from tests.conftest import make_csr
from tests.unit.api.conftest import Cast, call


@pytest.fixture
def world(client, cast: Cast) -> dict[str, str]:
    """Objects of one tenant family: TNSP A -> Acme -> CallCo, with a certificate and a
    subscription each."""
    assignment = call(
        client,
        "POST",
        "/v1/assignments",
        cast.tnsp,
        {
            "enterprise": cast.enterprise.id,
            "ranges": [{"start": "12025550000", "count": 100}],
            "expires_at": "+30d",
            "evidence": "LOA secret-123",
        },
    ).json
    delegation = call(
        client,
        "POST",
        "/v1/delegations",
        cast.enterprise,
        {"bpo": cast.bpo.id, "tns": ["12025550001"], "expires_at": "+7d"},
    ).json
    csr, _ = make_csr()
    certificate = call(client, "POST", "/v1/certificates", cast.enterprise, {"csr": csr.decode()}).json
    subscription = call(
        client, "POST", "/v1/subscriptions", cast.bpo, {"csr": make_csr()[0].decode()}
    ).json
    return {
        "assignment": assignment["id"],
        "delegation": delegation["id"],
        "serial": certificate["serial"],
        "subscription": subscription["id"],
        "enterprise": cast.enterprise.id,
        "bpo": cast.bpo.id,
        "tnsp": cast.tnsp.id,
    }


def requests_on(w: dict[str, str]) -> list[tuple[str, str, dict | None]]:
    """Every endpoint that reads, changes or acts in the name of another tenant's object."""
    csr = make_csr()[0].decode()
    return [
        ("GET", f"/v1/assignments/{w['assignment']}", None),
        ("DELETE", f"/v1/assignments/{w['assignment']}?reason=released", None),
        ("POST", "/v1/assignments/transfer", {"assignment": w["assignment"], "to_authority": w["tnsp"]}),
        (
            "POST",
            "/v1/assignments",
            {"authority": w["tnsp"], "enterprise": w["enterprise"], "tns": ["12025550500"], "expires_at": "+1d"},
        ),
        ("GET", f"/v1/delegations/{w['delegation']}", None),
        ("DELETE", f"/v1/delegations/{w['delegation']}?reason=ended", None),
        (
            "POST",
            "/v1/delegations",
            {"enterprise": w["enterprise"], "bpo": w["bpo"], "tns": ["12025550002"], "expires_at": "+1d"},
        ),
        ("GET", f"/v1/certificates/{w['serial']}", None),
        ("POST", f"/v1/certificates/{w['serial']}/revoke", {"reason": "keyCompromise"}),
        ("GET", f"/v1/certificates?organization={w['enterprise']}", None),
        ("POST", "/v1/certificates", {"csr": csr, "organization": w["enterprise"]}),
        ("GET", f"/v1/subscriptions/{w['subscription']}", None),
        ("DELETE", f"/v1/subscriptions/{w['subscription']}", None),
        ("GET", f"/v1/subscriptions?organization={w['bpo']}", None),
        ("POST", f"/v1/organizations/{w['enterprise']}/keys", {"role": "enterprise"}),
        ("POST", "/v1/organizations", {"kind": "enterprise", "name": "Sneaky"}),
    ]


SECRETS = ("LOA secret-123", "12025550000", "-----BEGIN CERTIFICATE-----")


def test_another_organization_never_sees_or_touches_an_object(client, cast, world, services):
    outsiders = {
        "tn_authority": cast.other_tnsp,
        "enterprise": cast.other_enterprise,
        "bpo": cast.other_bpo,
        "verifier": cast.verifier,
    }
    checked = 0
    for method, path, body in requests_on(world):
        for role, caller in outsiders.items():
            response = call(client, method, path, caller, body)
            where = f"{role} {method} {path}"
            assert response.status_code in (403, 404), (where, response.status_code, response.json)
            assert response.headers["Content-Type"] == "application/problem+json", where
            text = response.get_data(as_text=True)
            for secret in SECRETS:
                assert secret not in text, (where, secret)
            checked += 1
    assert checked == 4 * len(requests_on(world))

    # ... and nothing changed.
    assert call(client, "GET", f"/v1/assignments/{world['assignment']}", cast.tnsp).json["ended_at"] is None
    assert call(client, "GET", f"/v1/delegations/{world['delegation']}", cast.bpo).json["ended_at"] is None
    assert call(client, "GET", f"/v1/certificates/{world['serial']}", cast.enterprise).json["status"] == "valid"
    sub = call(client, "GET", f"/v1/subscriptions/{world['subscription']}", cast.bpo).json
    assert sub["status"] == "active"


def test_the_parties_themselves_do_see_their_objects(client, cast, world):
    for caller, path in (
        (cast.tnsp, f"/v1/assignments/{world['assignment']}"),
        (cast.enterprise, f"/v1/assignments/{world['assignment']}"),
        (cast.enterprise, f"/v1/delegations/{world['delegation']}"),
        (cast.bpo, f"/v1/delegations/{world['delegation']}"),
        (cast.enterprise, f"/v1/certificates/{world['serial']}"),
        (cast.bpo, f"/v1/subscriptions/{world['subscription']}"),
        (cast.operator, f"/v1/certificates/{world['serial']}"),
        (cast.operator, f"/v1/subscriptions/{world['subscription']}"),
    ):
        assert call(client, "GET", path, caller).status_code == 200, (caller.org.kind, path)


def test_keys_are_hashed_at_rest(client, cast, services):
    made = call(
        client, "POST", f"/v1/organizations/{cast.bpo.id}/keys", cast.operator, {"role": "bpo"}
    ).json
    secret = made["key"].split("_", 2)[2]
    dump = services.storage.engine.raw_connection()
    try:
        cursor = dump.cursor()
        cursor.execute("SELECT * FROM api_keys")
        stored = repr(cursor.fetchall())
    finally:
        dump.close()
    assert made["id"] in stored
    assert secret not in stored and made["key"] not in stored
    for caller in cast.all().values():
        assert caller.key.split("_", 2)[2] not in stored
