"""The certificates a holder has: one view of an issued certificate for the API and the CLI.

Read-only; issuance and revocation stay in the registration authority. Another organization's
certificate is reported missing, never forbidden, so serials cannot be probed across tenants.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ca.authority import IssuedCertificate
from ca.config import Config
from ca.errors import CAError, ErrorKind
from ca.issuers import IssuerDirectory
from ca.ra import normalize_serial
from ca.storage import repo
from ca.storage.engine import Storage
from ca.storage.records import CertificateRecord, Revocation
from ca.tnauth import TNAuthList

MAX_PAGE = 500


@dataclass(frozen=True)
class CertificateView:
    """An issued certificate as its holder sees it: where it is published, what it covers."""

    serial: str
    x5u: str
    issuer_id: str
    organization_id: str | None
    not_before: dt.datetime
    not_after: dt.datetime
    tn_auth_list: TNAuthList | None
    chain_pem: bytes
    revocation: Revocation | None

    def status(self, now: dt.datetime) -> str:
        if self.revocation is not None:
            return "revoked"
        return "expired" if now >= self.not_after else "valid"

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        scope = self.tn_auth_list.to_scope_json() if self.tn_auth_list else {}
        revocation = self.revocation
        return {
            "serial": self.serial,
            "x5u": self.x5u,
            "issuer": self.issuer_id,
            "organization": self.organization_id,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "tns": scope.get("tns", []),
            "ranges": scope.get("ranges", []),
            **({"spcs": scope["spcs"]} if "spcs" in scope else {}),
            "chain": self.chain_pem.decode("ascii"),
            "status": self.status(now),
            "revocation": {
                "reason": revocation.reason,
                "revoked_at": revocation.revoked_at.isoformat(),
            }
            if revocation
            else None,
        }


class CertificateInventory:
    def __init__(self, storage: Storage, issuers: IssuerDirectory, config: Config) -> None:
        self._storage = storage
        self._issuers = issuers
        self._config = config

    def issued(self, issued: IssuedCertificate, organization_id: str | None) -> CertificateView:
        """The view of a certificate just issued (no second read)."""
        return CertificateView(
            serial=issued.serial,
            x5u=issued.x5u,
            issuer_id=issued.issuer_id,
            organization_id=organization_id,
            not_before=issued.not_before,
            not_after=issued.not_after,
            tn_auth_list=issued.tn_auth_list,
            chain_pem=issued.chain_pem,
            revocation=None,
        )

    def get(self, serial: str, *, organization_id: str | None) -> CertificateView:
        """One certificate; ``organization_id`` None means any (operators)."""
        serial = normalize_serial(serial)
        with self._storage.read() as session:
            record = repo.get_certificate(session, serial)
        if record is None or (
            organization_id is not None and record.organization_id != organization_id
        ):
            raise CAError(ErrorKind.NOT_FOUND, f"no certificate {serial}", field="serial")
        return self._view(record)

    def list(
        self, organization_id: str | None, *, limit: int = 100, before: str | None = None
    ) -> tuple[list[CertificateView], str | None]:
        """A page, newest first, and the cursor of the next page (None at the end)."""
        limit = max(1, min(limit, MAX_PAGE))
        before = normalize_serial(before) if before else None
        with self._storage.read() as session:
            records = repo.list_certificates(session, organization_id, limit + 1, before)
        page = [self._view(r) for r in records[:limit]]
        return page, (page[-1].serial if len(records) > limit else None)

    def _view(self, record: CertificateRecord) -> CertificateView:
        leaf = x509.load_der_x509_certificate(record.der)
        issuer = self._issuers.get(record.issuer_id)
        return CertificateView(
            serial=record.serial,
            x5u=self._config.certificate_url(record.serial),
            issuer_id=record.issuer_id,
            organization_id=record.organization_id,
            not_before=record.not_before,
            not_after=record.not_after,
            tn_auth_list=(
                TNAuthList.from_der(record.tn_auth_list_der) if record.tn_auth_list_der else None
            ),
            chain_pem=leaf.public_bytes(serialization.Encoding.PEM) + issuer.chain_pem,
            revocation=record.revocation,
        )
