"""Traceback (ATIS-1000089 principle: auditable for traceback): who was authorized to present
number N at time T, through which assignment or delegation, on which authority's word, and which
certificates covering N were valid then."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ca.errors import CAError, ErrorKind
from ca.storage import Session, repo
from ca.storage import registry as store
from ca.storage.audit import audit_events_for
from ca.storage.engine import Storage
from ca.storage.records import Grant, Span
from ca.storage.registry_queries import CertificateAt, certificates_covering
from ca.tnauth import normalize_tn


def _active(span: Span, at: dt.datetime) -> bool:
    return span.active_from <= at < span.active_until


class Tracer:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def trace(self, tn: str, at: dt.datetime) -> dict[str, Any]:
        number = normalize_tn(tn, "tn")
        if not number.isdigit():
            raise CAError(ErrorKind.MALFORMED, "the registry holds digits only", field="tn")
        window = [(len(number), int(number), int(number))]
        with self._storage.read() as session:
            assignments = [
                s for s in store.spans_ever(session, "assignment", window) if _active(s, at)
            ]
            delegations = [
                s for s in store.spans_ever(session, "delegation", window) if _active(s, at)
            ]
            holders = [self._holder(session, span, delegations, at) for span in assignments]
            certificates = [
                self._certificate(session, cert, at)
                for cert in certificates_covering(session, len(number), int(number))
                if cert.not_before <= at < cert.not_after
            ]
        return {
            "tn": number,
            "at": at.isoformat(),
            "authorized": bool(holders),
            "holders": holders,
            "certificates": certificates,
        }

    def _holder(
        self, session: Session, span: Span, delegations: list[Span], at: dt.datetime
    ) -> dict[str, Any]:
        grant = store.get_grant(session, "assignment", span.grant_id)
        assert grant is not None
        return {
            "enterprise": _org(session, span.enterprise_id),
            "assignment": self._grant(session, grant, span),
            "delegations": [
                {
                    "bpo": _org(session, d.holder_id),
                    "delegation": self._grant(
                        session, _must(store.get_grant(session, "delegation", d.grant_id)), d
                    ),
                }
                for d in delegations
                if d.enterprise_id == span.enterprise_id and d.active_until > at
            ],
        }

    def _grant(self, session: Session, grant: Grant, span: Span) -> dict[str, Any]:
        """The grant, the word it rests on, and its audit events (actors and evidence)."""
        return {
            "id": grant.id,
            "granted_by": _org(session, grant.grantor_id),
            "evidence": grant.evidence,
            "posted_by": grant.created_by,
            "posted_at": grant.created_at.isoformat(),
            "in_force": {
                "from": span.active_from.isoformat(),
                "until": span.active_until.isoformat(),
            },
            "ended": None
            if grant.ended_at is None
            else {"at": grant.ended_at.isoformat(), "reason": grant.end_reason},
            **({"transferred_from": grant.transferred_from} if grant.transferred_from else {}),
            "events": [
                {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action}
                for e in audit_events_for(session, grant.id)
            ],
        }

    def _certificate(
        self, session: Session, cert: CertificateAt, at: dt.datetime
    ) -> dict[str, Any]:
        revoked = cert.revoked_at is not None and cert.revoked_at <= at
        return {
            "serial": cert.serial,
            "holder": _org(session, cert.organization_id) if cert.organization_id else None,
            "issuer": cert.issuer_id,
            "not_before": cert.not_before.isoformat(),
            "not_after": cert.not_after.isoformat(),
            "basis": cert.basis or "registry",
            "status_at": "revoked" if revoked else "valid",
            **(
                {"revoked_at": cert.revoked_at.isoformat(), "reason": cert.revocation_reason}
                if cert.revoked_at is not None
                else {}
            ),
        }


def _org(session: Session, org_id: str) -> dict[str, Any]:
    org = repo.get_organization(session, org_id)
    data: dict[str, Any] = {"id": org_id}
    if org is not None:
        data.update(name=org.name, kind=org.kind)
        if org.spid:
            data["spid"] = org.spid
    return data


def _must(grant: Grant | None) -> Grant:
    assert grant is not None
    return grant
