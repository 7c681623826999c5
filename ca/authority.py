"""CertificateAuthority.issue(): the numbered signing steps of ARCHITECTURE.md "The issuance cycle".

A crash between steps leaves an intent without a certificate, never a certificate without a
record: the serial is reserved and the linted copy stored (and committed) before the real key signs.
Both writes go through the storage's group commit: concurrent issuances share a transaction, and
each step still waits for its own commit before going on.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca.audit import AuditLog
from ca.clock import Clock
from ca.config import Config
from ca.errors import CAError, ErrorKind
from ca.issuance.profiles import load_profile
from ca.issuance.serials import draw_serial, serial_hex
from ca.issuance.template import CertificateTemplate, subject_name
from ca.issuers import IssuerDirectory, IssuerInfo
from ca.storage import repo
from ca.storage.engine import DriverTransaction, Storage
from ca.storage.records import CertificateRecord, Intent
from ca.tnauth import TNAuthList


class SerialPool:
    """Serials reserved in storage ahead of use, a batch per transaction.

    Every serial is reserved (committed) before any certificate bears it, as step 2 requires; a
    reserved serial that is never used is as harmless as one whose lint copy failed. Batching
    spreads one transaction over many issuances.
    """

    def __init__(self, storage: Storage, batch: int = 64) -> None:
        self._storage = storage
        self._batch = batch
        self._lock = threading.Lock()
        self._free: dict[str, list[int]] = {}

    def take(self, issuer_id: str, now: dt.datetime) -> int:
        with self._lock:
            free = self._free.setdefault(issuer_id, [])
            if not free:
                free.extend(self._reserve(issuer_id, now))
            return free.pop()

    def _reserve(self, issuer_id: str, now: dt.datetime) -> list[int]:
        drawn = {
            serial_hex(serial): serial for serial in (draw_serial() for _ in range(self._batch))
        }
        with self._storage.driver_transaction() as unit:
            # A collision with any serial ever reserved is astronomically unlikely; if it
            # happens the serial is left out, never reused.
            reserved = repo.reserve_serials(unit, list(drawn), issuer_id, now)
        if not reserved:
            raise CAError(ErrorKind.INTERNAL, "could not reserve fresh serials")
        return [serial for text, serial in drawn.items() if text in reserved]


@dataclass(frozen=True)
class IssuanceOrder:
    """What the RA asks the CA to sign, already authorized."""

    organization_id: str
    organization_name: str
    public_key: ec.EllipticCurvePublicKey
    tn_auth_list: TNAuthList
    lifetime: dt.timedelta
    actor: str
    evidence: dict[str, Any]
    not_after_cap: dt.datetime | None = None  # earliest expiry of the covering evidence
    basis: tuple[str, str | None] | None = None  # ("registry" | "operator", operator's reason)


@dataclass(frozen=True)
class IssuedCertificate:
    serial: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # leaf first, then SCA and intermediates, root omitted
    x5u: str
    issuer_id: str
    tn_auth_list: TNAuthList | None  # as the certificate carries it
    chain_tail_pem: bytes  # the issuer and the certificates above it, PEM, root omitted

    @property
    def not_before(self) -> dt.datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc

    @property
    def chain_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM) + self.chain_tail_pem


class CertificateAuthority:
    """The only place a delegate certificate is signed."""

    def __init__(
        self,
        storage: Storage,
        issuers: IssuerDirectory,
        config: Config,
        clock: Clock,
        audit: AuditLog,
    ) -> None:
        self._storage = storage
        self._issuers = issuers
        self._config = config
        self._clock = clock
        self._audit = audit
        self._profile = load_profile("delegate_ee")
        self._serials = SerialPool(storage)
        #: Called with each stored certificate (the file publisher); wired in ca/services.py.
        self.on_issued: list[Callable[[IssuedCertificate], None]] = []

    def issue(self, order: IssuanceOrder) -> IssuedCertificate:
        now = self._clock.now()
        # 1. Choose issuer and profile; compute validity (backdated, never past the issuer).
        issuer = self._issuers.active_sca()
        not_before, not_after = self._validity(issuer, order, now)

        # 2. Draw a serial and reserve it: a serial is never used twice, even after a failure.
        serial = self._serials.take(issuer.id, now)

        # 3. Build the template (pure) and lint a copy signed by a throwaway key.
        template = CertificateTemplate(
            profile=self._profile,
            subject=subject_name(
                self._config.issuance.country,
                order.organization_name,
                f"SHAKEN {order.organization_name}",
            ),
            public_key=order.public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
            issuer_certificate=issuer.certificate,
            tn_auth_list=order.tn_auth_list.canonical(),
            crl_url=issuer.crl_url,
            crl_issuer=self._crl_issuer_name(issuer),
        )
        token = issuer.signer.prepare(template, now)
        hex_serial = serial_hex(serial)

        # 4. Store the lint copy as the record of intent and audit "signing", durably.
        intent = Intent(
            serial=hex_serial,
            issuer_id=issuer.id,
            organization_id=order.organization_id,
            profile=self._profile.name,
            lint_der=token.lint_der,
            tbs_sha256=token.tbs_sha256,
            created_at=now,
        )
        signing = {
            "issuer": issuer.id,
            "organization": order.organization_id,
            "tn_auth_list": template.tn_auth_list.to_json() if template.tn_auth_list else [],
            "not_before": not_before.isoformat(),
            "not_after": not_after.isoformat(),
            "tbs_sha256": token.tbs_sha256,
            "evidence": order.evidence,
        }

        def store_intent(unit: DriverTransaction) -> None:
            repo.add_intent(unit, intent)
            self._audit.record(
                unit,
                actor=order.actor,
                action="certificate.signing",
                object_type="certificate",
                object_id=hex_serial,
                details=signing,
            )

        # Concurrent issuances share the transaction and its commit (ca/storage/group_commit.py);
        # each returns only once its own write is committed.
        self._storage.write_together(store_intent)

        # 5. Sign with the real key (the token is single-use and bound to this issuer).
        certificate = issuer.signer.issue(token)

        # 6. The signed TBS equals the linted TBS (checked in issue()); store, audit, publish.
        record = CertificateRecord(
            serial=hex_serial,
            issuer_id=issuer.id,
            organization_id=order.organization_id,
            profile=self._profile.name,
            der=certificate.public_bytes(serialization.Encoding.DER),
            tn_auth_list_der=template.tn_auth_list.to_der() if template.tn_auth_list else None,
            not_before=not_before,
            not_after=not_after,
            issued_at=now,
        )
        intervals = tuple(template.tn_auth_list.intervals()) if template.tn_auth_list else ()
        signed = {"issuer": issuer.id, "tbs_sha256": token.tbs_sha256}

        def store_certificate(unit: DriverTransaction) -> None:
            repo.add_certificate(unit, record, intervals, order.basis)
            self._audit.record(
                unit,
                actor=order.actor,
                action="certificate.signed",
                object_type="certificate",
                object_id=hex_serial,
                details=signed,
            )

        self._storage.write_together(store_certificate)
        issued = IssuedCertificate(
            serial=hex_serial,
            certificate=certificate,
            chain=(certificate, issuer.certificate, *issuer.chain),
            x5u=self._config.certificate_url(hex_serial),
            issuer_id=issuer.id,
            tn_auth_list=template.tn_auth_list,
            chain_tail_pem=issuer.chain_pem,
        )
        # A publisher that fails raises: the certificate is stored, but its x5u is not served
        # where verifiers look, and the caller must hear it (`delegato publish` repairs).
        for publish in self.on_issued:
            publish(issued)
        return issued

    def _validity(
        self, issuer: IssuerInfo, order: IssuanceOrder, now: dt.datetime
    ) -> tuple[dt.datetime, dt.datetime]:
        issuance = self._config.issuance
        if order.lifetime > issuance.max_lifetime:
            raise CAError(
                ErrorKind.MALFORMED,
                f"must be at most {issuance.max_lifetime} (issuance.max_lifetime)",
                field="lifetime",
            )
        not_before = max(now - issuance.backdate, issuer.certificate.not_valid_before_utc)
        caps = [now + order.lifetime, issuer.certificate.not_valid_after_utc]
        if order.not_after_cap is not None:
            caps.append(order.not_after_cap)
        not_after = min(caps)
        if not_after <= now:
            raise CAError(
                ErrorKind.CONFIGURATION,
                f"issuer {issuer.id} or the covering authorization has expired; nothing can be issued",
                field="issuer",
            )
        return not_before, not_after

    def _crl_issuer_name(self, issuer: IssuerInfo) -> x509.Name | None:
        """Indirect CRLs name their signer in the CRLDP's cRLIssuer (RFC 5280 §4.2.1.13)."""
        if issuer.record.crl_model != "indirect":
            return None
        return self._issuers.crl_signer_for(issuer).certificate.subject
