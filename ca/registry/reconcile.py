"""Reconciliation: make what was issued agree with what the registry authorizes now.

One idempotent function (issue 3 item 7): end the grants that have expired, narrow delegations
whose cover has ended (a delegation never outlives the enterprise's own right), revoke every
certificate whose scope is no longer fully authorized, and publish fresh CRLs for the issuers
concerned. Running it twice in a row changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ca import metrics
from ca.audit import AuditLog
from ca.clock import Clock
from ca.crl import CRLService
from ca.registry.authorize import covers_at
from ca.registry.lifecycle import close_numbers
from ca.revocation import RevocationReason
from ca.storage import Session, repo
from ca.storage import registry as store
from ca.storage.engine import Storage
from ca.storage.records import Organization, Revocation
from ca.storage.registry_queries import LiveCertificate, live_certificates
from ca.tnauth import TNAuthList

#: Why a right ended -> how a certificate resting on it is revoked (RFC 5280 §5.3.1). The holder
#: moved away from its number or its principal: affiliationChanged; the right simply stopped:
#: cessationOfOperation; the authority withdrew it for fraud: privilegeWithdrawn.
_REASONS = {
    "ported_away": RevocationReason.AFFILIATION_CHANGED,
    "ended": RevocationReason.AFFILIATION_CHANGED,
    "fraud": RevocationReason.PRIVILEGE_WITHDRAWN,
}
SYSTEM_ACTOR = "system:reconcile"


@dataclass
class ReconcileReport:
    expired: list[str] = field(default_factory=list)  # grant ids ended as expired
    narrowed: list[str] = field(default_factory=list)  # delegations that lost their cover
    revoked: list[dict[str, str]] = field(default_factory=list)  # {serial, reason, holder}
    crls: list[str] = field(default_factory=list)  # issuers whose CRL was regenerated

    def to_json(self) -> dict[str, Any]:
        return {
            "expired": self.expired,
            "narrowed": self.narrowed,
            "revoked": self.revoked,
            "crls": self.crls,
        }

    @property
    def changed(self) -> bool:
        return bool(self.expired or self.narrowed or self.revoked)


class Reconciler:
    def __init__(self, storage: Storage, clock: Clock, audit: AuditLog, crls: CRLService) -> None:
        self._storage = storage
        self._clock = clock
        self._audit = audit
        self._crls = crls

    def reconcile(
        self, holders: Sequence[str] | None = None, *, actor: str = SYSTEM_ACTOR
    ) -> ReconcileReport:
        """Run every step; ``holders`` limits the certificate check to some organizations (and
        the BPOs they delegated to) after a change that concerns only them."""
        now = self._clock.now()
        report = ReconcileReport()
        with self._storage.transaction() as session:
            store.lock_registry(session)
            self._end_expired(session, now, actor, report)
            self._narrow_delegations(session, now, actor, report)
        # Look at every live certificate in a read transaction: issuance never waits for the scan
        # (on SQLite a write transaction would hold the database's one write lock throughout,
        # seconds at tens of thousands of certificates). Only the certificates found wanting are
        # revoked, in a short write transaction that checks each of them again.
        with self._storage.read() as session:
            candidates = _unauthorized(session, now, holders)
        issuers: set[str] = set()
        if candidates:
            with self._storage.transaction() as session:
                issuers = self._revoke_unauthorized(session, candidates, now, actor, report)
        for issuer_id in sorted(issuers):
            self._crls.generate(issuer_id, actor=actor)
            report.crls.append(issuer_id)
        return report

    def _end_expired(
        self, session: Session, now: dt.datetime, actor: str, report: ReconcileReport
    ) -> None:
        for kind in ("assignment", "delegation"):
            for grant in store.expired_unended(session, kind, now):
                store.end_grant(session, kind, grant.id, grant.expires_at, "expired")
                self._audit.record(
                    session,
                    actor=actor,
                    action=f"{kind}.ended",
                    object_type=kind,
                    object_id=grant.id,
                    details={"reason": "expired", "at": grant.expires_at.isoformat()},
                )
                report.expired.append(grant.id)

    def _narrow_delegations(
        self, session: Session, now: dt.datetime, actor: str, report: ReconcileReport
    ) -> None:
        for delegation in store.grants_of(session, "delegation", active_at=now):
            spans = [s for s in store.grant_spans(session, "delegation", delegation.id, now)]
            if not spans:
                continue
            delegated = TNAuthList.from_intervals((s.length, s.lo, s.hi) for s in spans)
            enterprise = repo.get_organization(session, delegation.grantor_id)
            assert enterprise is not None
            held = covers_at(session, enterprise, list(delegated.intervals()), now)
            covered = TNAuthList.from_intervals(t for t, _ in held) if held else None
            lost = delegated if covered is None else delegated.difference(covered)
            if not lost.has_numbers:
                continue
            whole = close_numbers(session, "delegation", delegation, tuple(lost.intervals()), now)
            if whole:
                store.end_grant(session, "delegation", delegation.id, now, "cover_ended")
            self._audit.record(
                session,
                actor=actor,
                action="delegation.ended" if whole else "delegation.narrowed",
                object_type="delegation",
                object_id=delegation.id,
                details={"reason": "cover_ended", "numbers": lost.to_json(), "whole": whole},
            )
            report.narrowed.append(delegation.id)

    def _revoke_unauthorized(
        self,
        session: Session,
        candidates: list[LiveCertificate],
        now: dt.datetime,
        actor: str,
        report: ReconcileReport,
    ) -> set[str]:
        """Revoke the candidates the registry still does not authorize (it may have changed
        since the scan: a certificate covered again is left alone)."""
        issuers: set[str] = set()
        coverage = _Coverage(session, now)
        for cert in candidates:
            assert cert.organization_id is not None and cert.tn_auth_list_der is not None
            holder, covered = coverage.of(cert.organization_id)
            scope = TNAuthList.from_der(cert.tn_auth_list_der)
            if holder is None or (covered is not None and covered.encompasses(scope)):
                continue
            lost = scope if covered is None else scope.difference(covered)
            reason = _reason_for(session, holder, lost)
            revoked = repo.add_revocation_if_absent(
                session,
                Revocation(
                    cert.serial,
                    cert.issuer_id,
                    reason.value,
                    now,
                    actor,
                    "registry: the certificate's numbers are no longer authorized",
                ),
            )
            if not revoked:
                continue  # a holder or another reconciliation revoked it a moment ago
            metrics.REVOKED.labels(reason.value, "registry").inc()
            self._audit.record(
                session,
                actor=actor,
                action="certificate.revoked",
                object_type="certificate",
                object_id=cert.serial,
                details={
                    "reason": reason.value,
                    "issuer": cert.issuer_id,
                    "holder": holder.id,
                    "unauthorized": lost.to_json()[:50],
                },
            )
            report.revoked.append(
                {"serial": cert.serial, "reason": reason.value, "holder": holder.id}
            )
            issuers.add(cert.issuer_id)
        return issuers


class _Coverage:
    """Each delegate holder's organization and the numbers it may use now, asked once."""

    def __init__(self, session: Session, now: dt.datetime) -> None:
        self._session = session
        self._now = now
        self._known: dict[str, tuple[Organization | None, TNAuthList | None]] = {}

    def of(self, organization_id: str) -> tuple[Organization | None, TNAuthList | None]:
        """(the holder, its coverage); holder None when it is no enterprise or BPO."""
        found = self._known.get(organization_id)
        if found is None:
            holder = repo.get_organization(self._session, organization_id)
            if holder is None or holder.kind not in ("enterprise", "bpo"):
                found = (None, None)
            else:
                found = (holder, _coverage(self._session, holder, self._now))
            self._known[organization_id] = found
        return found


def _unauthorized(
    session: Session, now: dt.datetime, holders: Sequence[str] | None
) -> list[LiveCertificate]:
    """Live registry-based certificates whose numbers are not all authorized now."""
    scope_holders = None if holders is None else _with_bpos(session, holders, now)
    coverage = _Coverage(session, now)
    found = []
    for cert in live_certificates(session, now, scope_holders):
        if cert.basis == "operator" or cert.tn_auth_list_der is None:
            continue  # an audited operator override is not the registry's to undo
        assert cert.organization_id is not None
        holder, covered = coverage.of(cert.organization_id)
        if holder is None:
            continue
        if covered is None or not covered.encompasses(TNAuthList.from_der(cert.tn_auth_list_der)):
            found.append(cert)
    return found


def _coverage(session: Session, holder: Organization, now: dt.datetime) -> TNAuthList | None:
    covers = covers_at(session, holder, None, now)
    return TNAuthList.from_intervals(t for t, _ in covers) if covers else None


def _with_bpos(session: Session, holders: Sequence[str], now: dt.datetime) -> list[str]:
    """The holders and every BPO holding a delegation from one of them."""
    out = set(holders)
    for holder in holders:
        for delegation in store.grants_of(session, "delegation", grantor_id=holder):
            out.add(delegation.holder_id)
    return sorted(out)


def _reason_for(session: Session, holder: Organization, lost: TNAuthList) -> RevocationReason:
    """The end reason of the most recently ended right of the holder over the lost numbers."""
    kind = "assignment" if holder.kind == "enterprise" else "delegation"
    ended = [
        span
        for span in store.spans_ever(session, kind, list(lost.intervals()))
        if span.holder_id == holder.id
    ]
    ended.sort(key=lambda span: span.active_until, reverse=True)
    for span in ended:
        grant = store.get_grant(session, kind, span.grant_id)
        if grant is not None:
            reason = grant.end_reason or ("ended" if kind == "delegation" else "released")
            if grant.end_reason is None and kind == "delegation":
                # A delegation still open lost these numbers because its cover ended.
                reason = "cover_ended"
            return _REASONS.get(reason, RevocationReason.CESSATION_OF_OPERATION)
    return RevocationReason.CESSATION_OF_OPERATION
