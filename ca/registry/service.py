"""The TN registry as the rest of Delegato sees it: post, move and end rights; authorize; status;
traceback. Each method is one unit of work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ca.audit import AuditLog
from ca.clock import Clock
from ca.errors import CAError, ErrorKind
from ca.issuers import IssuerDirectory
from ca.keys import KeyManagers
from ca.registry.authorize import Authorization, authorize, authorize_all, authorized_scope
from ca.registry.grants import Grants
from ca.registry.lifecycle import Lifecycle, grant_kind
from ca.registry.numbers import registry_intervals
from ca.registry.posts import GrantRequest, PostResult
from ca.registry.status import SignedStatus, StatusService
from ca.registry.trace import Tracer
from ca.storage import registry as store
from ca.storage import registry_queries, repo
from ca.storage.engine import Storage
from ca.storage.records import Grant, Organization, Span
from ca.tnauth import TNAuthList


@dataclass(frozen=True)
class GrantView:
    """A grant with its numbers in force now."""

    grant: Grant
    spans: tuple[Span, ...]
    outcome: str = "found"

    @property
    def numbers(self) -> TNAuthList:
        return TNAuthList.from_intervals((s.length, s.lo, s.hi) for s in self.spans)

    def to_json(self) -> dict[str, Any]:
        g = self.grant
        parties = (
            {"authority": g.grantor_id, "enterprise": g.holder_id}
            if g.kind == "assignment"
            else {"enterprise": g.grantor_id, "bpo": g.holder_id}
        )
        data: dict[str, Any] = {
            "id": g.id,
            "kind": g.kind,
            **parties,
            **(self.numbers.to_scope_json() if self.spans else {"tns": [], "ranges": []}),
            "valid_from": g.valid_from.isoformat(),
            "expires_at": g.expires_at.isoformat(),
            "evidence": g.evidence,
            "ended_at": g.ended_at.isoformat() if g.ended_at else None,
            "end_reason": g.end_reason,
            "outcome": self.outcome,
        }
        if g.transferred_from:
            data["transferred_from"] = g.transferred_from
        return data


class Registry:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        audit: AuditLog,
        issuers: IssuerDirectory,
        keys: KeyManagers,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self.grants = Grants(storage, clock, audit)
        self.lifecycle = Lifecycle(storage, clock, audit)
        #: Port numbers between TN authorities (use case 9); see Lifecycle.transfer.
        self.transfer = self.lifecycle.transfer
        self._status = StatusService(storage, issuers, keys, clock)
        self._tracer = Tracer(storage)

    # -- posting --------------------------------------------------------------------------------

    def assign(
        self,
        authority_id: str,
        enterprise_id: str,
        scope: TNAuthList,
        expires_at: dt.datetime,
        *,
        actor: str,
        valid_from: dt.datetime | None = None,
        evidence: str = "",
        acting: Organization | None = None,
    ) -> GrantView:
        """CTND POST: a TN authority's word that the enterprise may use these numbers."""
        request = GrantRequest(
            authority_id, enterprise_id, registry_intervals(scope), expires_at, valid_from, evidence
        )
        return self._post_one("assignment", request, actor, acting)

    def _post_one(
        self, kind: str, request: GrantRequest, actor: str, acting: Organization | None
    ) -> GrantView:
        result = self.grants.post(kind, [request], actor=actor, acting=acting)
        return self.view(result.grants[0].id, outcome=result.outcomes[0])

    def post_many(
        self,
        kind: str,
        requests: Sequence[GrantRequest],
        *,
        actor: str,
        acting: Organization | None = None,
        source: str | None = None,
    ) -> PostResult:
        return self.grants.post(kind, requests, actor=actor, acting=acting, source=source)

    def delegate(
        self,
        enterprise_id: str,
        bpo_id: str,
        scope: TNAuthList,
        expires_at: dt.datetime,
        *,
        actor: str,
        valid_from: dt.datetime | None = None,
        evidence: str = "",
        acting: Organization | None = None,
    ) -> GrantView:
        """Use case 8: a subset of the enterprise's numbers to a BPO until the campaign ends."""
        request = GrantRequest(
            enterprise_id, bpo_id, registry_intervals(scope), expires_at, valid_from, evidence
        )
        return self._post_one("delegation", request, actor, acting)

    def release(
        self,
        grant_id: str,
        reason: str,
        *,
        actor: str,
        acting: Organization | None = None,
        part: TNAuthList | None = None,
    ) -> GrantView:
        grant = self.lifecycle.release(grant_id, reason, actor=actor, acting=acting, part=part)
        return self.view(grant.id, outcome="ended" if grant.ended_at else "narrowed")
    # -- reading --------------------------------------------------------------------------------

    def view(self, grant_id: str, *, outcome: str = "found") -> GrantView:
        kind = grant_kind(grant_id)
        now = self._clock.now()
        with self._storage.read() as session:
            grant = store.get_grant(session, kind, grant_id)
            if grant is None:
                raise CAError(ErrorKind.NOT_FOUND, f"no {kind} {grant_id!r}", field="id")
            spans = [
                s
                for s in store.grant_spans(session, kind, grant_id)
                if s.active_until > now and s.active_until > s.active_from
            ]
        return GrantView(grant, tuple(spans), outcome)

    def authorize(
        self, holder_id: str, scope: TNAuthList, at: dt.datetime | None = None
    ) -> Authorization:
        at = at or self._clock.now()
        with self._storage.read() as session:
            holder = _organization(session, holder_id)
            return authorize(session, holder, scope, at)

    def authorize_holder(
        self, holder: Organization, scope: TNAuthList | None, at: dt.datetime | None = None
    ) -> Authorization:
        """As :meth:`authorize` for a holder already read; ``scope`` None asks for every number
        it may use (one look at its rights either way)."""
        at = at or self._clock.now()
        with self._storage.read_connection() as unit:  # Core rows only: no ORM session
            if scope is None:
                return authorize_all(unit, holder, at)
            return authorize(unit, holder, scope, at)

    def authorized_scope(self, holder_id: str, at: dt.datetime | None = None) -> TNAuthList | None:
        at = at or self._clock.now()
        with self._storage.read() as session:
            return authorized_scope(session, _organization(session, holder_id), at)

    def spc_scope(self, spc: str) -> TNAuthList | None:
        """The numbers the TN authority with this SPID/OCN vouches for now (the verifier's
        ``registry`` SPC-parent policy, STANDARDS.md §3), or None when the registry knows none."""
        with self._storage.read() as session:
            authorities = registry_queries.organizations_with_spid(session, spc.strip().upper())
            if not authorities:
                return None
            spans = registry_queries.authority_spans_at(session, authorities, self._clock.now())
        return TNAuthList.from_intervals(spans) if spans else None

    def status(self, tn: str, enterprise_id: str | None = None) -> SignedStatus:
        return self._status.status(tn, enterprise_id)

    def trace(self, tn: str, at: dt.datetime) -> dict[str, Any]:
        return self._tracer.trace(tn, at)


def _organization(session: Any, org_id: str) -> Organization:
    org = repo.get_organization(session, org_id)
    if org is None:
        raise CAError(ErrorKind.NOT_FOUND, f"no organization {org_id!r}", field="organization")
    return org
