"""The cast of the registry tests: two TNSPs, a RespOrg, enterprises and contact centres."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509

from ca.ra import CertificateRequest
from ca.services import Services
from ca.storage.records import Organization
from ca.tnauth import TNAuthList, tn_auth_list_from_certificate
from tests.conftest import make_csr

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Cast:
    tnsp_a: Organization
    tnsp_b: Organization
    resporg: Organization
    acme: Organization
    globex: Organization
    callco: Organization
    dialco: Organization


def cast(services: Services) -> Cast:
    add = services.organizations.add
    return Cast(
        tnsp_a=add("tn_authority", "TNSP A", "111A", actor="operator:test"),
        tnsp_b=add("tn_authority", "TNSP B", "222B", actor="operator:test"),
        resporg=add("tn_authority", "RespOrg", "RSP1", actor="operator:test"),
        acme=add("enterprise", "Acme Bank", actor="operator:test"),
        globex=add("enterprise", "Globex", actor="operator:test"),
        callco=add("bpo", "CallCo", actor="operator:test"),
        dialco=add("bpo", "DialCo", actor="operator:test"),
    )


def scope(*items: str) -> TNAuthList:
    """``"12025550100"`` is a number, ``"12025550200:50"`` a range."""
    return TNAuthList.from_user(
        tns=[i for i in items if ":" not in i], ranges=[i for i in items if ":" in i]
    )


def issue(services: Services, org: Organization, *items: str, **kw: object) -> x509.Certificate:
    csr, _ = make_csr()
    request = CertificateRequest(org.id, csr, scope(*items) if items else None, "test", **kw)  # type: ignore[arg-type]
    return services.ra.request_certificate(request).certificate


def numbers(cert: x509.Certificate) -> TNAuthList:
    found = tn_auth_list_from_certificate(cert)
    assert found is not None
    return found


def revocation(services: Services, cert: x509.Certificate) -> str | None:
    record = services.ra.certificate(format(cert.serial_number, "x"))
    return record.revocation.reason if record.revocation else None
