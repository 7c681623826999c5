"""OpenSSL's command line accepts what Delegato issues, and rejects what it revokes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ca.clock import SystemClock
from ca.ra import CertificateRequest
from ca.revocation import RevocationReason
from ca.tnauth import TNAuthList
from tests.conftest import enterprise_holding, make_csr, make_services

pytestmark = pytest.mark.interop

OPENSSL = shutil.which("openssl")


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    assert OPENSSL, "openssl is required (scripts/test installs it)"
    return subprocess.run([OPENSSL, *args], capture_output=True, text=True)


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(params=["direct", "indirect"])
def issued(request, tmp_path):
    # openssl checks validity against the real clock, so this CA runs on the system clock.
    services = make_services(
        tmp_path / "home", f"sqlite:///{tmp_path / 'd.db'}", SystemClock(), crl_model=request.param
    )
    org = enterprise_holding(services, "Example")
    csr, _ = make_csr()
    cert = services.ra.request_certificate(
        CertificateRequest(org.id, csr, TNAuthList.from_user(ranges=["12025550100:10"]), "t")
    )
    root = Path(services.config.pki_dir / "root.pem")
    files = {
        "root": root,
        "leaf": tmp_path / "leaf.pem",
        "chain": tmp_path / "untrusted.pem",
    }
    files["leaf"].write_bytes(_pem(cert.certificate))
    files["chain"].write_bytes(b"".join(_pem(c) for c in cert.chain[1:]))
    yield services, cert, files, request.param
    services.close()


def test_openssl_verifies_leaf_and_chain_strictly(issued):
    _, _, files, _ = issued
    result = openssl(
        "verify",
        "-x509_strict",
        "-CAfile",
        str(files["root"]),
        "-untrusted",
        str(files["chain"]),
        str(files["leaf"]),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{files['leaf']}: OK" in result.stdout


def test_openssl_verifies_each_crl(issued, tmp_path):
    services, _, files, _ = issued
    sca = services.issuers.active_sca()
    signer = services.issuers.crl_signer_for(sca)
    crl_file = tmp_path / "sca.crl"
    crl_file.write_bytes(services.crls.generate(sca.id).der)
    signer_file = tmp_path / "signer.pem"
    signer_file.write_bytes(_pem(signer.certificate))
    result = openssl(
        "crl",
        "-inform",
        "DER",
        "-in",
        str(crl_file),
        "-noout",
        "-verify",
        "-CAfile",
        str(signer_file),
    )
    assert result.returncode == 0 and "verify OK" in (result.stdout + result.stderr), result.stderr
    root_crl = tmp_path / "root.crl"
    root_id = sca.record.parent_id
    root_crl.write_bytes(services.crls.latest(root_id).der)
    result = openssl(
        "crl",
        "-inform",
        "DER",
        "-in",
        str(root_crl),
        "-noout",
        "-verify",
        "-CAfile",
        str(files["root"]),
    )
    assert result.returncode == 0 and "verify OK" in (result.stdout + result.stderr)


def _crl_check(services, files, tmp_path):
    sca = services.issuers.active_sca()
    crls = tmp_path / "crls.pem"
    pems = []
    for issuer_id in (sca.id, sca.record.parent_id):
        from cryptography import x509

        crl = x509.load_der_x509_crl(services.crls.latest(issuer_id).der)
        pems.append(crl.public_bytes(serialization.Encoding.PEM))
    crls.write_bytes(b"".join(pems))
    untrusted = files["chain"].read_bytes()
    signer = services.issuers.crl_signer_for(sca)
    if signer is not sca:
        untrusted += _pem(signer.certificate)
    (tmp_path / "untrusted-all.pem").write_bytes(untrusted)
    return openssl(
        "verify",
        "-x509_strict",
        "-crl_check",
        "-extended_crl",
        "-CAfile",
        str(files["root"]),
        "-untrusted",
        str(tmp_path / "untrusted-all.pem"),
        "-CRLfile",
        str(crls),
        str(files["leaf"]),
    )


def test_openssl_crl_check_accepts_then_rejects_revoked(issued, tmp_path):
    services, cert, files, _ = issued
    result = _crl_check(services, files, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    services.ra.revoke(cert.serial, RevocationReason.KEY_COMPROMISE, actor="t", operator=True)
    result = _crl_check(services, files, tmp_path)
    assert result.returncode != 0
    assert "certificate revoked" in (result.stdout + result.stderr)
