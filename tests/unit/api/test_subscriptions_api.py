"""Subscriptions over HTTP: the holder registers once and reads its current certificate from the
subscription; renewals move it; a lapse shrinks it; the end revokes."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca.jobs import run_all_once
from tests.conftest import make_csr
from tests.unit.api.conftest import call


def setup_bpo(client, cast, delegated=("12025550001", "12025550005"), until="+7d"):
    call(
        client,
        "POST",
        "/v1/assignments",
        cast.tnsp,
        {"enterprise": cast.enterprise.id, "ranges": [{"start": "12025550000", "count": 10}], "expires_at": "+30d"},
    )
    return [
        call(
            client,
            "POST",
            "/v1/delegations",
            cast.enterprise,
            {"bpo": cast.bpo.id, "tns": [tn], "expires_at": until},
        ).json
        for tn in delegated
    ]


def test_subscribe_with_a_csr_and_read_the_current_certificate(client, cast):
    setup_bpo(client, cast)
    made = call(
        client, "POST", "/v1/subscriptions", cast.bpo, {"csr": make_csr()[0].decode(), "lifetime": "1h"}
    )
    assert made.status_code == 201, made.json
    sub = made.json
    assert sub["status"] == "active" and sub["tns"] == ["12025550001", "12025550005"]
    assert sub["x5u"].endswith(f"/certs/{sub['serial']}.pem")
    assert client.get(f"/certs/{sub['serial']}.pem").status_code == 200
    shown = call(client, "GET", f"/v1/subscriptions/{sub['id']}", cast.bpo).json
    assert (shown["serial"], shown["x5u"], shown["not_after"]) == (sub["serial"], sub["x5u"], sub["not_after"])
    listed = call(client, "GET", "/v1/subscriptions", cast.bpo).json["subscriptions"]
    assert [s["id"] for s in listed] == [sub["id"]]


def test_a_public_key_subscription_is_renewed_before_expiry(client, cast, services, clock):
    setup_bpo(client, cast)
    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sub = call(
        client, "POST", "/v1/subscriptions", cast.bpo, {"public_key": public.decode(), "lifetime": "1h"}
    ).json
    clock.advance(dt.timedelta(minutes=45))  # past 2/3 of the certificate's life
    run_all_once(services)
    renewed = call(client, "GET", f"/v1/subscriptions/{sub['id']}", cast.bpo).json
    assert renewed["serial"] != sub["serial"] and renewed["not_after"] > sub["not_after"]
    assert renewed["status"] == "active"


def test_a_lapse_shrinks_the_next_certificate_and_the_end_ends_it(client, cast):
    first, second = setup_bpo(client, cast)
    sub = call(client, "POST", "/v1/subscriptions", cast.bpo, {"csr": make_csr()[0].decode()}).json
    call(client, "DELETE", f"/v1/delegations/{first['id']}?reason=campaign_ended", cast.enterprise)
    shrunk = call(client, "GET", f"/v1/subscriptions/{sub['id']}", cast.bpo).json
    assert shrunk["serial"] != sub["serial"] and shrunk["tns"] == ["12025550005"]
    old = call(client, "GET", f"/v1/certificates/{sub['serial']}", cast.bpo).json
    assert old["status"] == "revoked"

    call(client, "DELETE", f"/v1/delegations/{second['id']}?reason=campaign_ended", cast.enterprise)
    ended = call(client, "GET", f"/v1/subscriptions/{sub['id']}", cast.bpo).json
    assert ended["status"] == "ended" and ended["end_reason"] == "unauthorized"


def test_cancel_revokes_the_current_certificate(client, cast):
    setup_bpo(client, cast)
    sub = call(client, "POST", "/v1/subscriptions", cast.bpo, {"csr": make_csr()[0].decode()}).json
    cancelled = call(client, "DELETE", f"/v1/subscriptions/{sub['id']}", cast.bpo)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "ended"
    cert = call(client, "GET", f"/v1/certificates/{sub['serial']}", cast.bpo).json
    assert cert["status"] == "revoked" and cert["revocation"]["reason"] == "cessationOfOperation"


def test_subscription_input_rules(client, cast):
    setup_bpo(client, cast)
    csr = make_csr()[0].decode()
    neither = call(client, "POST", "/v1/subscriptions", cast.bpo, {})
    assert neither.status_code == 400
    both = call(client, "POST", "/v1/subscriptions", cast.bpo, {"csr": csr, "public_key": csr})
    assert both.status_code == 400
    too_long = call(client, "POST", "/v1/subscriptions", cast.bpo, {"csr": csr, "lifetime": "30d"})
    assert too_long.status_code == 400 and too_long.json["field"] == "lifetime"
    outside = call(client, "POST", "/v1/subscriptions", cast.bpo, {"csr": csr, "tns": ["12025550009"]})
    assert outside.status_code == 403 and outside.json["type"].endswith(":tn-not-authorized")
    by_tnsp = call(client, "POST", "/v1/subscriptions", cast.tnsp, {"csr": csr})
    assert by_tnsp.status_code == 403
