"""The issuance cycle as a user sees it: what gets signed, what gets stored, what gets refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca import oids
from ca.errors import CAError, ErrorKind
from ca.ra import CertificateRequest
from ca.storage import audit as audit_store
from ca.storage import repo
from ca.tnauth import TNAuthList, decode_strict
from tests.conftest import NOW, enterprise_holding, make_csr


def _request(
    services, org_id: str, *, tns=(), ranges=("12025550100:100",), **kw
) -> CertificateRequest:
    csr, _ = make_csr()
    return CertificateRequest(
        organization_id=org_id,
        csr=csr,
        tn_auth_list=TNAuthList.from_user(tns=tns, ranges=ranges),
        actor="operator:test",
        **kw,
    )


@pytest.fixture
def enterprise(services):
    return enterprise_holding(services)


def test_issued_certificate_carries_exactly_the_requested_numbers(services, enterprise):
    issued = services.ra.request_certificate(
        _request(services, enterprise.id, tns=("+1 202 555 0042",), ranges=("12025550100:100",))
    )
    ext = issued.certificate.extensions.get_extension_for_oid(oids.TN_AUTH_LIST)
    scope = decode_strict(ext.value.value)
    assert scope == TNAuthList.from_user(tns=["12025550042"], ranges=["12025550100:100"])
    assert ext.critical is False
    assert issued.x5u == f"{services.config.public_url}/certs/{issued.serial}.pem"
    assert issued.chain[1].subject == services.issuers.active_sca().certificate.subject


def test_csr_extensions_are_ignored(services, enterprise):
    csr, _ = make_csr(extensions=True)  # asks for cA=TRUE
    request = dataclasses.replace(_request(services, enterprise.id), csr=csr)
    issued = services.ra.request_certificate(request)
    constraints = issued.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is False


def test_validity_is_backdated_and_defaults_to_24h(services, enterprise):
    issued = services.ra.request_certificate(_request(services, enterprise.id))
    assert issued.not_before == NOW - dt.timedelta(minutes=5)
    assert issued.not_after == NOW + dt.timedelta(hours=24)


def test_lifetime_above_maximum_is_refused(services, enterprise):
    with pytest.raises(CAError) as info:
        services.ra.request_certificate(
            _request(services, enterprise.id, lifetime=dt.timedelta(days=8))
        )
    assert info.value.field == "lifetime"


def test_not_after_never_passes_the_issuer(services, enterprise, clock):
    sca = services.issuers.active_sca()
    clock.set(sca.certificate.not_valid_after_utc - dt.timedelta(hours=2))
    # The registry's assignment has long ended by then: an audited operator override.
    request = _request(services, enterprise.id, operator_reason="issuer end test")
    issued = services.ra.request_certificate(request)
    assert issued.not_after == sca.certificate.not_valid_after_utc


def test_scope_outside_the_issuer_is_refused_naming_exactly_what_is_outside(services, enterprise):
    request = _request(
        services,
        enterprise.id,
        tns=("13035550100",),
        ranges=("12025559990:20", "12025550000:10"),
        operator_reason="even an operator override stays inside the issuer's TNAuthList",
    )
    with pytest.raises(CAError) as info:
        services.ra.request_certificate(request)
    assert info.value.kind is ErrorKind.OUT_OF_ISSUER_SCOPE
    outside = {sub.value for sub in info.value.subproblems}
    # 12025559990..99 is inside, 12025560000..09 is not; 12025550000:10 is inside.
    assert outside == {"12025560000:10", "13035550100"}


def test_non_p256_keys_are_refused(services, enterprise):
    key = ec.generate_private_key(ec.SECP384R1())
    csr, _ = make_csr(key)
    request = dataclasses.replace(_request(services, enterprise.id), csr=csr)
    with pytest.raises(CAError) as info:
        services.ra.request_certificate(request)
    assert info.value.kind is ErrorKind.BAD_PUBLIC_KEY
    assert "P-256" in info.value.detail


def test_tampered_csr_is_refused(services, enterprise):
    csr, _ = make_csr()
    der = x509.load_pem_x509_csr(csr).public_bytes(serialization.Encoding.DER)
    tampered = bytearray(der)
    tampered[-5] ^= 0x01  # inside the signature
    request = dataclasses.replace(_request(services, enterprise.id), csr=bytes(tampered))
    with pytest.raises(CAError) as info:
        services.ra.request_certificate(request)
    assert info.value.kind is ErrorKind.BAD_CSR


def test_a_tn_authority_cannot_hold_a_delegate_certificate(services):
    tnsp = services.organizations.add("tn_authority", "Carrier", "1234", actor="operator:test")
    with pytest.raises(CAError) as info:
        services.ra.request_certificate(_request(services, tnsp.id))
    assert info.value.kind is ErrorKind.FORBIDDEN


def test_every_certificate_has_an_intent_and_audit_events(services, enterprise):
    issued = services.ra.request_certificate(_request(services, enterprise.id))
    with services.storage.read() as session:
        intent = repo.get_intent(session, issued.serial)
        stored = repo.get_certificate(session, issued.serial)
        events = [e.action for e in audit_store.audit_events_for(session, issued.serial)]
    assert intent is not None and stored is not None
    assert x509.load_der_x509_certificate(intent.lint_der).tbs_certificate_bytes == (
        issued.certificate.tbs_certificate_bytes
    )
    assert events == ["certificate.signing", "certificate.signed"]


def test_a_crash_before_signing_leaves_an_intent_and_no_certificate(
    services, enterprise, monkeypatch
):
    sca = services.issuers.active_sca()

    def crash(token):
        raise RuntimeError("power cut")

    monkeypatch.setattr(sca.signer, "issue", crash)
    with pytest.raises(RuntimeError):
        services.ra.request_certificate(_request(services, enterprise.id))
    with services.storage.read() as session:
        from sqlalchemy import text  # tests may look at tables directly

        intents = session.execute(text("select serial from intents")).scalars().all()
        certificates = session.execute(text("select serial from certificates")).scalars().all()
    assert len(intents) == 1 and certificates == []


def test_a_template_that_fails_lint_is_never_signed(services, enterprise, monkeypatch):
    sca = services.issuers.active_sca()
    signed = []
    original_issue = sca.signer.issue
    monkeypatch.setattr(
        sca.signer, "issue", lambda token: signed.append(token) or original_issue(token)
    )
    # A profile demanding a 1-hour maximum makes the 24 h lint copy fail.
    strict = dataclasses.replace(services.authority._profile, max_validity=dt.timedelta(hours=1))
    monkeypatch.setattr(services.authority, "_profile", strict)
    with pytest.raises(CAError) as info:
        services.ra.request_certificate(_request(services, enterprise.id))
    assert info.value.kind is ErrorKind.LINT_FAILED
    assert info.value.subproblems
    assert signed == []
    with services.storage.read() as session:
        from sqlalchemy import text

        assert session.execute(text("select count(*) from intents")).scalar_one() == 0
        # The serial was reserved before the lint copy bore it, and stays reserved (never reused).
        assert session.execute(text("select count(*) from serials")).scalar_one() >= 1
        assert session.execute(text("select count(*) from certificates")).scalar_one() == 0


def test_serials_are_positive_fixed_width_and_distinct(services, enterprise):
    serials = {
        services.ra.request_certificate(_request(services, enterprise.id)).serial for _ in range(5)
    }
    assert len(serials) == 5
    for serial in serials:
        value = int(serial, 16)
        assert value.bit_length() == 127 and value > 0


def test_token_is_single_use(services, enterprise):
    from ca.issuance.template import CertificateTemplate, subject_name

    sca = services.issuers.active_sca()
    key = ec.generate_private_key(ec.SECP256R1())
    template = CertificateTemplate(
        profile=services.authority._profile,
        subject=subject_name("US", "Example", "SHAKEN Example"),
        public_key=key.public_key(),
        serial=(1 << 126) | 12345,
        not_before=NOW,
        not_after=NOW + dt.timedelta(hours=1),
        issuer_certificate=sca.certificate,
        tn_auth_list=TNAuthList.from_user(tns=["12025550100"]),
        crl_url=sca.crl_url,
    )
    token = sca.signer.prepare(template, NOW)
    sca.signer.issue(token)
    with pytest.raises(CAError, match="already used"):
        sca.signer.issue(token)


def test_the_real_signature_is_the_issuers_over_the_linted_tbs(services, enterprise):
    issued = services.ra.request_certificate(_request(services, enterprise.id))
    sca = services.issuers.active_sca()
    # Raises InvalidSignature unless the SCA's key signed exactly these TBS bytes.
    issued.certificate.verify_directly_issued_by(sca.certificate)
    with services.storage.read() as session:
        intent = repo.get_intent(session, issued.serial)
        stored = repo.get_certificate(session, issued.serial)
    assert intent is not None and stored is not None
    lint_copy = x509.load_der_x509_certificate(intent.lint_der)
    assert lint_copy.signature != issued.certificate.signature
    assert lint_copy.signature_algorithm_oid == issued.certificate.signature_algorithm_oid
    assert stored.der == issued.certificate.public_bytes(serialization.Encoding.DER)


def test_a_failure_inside_a_step_stores_nothing_of_that_step(services, enterprise, monkeypatch):
    refused = []

    def refuse(*args, **kwargs):
        refused.append(kwargs["action"])
        raise RuntimeError("disk full")

    # The intent is written, then the audit event fails: the step's transaction rolls back whole.
    monkeypatch.setattr(services.audit, "record", refuse)
    with pytest.raises(RuntimeError):
        services.ra.request_certificate(_request(services, enterprise.id))
    assert refused == ["certificate.signing"]
    with services.storage.read() as session:
        from sqlalchemy import text

        assert session.execute(text("select count(*) from intents")).scalar_one() == 0
        assert session.execute(text("select count(*) from certificates")).scalar_one() == 0


def test_a_serial_reserved_before_is_never_drawn_again(services, enterprise, monkeypatch):
    first = services.ra.request_certificate(_request(services, enterprise.id))
    fresh = range((1 << 126) | 1, (1 << 126) | 1000)
    # The next batch draws the used serial last, where the pool would hand it out first: it must
    # be left out of the reservation, never reissued.
    drawn = iter([*fresh[:63], int(first.serial, 16), *fresh[63:]])
    monkeypatch.setattr("ca.authority.draw_serial", lambda: next(drawn))
    services.authority._serials._free.clear()
    serials = {
        services.ra.request_certificate(_request(services, enterprise.id)).serial for _ in range(3)
    }
    assert first.serial not in serials and len(serials) == 3


def test_a_p384_issuer_signs_the_linted_tbs_with_sha384():
    from cryptography.hazmat.primitives import hashes

    from ca.issuance.issuer import Issuer, SigningIdentity
    from ca.issuance.profiles import load_profile
    from ca.issuance.template import CertificateTemplate, subject_name

    key = ec.generate_private_key(ec.SECP384R1())
    name = subject_name("US", "Example SCA", "SHAKEN Example SCA")
    issuer_certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA384())
    )

    class Keys:  # a key manager holding the one P-384 key
        def public_key(self, uri):
            return key.public_key()

        def signer(self, uri):
            return key

    issuer = Issuer(SigningIdentity("sca-384", issuer_certificate, (), "file:sca-384"), Keys())
    template = CertificateTemplate(
        profile=load_profile("delegate_ee"),
        subject=subject_name("US", "Example", "SHAKEN Example"),
        public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        serial=(1 << 126) | 384,
        not_before=NOW,
        not_after=NOW + dt.timedelta(hours=1),
        issuer_certificate=issuer_certificate,
        tn_auth_list=TNAuthList.from_user(tns=["12025550100"]),
        crl_url="http://127.0.0.1:8080/crl/sca-384.crl",
    )
    token = issuer.prepare(template, NOW)
    certificate = issuer.issue(token)
    certificate.verify_directly_issued_by(issuer_certificate)
    assert certificate.signature_hash_algorithm.name == "sha384"
    assert certificate.tbs_certificate_bytes == token.lint_certificate.tbs_certificate_bytes


def test_concurrent_issuances_are_each_stored_with_an_unbroken_audit_chain(services, enterprise):
    """Issuances in flight together share write transactions (group commit): each certificate
    still has its intent, its record and its two audit events, and the chain verifies."""
    issued, failures = [], []

    def issue() -> None:
        try:
            for _ in range(4):
                issued.append(services.ra.request_certificate(_request(services, enterprise.id)))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=issue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and len({c.serial for c in issued}) == 24
    with services.storage.read() as session:
        for certificate in issued:
            assert repo.get_intent(session, certificate.serial) is not None
            stored = repo.get_certificate(session, certificate.serial)
            assert stored is not None and stored.der == certificate.certificate.public_bytes(
                serialization.Encoding.DER
            )
            actions = [e.action for e in audit_store.audit_events_for(session, certificate.serial)]
            assert actions == ["certificate.signing", "certificate.signed"]
        assert services.audit.verify(session).ok
