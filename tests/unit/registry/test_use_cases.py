"""ATIS-1000089 use cases 1, 2, 4, 5, 8 and 9 (STANDARDS.md §9), end to end on both databases."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from ca.errors import CAError, ErrorKind
from ca.jws import sign_es256, verify_es256
from ca.ra import CertificateRequest
from tests.conftest import make_csr
from tests.unit.registry.parties import DAY, cast, issue, numbers, revocation, scope


def _status_signer_key(jws: str) -> tuple[x509.Certificate, list[x509.Certificate]]:
    header = json.loads(base64.urlsafe_b64decode(jws.split(".")[0] + "=="))
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
    return chain[0], chain


def test_use_case_1_tnsp_is_also_the_osp(services):
    """The enterprise's own TNSP originates its calls: it posts the numbers, checks the status
    and the enterprise signs with a delegate certificate for exactly those numbers."""
    c = cast(services)
    services.registry.assign(
        c.tnsp_a.id,
        c.acme.id,
        scope("12025550100:100"),
        services.clock.now() + 30 * DAY,
        actor="tnsp-a",
        evidence="customer contract 17",
    )
    cert = issue(services, c.acme)  # no numbers named: all it may use now
    assert numbers(cert) == scope("12025550100:100")
    status = services.registry.status("+1 (202) 555-0150", c.acme.id).status
    assert status["assigned"] is True
    assert status["holders"][0]["authority"] == {
        "id": c.tnsp_a.id,
        "name": "TNSP A",
        "spid": "111A",
    }


def test_use_case_2_number_from_tnsp_a_call_through_osp_b(services):
    """TNSP A vouches for the number; OSP B, which did not assign it, checks the signed status
    offline against the STI-CA root it trusts and keeps it as evidence for attestation A."""
    c = cast(services)
    services.registry.assign(
        c.tnsp_a.id,
        c.acme.id,
        scope("12025550100"),
        services.clock.now() + 30 * DAY,
        actor="tnsp-a",
        evidence="LOA 2291",
    )
    signed = services.registry.status("12025550100", c.acme.id)
    leaf, chain = _status_signer_key(signed.jws)
    root = x509.load_pem_x509_certificate(services.config.pki_dir.joinpath("root.pem").read_bytes())
    leaf.verify_directly_issued_by(chain[1])
    chain[1].verify_directly_issued_by(root)
    _header, payload = verify_es256(signed.jws, leaf.public_key())
    assert payload["holders"][0]["enterprise"]["id"] == c.acme.id
    assert payload["holders"][0]["authority"]["spid"] == "111A"
    # A status naming another enterprise says so, signed too.
    other = services.registry.status("12025550100", c.globex.id).status
    assert other["assigned"] is False and other["holders"] == []


def test_use_case_4_toll_free_shared_by_several_enterprises(services):
    """A RespOrg assigns one toll-free number to two enterprises; both may sign for it.
    A geographic number may not be shared."""
    c = cast(services)
    until = services.clock.now() + 30 * DAY
    for enterprise in (c.acme, c.globex):
        services.registry.assign(
            c.resporg.id, enterprise.id, scope("18885550100"), until, actor="rsp"
        )
    assert numbers(issue(services, c.acme, "18885550100")) == scope("18885550100")
    assert numbers(issue(services, c.globex, "18885550100")) == scope("18885550100")
    holders = services.registry.status("18885550100").status["holders"]
    assert {h["enterprise"]["id"] for h in holders} == {c.acme.id, c.globex.id}
    assert services.registry.status("18885550100").status["toll_free"] is True
    services.registry.assign(c.tnsp_a.id, c.acme.id, scope("12025550100"), until, actor="a")
    with pytest.raises(CAError) as info:
        services.registry.assign(c.tnsp_a.id, c.globex.id, scope("12025550100"), until, actor="a")
    assert info.value.kind is ErrorKind.CONFLICT


def test_use_case_5_enterprise_signs_its_own_calls(services):
    """A regulated enterprise holds a delegate certificate and signs PASSporTs with its key;
    the certificate chains to the STI-CA root and covers the calling number."""
    c = cast(services)
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:10"), services.clock.now() + 30 * DAY, actor="a"
    )
    key = ec.generate_private_key(ec.SECP256R1())
    csr, _ = make_csr(key)
    issued = services.ra.request_certificate(CertificateRequest(c.acme.id, csr, None, "acme"))
    root = x509.load_pem_x509_certificate(services.config.pki_dir.joinpath("root.pem").read_bytes())
    leaf, sca = issued.chain[0], issued.chain[1]
    leaf.verify_directly_issued_by(sca)
    sca.verify_directly_issued_by(root)
    assert numbers(leaf).covers("12025550105") and not numbers(leaf).covers("12025550110")
    passport = sign_es256(
        {"ppt": "shaken", "typ": "passport", "x5u": issued.x5u},
        {
            "attest": "A",
            "dest": {"tn": ["12155551213"]},
            "iat": 1_800_000_000,
            "orig": {"tn": "12025550105"},
            "origid": "123e4567-e89b-12d3-a456-426655440000",
        },
        key,
    )
    _, payload = verify_es256(passport, leaf.public_key())
    assert payload["orig"]["tn"] == "12025550105"
    # The holder's own key signs its calls; Delegato never holds it.
    assert leaf.public_key().public_numbers() == key.public_key().public_numbers()


def test_use_case_8_contact_centre_until_the_campaign_ends(services, clock):
    """An enterprise delegates some of its numbers to a contact centre until the campaign ends:
    the certificate never outlives the campaign, and ending the campaign early revokes it."""
    c = cast(services)
    now = clock.now()
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550000:1000"), now + 90 * DAY, actor="a"
    )
    campaign = services.registry.delegate(
        c.acme.id,
        c.callco.id,
        scope("12025550100:50"),
        now + 2 * DAY,
        actor="acme",
        evidence="campaign Q4",
    )
    cert = issue(services, c.callco, lifetime=7 * DAY)
    assert numbers(cert) == scope("12025550100:50")
    assert cert.not_valid_after_utc == now + 2 * DAY  # capped by the campaign's end
    with pytest.raises(CAError) as info:
        issue(services, c.callco, "12025550100:51")
    assert info.value.kind is ErrorKind.TN_NOT_AUTHORIZED
    assert [s.value for s in info.value.subproblems] == ["12025550150"]
    # The enterprise ends the campaign a day early: the contact centre's certificate is revoked
    # at once and the CRL says so.
    clock.advance(DAY)
    services.registry.release(campaign.grant.id, "campaign_ended", actor="acme")
    assert revocation(services, cert) == "cessationOfOperation"
    crl = x509.load_der_x509_crl(services.crls.latest(services.issuers.active_sca().id).der)
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    with pytest.raises(CAError) as info:
        issue(services, c.callco)
    assert info.value.kind is ErrorKind.TN_NOT_AUTHORIZED


def test_use_case_9_port_between_tnsps_keeps_full_attestation(services, clock):
    """The enterprise ports its numbers from TNSP A to TNSP B: the right continues without a
    gap, nothing is revoked, and the audit trail shows both sides of the port."""
    c = cast(services)
    now = clock.now()
    old = services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:100"), now + 60 * DAY, actor="a", evidence="LOA"
    )
    services.registry.delegate(
        c.acme.id, c.callco.id, scope("12025550120:5"), now + 10 * DAY, actor="acme"
    )
    enterprise_cert = issue(services, c.acme)
    bpo_cert = issue(services, c.callco)
    clock.advance(DAY)
    moved = services.registry.transfer(
        old.grant.id, c.tnsp_b.id, actor="tnsp-b", evidence="port 881"
    )
    assert moved.whole and moved.new.grantor_id == c.tnsp_b.id
    report = services.reconciler.reconcile()
    assert report.revoked == []
    assert revocation(services, enterprise_cert) is None and revocation(services, bpo_cert) is None
    # No gap: authorized just before and at the instant of the port.
    at = clock.now()
    before = services.registry.authorize(
        c.acme.id, scope("12025550100:100"), at - dt.timedelta(microseconds=1)
    )
    after = services.registry.authorize(c.acme.id, scope("12025550100:100"), at)
    assert before.evidence[0].assignment_id == old.grant.id
    assert after.evidence[0].assignment_id == moved.new.id
    status = services.registry.status("12025550150").status
    assert status["holders"][0]["authority"]["spid"] == "222B"
    actions = [
        e["action"]
        for e in services.registry.trace("12025550150", at)["holders"][0]["assignment"]["events"]
    ]
    assert actions == ["assignment.created"]
    with services.storage.read() as session:
        from ca.storage import audit as audit_store

        old_events = [e.action for e in audit_store.audit_events_for(session, old.grant.id)]
    assert old_events == ["assignment.created", "assignment.transferred"]
