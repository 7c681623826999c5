"""Verifier fixtures: a Delegato-issued delegate certificate served by a static fetcher."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from ca.authority import IssuedCertificate
from ca.clock import FixedClock
from ca.ra import CertificateRequest
from ca.services import Services
from ca.tnauth import TNAuthList
from ca.verifier import VerificationContext, sign_identity
from tests.conftest import make_csr, make_services
from tests.unit.verifier.pki import StaticFetcher, pem


@dataclass
class Issued:
    """A Delegato CA, one delegate certificate from it, and a fetcher serving x5u and CRLs."""

    services: Services
    certificate: IssuedCertificate
    key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    fetcher: StaticFetcher
    clock: FixedClock

    def context(self, **options: Any) -> VerificationContext:
        options.setdefault("clock", self.clock)
        helpers = options.pop("helpers", [])
        return VerificationContext.of([self.root, *helpers], self.fetcher, **options)

    def identity(self, orig: str = "12025550101", dest: str = "12025550199", **options: Any) -> str:
        options.setdefault("clock", self.clock)
        return sign_identity(self.key, self.certificate.x5u, orig, dest, **options)

    def crl_signer(self) -> x509.Certificate:
        sca = self.services.issuers.active_sca()
        return self.services.issuers.crl_signer_for(sca).certificate


def issue(services: Services, clock: FixedClock, *ranges: str) -> Issued:
    org = services.organizations.add("enterprise", "Example", actor="t")
    csr, key = make_csr()
    certificate = services.ra.request_certificate(
        CertificateRequest(
            organization_id=org.id,
            csr=csr,
            tn_auth_list=TNAuthList.from_user(ranges=list(ranges) or ["12025550100:10"]),
            actor="t",
            operator_reason="test",
        )
    )
    root = x509.load_pem_x509_certificate((services.config.pki_dir / "root.pem").read_bytes())
    resources: dict[str, Any] = {certificate.x5u: pem(*certificate.chain)}
    for info in services.issuers.all():
        resources[info.crl_url] = lambda info=info: services.crls.latest(info.id).der
    return Issued(services, certificate, key, root, StaticFetcher(resources), clock)


@pytest.fixture
def issued(sqlite_services: Services, clock: FixedClock) -> Issued:
    """A delegate certificate for 12025550100:10 under the dev SCA (direct CRLs)."""
    return issue(sqlite_services, clock)


@pytest.fixture
def issued_indirect(tmp_path: Path, clock: FixedClock) -> Iterator[Issued]:
    """The same under an SCA whose CRL a separate CRL signer signs (indirect CRLs)."""
    services = make_services(
        tmp_path / "home", f"sqlite:///{tmp_path / 'i.db'}", clock, crl_model="indirect"
    )
    yield issue(services, clock)
    services.close()
