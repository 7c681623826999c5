"""The lifecycle over HTTP, as a carrier's engineer drives it: assign, delegate, issue, publish,
revoke, status — each answer checked for what a client reads."""

from __future__ import annotations

from cryptography import x509

from tests.conftest import make_csr
from tests.unit.api.conftest import Cast, call

RANGE = {"start": "12025550000", "count": 100}


def assign(client, cast: Cast, **body):
    payload = {"enterprise": cast.enterprise.id, "ranges": [RANGE], "expires_at": "+30d"}
    payload.update(body)
    return call(client, "POST", "/v1/assignments", cast.tnsp, payload)


def delegate(client, cast: Cast, **body):
    payload = {"bpo": cast.bpo.id, "ranges": [{"start": "12025550000", "count": 10}]}
    payload.update({"expires_at": "+7d", **body})
    return call(client, "POST", "/v1/delegations", cast.enterprise, payload)


def issue(client, caller, **body):
    csr, key = make_csr()
    response = call(client, "POST", "/v1/certificates", caller, {"csr": csr.decode(), **body})
    return response, key


def test_assignment_is_created_once_and_a_second_holder_is_refused(client, cast):
    first = assign(client, cast, evidence="LOA 7")
    assert first.status_code == 201
    assert first.json["id"].startswith("asg-")
    assert first.json["ranges"] == [RANGE] and first.json["tns"] == []
    assert (first.json["authority"], first.json["enterprise"]) == (cast.tnsp.id, cast.enterprise.id)

    again = assign(client, cast, evidence="LOA 7", expires_at=first.json["expires_at"])
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert again.json["outcome"] == "unchanged"

    other = call(
        client,
        "POST",
        "/v1/assignments",
        cast.other_tnsp,
        {"enterprise": cast.other_enterprise.id, "tns": ["12025550042"], "expires_at": "+1d"},
    )
    assert other.status_code == 409
    assert other.headers["Content-Type"] == "application/problem+json"
    assert other.json["type"].endswith(":conflict")
    assert first.json["id"] in other.json["detail"]
    assert "12025550042" in str(other.json["errors"])


def test_a_tn_authority_posts_only_in_its_own_name(client, cast):
    response = assign(client, cast, authority=cast.other_tnsp.id)
    assert response.status_code == 403 and response.json["field"] == "authority"
    by_operator = call(
        client,
        "POST",
        "/v1/assignments",
        cast.operator,
        {
            "authority": cast.other_tnsp.id,
            "enterprise": cast.enterprise.id,
            "tns": ["12025550500"],
            "expires_at": "+1d",
        },
    )
    assert by_operator.status_code == 201 and by_operator.json["authority"] == cast.other_tnsp.id


def test_bpo_gets_a_certificate_for_its_delegated_numbers_only(client, cast):
    assert assign(client, cast).status_code == 201
    delegation = delegate(client, cast)
    assert delegation.status_code == 201 and delegation.json["bpo"] == cast.bpo.id

    response, _key = issue(client, cast.bpo)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["ranges"] == [{"start": "12025550000", "count": 10}]
    assert body["x5u"].endswith(f"/certs/{body['serial']}.pem")
    chain = x509.load_pem_x509_certificates(body["chain"].encode())
    assert format(chain[0].serial_number, "x") == body["serial"]
    assert chain[0].not_valid_after_utc.isoformat() == body["not_after"]

    outside, _ = issue(client, cast.bpo, tns=["12025550010", "12025550003"])
    assert outside.status_code == 403 and outside.json["type"].endswith(":tn-not-authorized")
    assert [e["value"] for e in outside.json["errors"]] == ["12025550010"]


def test_the_x5u_serves_the_chain_with_repository_headers(client, cast, services):
    assign(client, cast)
    response, _ = issue(client, cast.enterprise, tns=["12025550001"])
    x5u_path = "/certs/" + response.json["serial"] + ".pem"
    fetched = client.get(x5u_path)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"] == "application/pem-certificate-chain"
    assert fetched.data.decode() == response.json["chain"]
    cache = fetched.headers["Cache-Control"]
    assert "immutable" in cache and "public" in cache
    max_age = int(cache.split("max-age=")[1].split(",")[0])
    not_after = x509.load_pem_x509_certificates(fetched.data)[0].not_valid_after_utc
    assert abs(max_age - (not_after - services.clock.now()).total_seconds()) <= 1
    assert client.get(x5u_path, headers={"If-None-Match": fetched.headers["ETag"]}).status_code == 304
    assert client.get(x5u_path.upper()).status_code == 404  # one spelling per URL
    assert client.get("/certs/00.pem").status_code == 404


def test_revocation_publishes_a_crl_listing_the_serial(client, cast):
    assign(client, cast)
    response, _ = issue(client, cast.enterprise, tns=["12025550001"])
    serial = response.json["serial"]
    revoked = call(
        client, "POST", f"/v1/certificates/{serial}/revoke", cast.enterprise, {"reason": "keyCompromise"}
    )
    assert revoked.status_code == 200 and revoked.json["reason"] == "keyCompromise"
    crl_response = client.get(f"/crl/{revoked.json['issuer']}.crl")
    assert crl_response.headers["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(crl_response.data)
    assert crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None
    again = call(
        client, "POST", f"/v1/certificates/{serial}/revoke", cast.enterprise, {"reason": "superseded"}
    )
    assert again.status_code == 409
    shown = call(client, "GET", f"/v1/certificates/{serial}", cast.enterprise)
    assert shown.json["status"] == "revoked"
    withdrawn = call(
        client,
        "POST",
        f"/v1/certificates/{serial}/revoke",
        cast.enterprise,
        {"reason": "privilegeWithdrawn"},
    )
    assert withdrawn.status_code == 403 and withdrawn.json["field"] == "reason"


def test_certificates_list_newest_first_in_pages(client, cast):
    assign(client, cast)
    serials = [issue(client, cast.enterprise, tns=["12025550001"])[0].json["serial"] for _ in range(3)]
    first = call(client, "GET", "/v1/certificates?limit=2", cast.enterprise)
    assert first.status_code == 200 and len(first.json["certificates"]) == 2
    second = call(client, "GET", f"/v1/certificates?limit=2&before={first.json['next']}", cast.enterprise)
    listed = [c["serial"] for c in first.json["certificates"] + second.json["certificates"]]
    assert sorted(listed) == sorted(serials) and second.json["next"] is None
    assert call(client, "GET", "/v1/certificates", cast.other_enterprise).json["certificates"] == []
    assert call(client, "GET", "/v1/certificates?limit=0", cast.enterprise).status_code == 400


def test_ending_a_delegation_revokes_the_bpo_certificate(client, cast):
    assign(client, cast)
    delegation = delegate(client, cast).json
    serial = issue(client, cast.bpo)[0].json["serial"]
    ended = call(client, "DELETE", f"/v1/delegations/{delegation['id']}?reason=campaign_ended", cast.enterprise)
    assert ended.status_code == 200 and ended.json["end_reason"] == "campaign_ended"
    shown = call(client, "GET", f"/v1/certificates/{serial}", cast.bpo).json
    assert shown["status"] == "revoked"
    assert shown["revocation"]["reason"] == "cessationOfOperation"  # the campaign is over


def test_release_needs_a_known_reason(client, cast):
    assignment = assign(client, cast).json
    missing = call(client, "DELETE", f"/v1/assignments/{assignment['id']}", cast.tnsp)
    assert missing.status_code == 400 and missing.json["field"] == "reason"
    bad = call(client, "DELETE", f"/v1/assignments/{assignment['id']}?reason=bored", cast.tnsp)
    assert bad.status_code == 400 and "released" in bad.json["detail"]
    ok = call(client, "DELETE", f"/v1/assignments/{assignment['id']}?reason=released", cast.tnsp)
    assert ok.status_code == 200 and ok.json["ended_at"] is not None
    twice = call(client, "DELETE", f"/v1/assignments/{assignment['id']}?reason=released", cast.tnsp)
    assert twice.status_code == 409


def test_transfer_between_authorities_keeps_the_right(client, cast):
    assignment = assign(client, cast).json
    response, _ = issue(client, cast.enterprise, tns=["12025550001"])
    moved = call(
        client,
        "POST",
        "/v1/assignments/transfer",
        cast.other_tnsp,
        {"assignment": assignment["id"], "to_authority": cast.other_tnsp.id},
    )
    assert moved.status_code == 201, moved.json
    assert moved.json["whole"] is True and moved.json["to"]["authority"] == cast.other_tnsp.id
    assert moved.json["to"]["transferred_from"] == assignment["id"]
    shown = call(client, "GET", f"/v1/certificates/{response.json['serial']}", cast.enterprise)
    assert shown.json["status"] == "valid"


def test_tn_status_is_signed_and_open_to_verifier_keys(client, cast):
    assign(client, cast)
    for caller in (cast.tnsp, cast.operator, cast.verifier):
        response = call(client, "GET", "/v1/tn-status?tn=12025550001", caller)
        assert response.status_code == 200
        assert response.json["jws"].count(".") == 2
        assert response.json["status"]["holders"][0]["enterprise"]["id"] == cast.enterprise.id
    assert call(client, "GET", "/v1/tn-status?tn=12025550001", cast.enterprise).status_code == 403
    assert call(client, "GET", "/v1/tn-status", cast.tnsp).json["field"] == "tn"


def test_operators_onboard_organizations_and_keys(client, cast, services):
    made = call(
        client, "POST", "/v1/organizations", cast.operator, {"kind": "bpo", "name": "NewCo"}
    )
    assert made.status_code == 201 and made.json["kind"] == "bpo"
    key = call(client, "POST", f"/v1/organizations/{made.json['id']}/keys", cast.operator, {"role": "bpo"})
    assert key.status_code == 201 and key.json["key"].startswith("dlg_")
    principal = services.api_keys.authenticate(key.json["key"])
    assert principal.organization.id == made.json["id"]
    wrong_role = call(
        client, "POST", f"/v1/organizations/{made.json['id']}/keys", cast.operator, {"role": "enterprise"}
    )
    assert wrong_role.status_code == 400 and wrong_role.json["field"] == "role"
    assert call(client, "POST", "/v1/organizations", cast.tnsp, {"kind": "bpo", "name": "x"}).status_code == 403
