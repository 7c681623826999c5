"""The registration authority: request -> policy -> issuer scope -> CA -> store; and revocation.

It orchestrates and decides nothing itself: the policy authorizes, the CA signs, storage stores.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from ca import metrics
from ca.audit import AuditLog
from ca.authority import CertificateAuthority, IssuanceOrder, IssuedCertificate
from ca.clock import Clock
from ca.config import Config
from ca.crl import CRLService
from ca.errors import CAError, ErrorKind, SubProblem, malformed
from ca.issuance.request import MAX_CSR_BYTES, parse_csr, parse_public_key
from ca.issuers import IssuerDirectory
from ca.policy import Policy
from ca.registry import Registry
from ca.revocation import RevocationReason, may_use
from ca.storage import repo
from ca.storage.engine import Storage
from ca.storage.records import CertificateRecord, Organization, Revocation
from ca.tnauth import TNAuthList


@dataclass(frozen=True)
class CertificateRequest:
    """A holder's request: its key, the numbers it wants and for how long.

    The key comes as a CSR (which proves possession) or, for a key already registered with
    Delegato (a subscription's), as a SubjectPublicKeyInfo; exactly one of the two.
    """

    organization_id: str
    csr: bytes | None
    tn_auth_list: TNAuthList | None  # None: every number the holder may use now
    actor: str
    lifetime: dt.timedelta | None = None
    operator_reason: str | None = None
    public_key: bytes | None = None  # PEM or DER SubjectPublicKeyInfo, instead of a CSR
    #: The holder's organization when the caller has just read it (an API key's own), so the
    #: request does not read it again; ignored unless its id is ``organization_id``.
    holder: Organization | None = None


def normalize_serial(text: str) -> str:
    """Accept ``0x``-prefixed, colon-separated or upper-case hex; return canonical lower hex."""
    cleaned = re.sub(r"[:\s]", "", str(text)).lower().removeprefix("0x")
    if not cleaned or not re.fullmatch(r"[0-9a-f]{1,40}", cleaned):
        raise malformed("serial", f"{text!r} is not a hexadecimal certificate serial")
    return format(int(cleaned, 16), "x")


def subject_key(csr: bytes | None, public_key: bytes | None) -> ec.EllipticCurvePublicKey:
    """The P-256 key to certify, from a CSR (signature checked) or a SubjectPublicKeyInfo."""
    if (csr is None) == (public_key is None):
        raise malformed(
            "csr" if csr is not None else "public_key",
            "give exactly one of csr (a PKCS#10 request) and public_key (a SubjectPublicKeyInfo)",
        )
    if csr is not None:
        return parse_csr(csr)
    assert public_key is not None
    if len(public_key) > MAX_CSR_BYTES:
        raise CAError(
            ErrorKind.BAD_PUBLIC_KEY, f"is larger than {MAX_CSR_BYTES} bytes", field="public_key"
        )
    return parse_public_key(public_key)


class RegistrationAuthority:
    def __init__(
        self,
        storage: Storage,
        issuers: IssuerDirectory,
        authority: CertificateAuthority,
        crls: CRLService,
        policy: Policy,
        registry: Registry,
        config: Config,
        clock: Clock,
        audit: AuditLog,
    ) -> None:
        self._storage = storage
        self._issuers = issuers
        self._authority = authority
        self._crls = crls
        self._policy = policy
        self._registry = registry
        self._config = config
        self._clock = clock
        self._audit = audit

    def organization(self, organization_id: str) -> Organization:
        with self._storage.read() as session:
            org = repo.get_organization(session, organization_id)
        if org is None:
            raise CAError(
                ErrorKind.NOT_FOUND, f"no organization {organization_id!r}", field="organization"
            )
        return org

    def request_certificate(self, request: CertificateRequest) -> IssuedCertificate:
        """Issue a delegate certificate for exactly the authorized scope (ARCHITECTURE.md flow 3)."""
        started = time.perf_counter()
        holder = request.holder
        if holder is None or holder.id != request.organization_id:
            holder = self.organization(request.organization_id)
        public_key = subject_key(request.csr, request.public_key)
        if request.tn_auth_list is None and (request.operator_reason or "").strip():
            raise malformed("tns", "an operator issuance names its numbers (--tn or --range)")
        # One question to the registry: for these numbers, or for everything the holder may use.
        scope, evidence = self._policy.willing_to_issue(
            holder, request.tn_auth_list, operator_reason=request.operator_reason
        )
        self._check_issuer_scope(scope)
        order = IssuanceOrder(
            organization_id=holder.id,
            organization_name=holder.name,
            public_key=public_key,
            tn_auth_list=scope,
            lifetime=request.lifetime or self._config.issuance.default_lifetime,
            actor=request.actor,
            evidence=evidence.to_json(),
            not_after_cap=evidence.not_after_cap,
            basis=(
                evidence.basis,
                evidence.details.get("reason") if evidence.basis == "operator" else None,
            ),
        )
        issued = self._authority.issue(order)
        metrics.ISSUED.labels(evidence.basis).inc()
        metrics.ISSUANCE_SECONDS.observe(time.perf_counter() - started)
        return issued

    def _check_issuer_scope(self, scope: TNAuthList) -> None:
        """RFC 9060 §4: the delegate's TNAuthList must be encompassed by its issuer's."""
        issuer = self._issuers.active_sca()
        parent = issuer.tn_auth_list
        if parent is not None and parent.encompasses(scope):
            return
        outside = (scope if parent is None else scope.difference(parent)).describe()
        raise CAError(
            ErrorKind.OUT_OF_ISSUER_SCOPE,
            f"not encompassed by issuer {issuer.id}'s TNAuthList (RFC 9060): " + ", ".join(outside),
            field="tns",
            subproblems=[
                SubProblem("outside the issuer's scope", "tns", value) for value in outside
            ],
        )

    def revoke(
        self,
        serial: str,
        reason: RevocationReason,
        *,
        actor: str,
        operator: bool,
        organization_id: str | None = None,
        comment: str | None = None,
    ) -> Revocation:
        """Revoke one certificate and publish a fresh CRL for its issuer."""
        serial = normalize_serial(serial)
        if not may_use(reason, operator=operator):
            raise CAError(
                ErrorKind.FORBIDDEN,
                f"only an operator may revoke for {reason.value}",
                field="reason",
            )
        with self._storage.transaction() as session:
            cert = repo.get_certificate(session, serial)
            self._check_owner(cert, serial, operator, organization_id)
            assert cert is not None
            revocation = Revocation(
                serial=serial,
                issuer_id=cert.issuer_id,
                reason=reason.value,
                revoked_at=self._clock.now(),
                revoked_by=actor,
                comment=comment,
            )
            repo.add_revocation(session, revocation)
            self._audit.record(
                session,
                actor=actor,
                action="certificate.revoked",
                object_type="certificate",
                object_id=serial,
                details={"reason": reason.value, "issuer": cert.issuer_id, "comment": comment},
            )
        metrics.REVOKED.labels(reason.value, "operator" if operator else "holder").inc()
        self._crls.generate(revocation.issuer_id, actor=actor)
        return revocation

    @staticmethod
    def _check_owner(
        cert: CertificateRecord | None, serial: str, operator: bool, organization_id: str | None
    ) -> None:
        # A certificate of another organization is reported as missing, never as forbidden,
        # so serials cannot be probed across tenants.
        if cert is None or (not operator and cert.organization_id != organization_id):
            raise CAError(ErrorKind.NOT_FOUND, f"no certificate {serial}", field="serial")

    def certificate(self, serial: str) -> CertificateRecord:
        serial = normalize_serial(serial)
        with self._storage.read() as session:
            cert = repo.get_certificate(session, serial)
        if cert is None:
            raise CAError(ErrorKind.NOT_FOUND, f"no certificate {serial}", field="serial")
        return cert
