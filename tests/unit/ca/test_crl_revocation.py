"""Revocation and CRLs, direct and indirect, as a verifier would read them."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from cryptography import x509

from ca.errors import CAError, ErrorKind
from ca.ra import CertificateRequest
from ca.revocation import RevocationReason
from ca.tnauth import TNAuthList
from tests.conftest import NOW, enterprise_holding, make_csr, make_services


def _issue(services, org_id):
    csr, _ = make_csr()
    return services.ra.request_certificate(
        CertificateRequest(
            org_id, csr, TNAuthList.from_user(ranges=["12025550100:10"]), "operator:test"
        )
    )


def _crl(services, issuer_id) -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(services.crls.latest(issuer_id).der)


def test_revocation_is_listed_on_the_next_crl_with_its_reason(services):
    org = enterprise_holding(services, "Example")
    issued = _issue(services, org.id)
    services.ra.revoke(issued.serial, RevocationReason.KEY_COMPROMISE, actor="t", operator=True)
    crl = _crl(services, issued.issuer_id)
    entry = crl.get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.key_compromise
    )
    assert crl.is_signature_valid(services.issuers.active_sca().certificate.public_key())
    idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
    assert idp.critical and not idp.value.indirect_crl
    assert idp.value.full_name[0].value == services.config.crl_url(issued.issuer_id)


def test_crl_times_and_numbers(services, clock):
    sca = services.issuers.active_sca().id
    first = services.crls.generate(sca)
    clock.advance(dt.timedelta(minutes=1))
    second = services.crls.generate(sca)
    assert second.number == first.number + 1
    crl = _crl(services, sca)
    assert crl.last_update_utc == NOW + dt.timedelta(minutes=1)
    assert crl.next_update_utc == crl.last_update_utc + dt.timedelta(hours=12)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == second.number


def test_unspecified_reason_has_no_reason_code(services):
    org = enterprise_holding(services, "Example")
    issued = _issue(services, org.id)
    services.ra.revoke(issued.serial, RevocationReason.UNSPECIFIED, actor="t", operator=True)
    entry = _crl(services, issued.issuer_id).get_revoked_certificate_by_serial_number(
        issued.certificate.serial_number
    )
    assert entry is not None and len(entry.extensions) == 0


def test_revoking_twice_is_a_conflict(services):
    org = enterprise_holding(services, "Example")
    issued = _issue(services, org.id)
    services.ra.revoke(issued.serial, RevocationReason.SUPERSEDED, actor="t", operator=True)
    with pytest.raises(CAError) as info:
        services.ra.revoke(issued.serial, RevocationReason.SUPERSEDED, actor="t", operator=True)
    assert info.value.kind is ErrorKind.CONFLICT


def test_holders_cannot_use_operator_reasons_nor_touch_others(services):
    org = enterprise_holding(services, "Example")
    other = enterprise_holding(services, "Other", ranges=("18885550000:10",))
    issued = _issue(services, org.id)
    with pytest.raises(CAError) as info:
        services.ra.revoke(
            issued.serial,
            RevocationReason.PRIVILEGE_WITHDRAWN,
            actor="t",
            operator=False,
            organization_id=org.id,
        )
    assert info.value.kind is ErrorKind.FORBIDDEN
    with pytest.raises(CAError) as info:
        services.ra.revoke(
            issued.serial,
            RevocationReason.KEY_COMPROMISE,
            actor="t",
            operator=False,
            organization_id=other.id,
        )
    assert info.value.kind is ErrorKind.NOT_FOUND


def test_unknown_serial_and_bad_reason(services):
    with pytest.raises(CAError) as info:
        services.ra.revoke("abc123", RevocationReason.SUPERSEDED, actor="t", operator=True)
    assert info.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(CAError) as info:
        RevocationReason.parse("certificateHold")
    assert info.value.field == "reason"
    assert RevocationReason.parse("key-compromise") is RevocationReason.KEY_COMPROMISE


def test_indirect_crl_names_the_certificate_issuer(tmp_path: Path, clock):
    services = make_services(
        tmp_path / "home", f"sqlite:///{tmp_path / 'd.db'}", clock, crl_model="indirect"
    )
    try:
        sca = services.issuers.active_sca()
        signer = services.issuers.crl_signer_for(sca)
        assert signer.id != sca.id
        usage = sca.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.key_cert_sign and not usage.crl_sign
        org = enterprise_holding(services, "Example")
        issued = _issue(services, org.id)
        point = issued.certificate.extensions.get_extension_for_class(
            x509.CRLDistributionPoints
        ).value[0]
        assert point.crl_issuer[0].value == signer.certificate.subject
        services.ra.revoke(
            issued.serial, RevocationReason.AFFILIATION_CHANGED, actor="t", operator=True
        )
        crl = _crl(services, sca.id)
        assert crl.issuer == signer.certificate.subject
        assert crl.is_signature_valid(signer.certificate.public_key())
        assert crl.extensions.get_extension_for_class(
            x509.IssuingDistributionPoint
        ).value.indirect_crl
        entry = crl.get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
        issuer_ext = entry.extensions.get_extension_for_class(x509.CertificateIssuer)
        assert issuer_ext.critical and issuer_ext.value[0].value == sca.certificate.subject
    finally:
        services.close()


@pytest.mark.postgres
def test_crl_numbers_are_monotonic_under_concurrent_writers(
    tmp_path: Path, clock, postgres_cluster
):
    from tests.support.pgcluster import create_database

    url = create_database(postgres_cluster, "crl_concurrency")
    services = make_services(tmp_path / "home", url, clock)
    try:
        sca = services.issuers.active_sca().id
        numbers: list[int] = []
        lock = threading.Lock()

        def worker():
            for _ in range(5):
                record = services.crls.generate(sca)
                with lock:
                    numbers.append(record.number)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(numbers) == 40 and len(set(numbers)) == 40
        assert services.crls.latest(sca).number == max(numbers)
    finally:
        services.close()
