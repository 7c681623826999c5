"""CRL building and signing, per issuer, direct or indirect (RFC 5280 §5), linted before storing.

Direct: the SCA (with cRLSign) signs its own CRL. Indirect: a CRL-signing certificate issued by the
SCA signs it; the CRL's issuing distribution point says indirectCRL and every entry names the
certificate's issuer in a critical certificateIssuer extension (RFC 5280 §5.3.3), as the STI-PA's
CRL does (STANDARDS.md §8).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ca.audit import AuditLog
from ca.clock import Clock
from ca.config import Config
from ca.errors import CAError, ErrorKind, SubProblem
from ca.issuance.issuer import hash_for, lint_key_for
from ca.issuers import IssuerDirectory, IssuerInfo
from ca.keys import KeyManagers
from ca.lint.crl import lint_crl
from ca.revocation import RevocationReason
from ca.storage import repo
from ca.storage.engine import Storage
from ca.storage.records import CRLRecord, Revocation


def _builder(
    issuer: IssuerInfo,
    signer: IssuerInfo,
    number: int,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revocations: list[Revocation],
) -> x509.CertificateRevocationListBuilder:
    indirect = signer is not issuer
    signer_ski = signer.certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(signer.certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(signer_ski),
            critical=False,
        )
        .add_extension(
            x509.IssuingDistributionPoint(
                full_name=[x509.UniformResourceIdentifier(issuer.crl_url)],
                relative_name=None,
                only_contains_user_certs=False,
                only_contains_ca_certs=False,
                only_some_reasons=None,
                indirect_crl=indirect,
                only_contains_attribute_certs=False,
            ),
            critical=True,
        )
    )
    for revocation in revocations:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(revocation.serial, 16))
            .revocation_date(revocation.revoked_at)
        )
        reason = RevocationReason.parse(revocation.reason)
        # RFC 5280 §5.3.1: omit the reason code rather than say "unspecified".
        if reason is not RevocationReason.UNSPECIFIED:
            entry = entry.add_extension(x509.CRLReason(reason.flag), critical=False)
        if indirect:
            entry = entry.add_extension(
                x509.CertificateIssuer([x509.DirectoryName(issuer.certificate.subject)]),
                critical=True,
            )
        builder = builder.add_revoked_certificate(entry.build())
    return builder


class CRLService:
    """Generates, lints, signs and stores CRLs."""

    def __init__(
        self,
        storage: Storage,
        issuers: IssuerDirectory,
        keys: KeyManagers,
        config: Config,
        clock: Clock,
        audit: AuditLog,
    ) -> None:
        self._storage = storage
        self._issuers = issuers
        self._keys = keys
        self._config = config
        self._clock = clock
        self._audit = audit
        #: Called with each stored CRL, after commit (the file publisher); see ca/services.py.
        self.on_generated: list[Callable[[CRLRecord], None]] = []

    def generate(self, issuer_id: str, actor: str = "system") -> CRLRecord:
        """Make the issuer's next CRL: number from a locked counter, lint first, then sign."""
        issuer = self._issuers.get(issuer_id)
        signer = self._issuers.crl_signer_for(issuer)
        now = self._clock.now()
        next_update = now + self._config.crl.validity
        with self._storage.transaction() as session:
            # The counter row stays locked until commit, so concurrent generators queue here
            # and CRL numbers rise strictly in commit order.
            number = repo.next_counter(session, f"crl:{issuer.id}")
            revocations = [rev for rev, _ in repo.revocations_for_crl(session, issuer.id, now)]
            builder = _builder(issuer, signer, number, now, next_update, revocations)
            self._lint(builder, issuer, signer, now)
            key = self._keys.signer(signer.record.key_uri)
            crl = builder.sign(key, hash_for(key.curve))
            record = CRLRecord(
                issuer.id, number, now, next_update, crl.public_bytes(serialization.Encoding.DER)
            )
            repo.add_crl(session, record)
            self._audit.record(
                session,
                actor=actor,
                action="crl.generated",
                object_type="crl",
                object_id=issuer.id,
                details={
                    "number": number,
                    "entries": len(revocations),
                    "next_update": next_update.isoformat(),
                },
            )
        for publish in self.on_generated:
            publish(record)
        return record

    def _lint(
        self,
        builder: x509.CertificateRevocationListBuilder,
        issuer: IssuerInfo,
        signer: IssuerInfo,
        now: dt.datetime,
    ) -> None:
        curve = signer.certificate.public_key().curve  # type: ignore[union-attr]
        lint_copy = builder.sign(lint_key_for(curve), hash_for(curve))
        report = lint_crl(
            lint_copy,
            issuer_certificate=signer.certificate,
            expected_idp_url=issuer.crl_url,
            indirect=signer is not issuer,
            max_next_update=self._config.crl.validity,
            now=now,
        )
        if not report.ok:
            raise CAError(
                ErrorKind.LINT_FAILED,
                f"the CRL of {issuer.id} failed {len(report.errors)} lint(s); nothing was signed",
                subproblems=[SubProblem(r.detail, field=r.lint_id) for r in report.errors],
            )

    def latest(self, issuer_id: str) -> CRLRecord | None:
        with self._storage.read() as session:
            return repo.latest_crl(session, issuer_id)
