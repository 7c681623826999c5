"""Subscriptions: a holder's standing order for fresh delegate certificates (after RFC 8739 STAR).

A holder registers a P-256 key, a scope (or none: every number it may use) and a lifetime once.
Delegato issues the first certificate at once and the next one when ``renew_fraction`` of the
current one's validity has passed, for as long as the TN registry authorizes the scope. Each
certificate carries the requested scope ∩ what the registry authorizes at that moment, so a part
that lapsed drops out; when nothing is left the subscription ends and nothing is issued. The
registration authority issues every certificate: the policy and the lints decide as always.
"""

from __future__ import annotations

import builtins
import datetime as dt
import logging
from collections.abc import Sequence

from cryptography.hazmat.primitives import serialization

from ca.audit import AuditLog
from ca.clock import Clock
from ca.config import Config
from ca.errors import CAError, ErrorKind, malformed
from ca.organizations import new_id
from ca.policy import check_delegate_scope
from ca.ra import CertificateRequest, RegistrationAuthority, subject_key
from ca.registry import Registry
from ca.revocation import RevocationReason
from ca.storage import Session, repo
from ca.storage import subscriptions as store
from ca.storage.engine import Storage
from ca.storage.records import CertificateRecord, Organization, Subscription
from ca.subscription_views import (
    RenewalObserver,
    RenewalReport,
    SubscriptionView,
    certificate_status,
    renew_at,
    scope_of,
)
from ca.tnauth import TNAuthList

log = logging.getLogger("delegato.subscriptions")

#: Renew when two thirds of the current certificate's validity have passed: the last third
#: leaves room for several failed attempts (and a change of jobs leader) before it expires.
DEFAULT_RENEW_FRACTION = 2 / 3
#: Renewals run every minute and a new jobs leader takes over within two; the last third of the
#: shortest certificate (5 minutes) must outlast both with room to retry.
MIN_LIFETIME = dt.timedelta(minutes=15)
#: When a renewal would not outlast the current certificate (the evidence ends with it), the
#: subscription is looked at again later instead, but not more often than this.
MIN_RECHECK = dt.timedelta(minutes=1)
SUBSCRIPTION_ACTOR = "system:subscriptions"

# Why a subscription ended (``end_reason``).
CANCELLED = "cancelled"  # the holder or the operator cancelled it
UNAUTHORIZED = "unauthorized"  # the registry authorizes none of its scope any more
KEY_COMPROMISE = "key_compromise"  # its certificate was revoked for keyCompromise: the key is done


class Subscriptions:
    """Create, read, cancel and renew subscriptions; each method is one or a few units of work."""

    def __init__(
        self,
        storage: Storage,
        ra: RegistrationAuthority,
        registry: Registry,
        config: Config,
        clock: Clock,
        audit: AuditLog,
    ) -> None:
        self._storage = storage
        self._ra = ra
        self._registry = registry
        self._config = config
        self._clock = clock
        self._audit = audit
        #: Called with every renewal pass's report (the jobs' and the registry hook's alike).
        self.observers: list[RenewalObserver] = []

    # -- the holder's side ----------------------------------------------------------------------

    def create(
        self,
        organization_id: str,
        *,
        csr: bytes | None = None,
        public_key: bytes | None = None,
        scope: TNAuthList | None = None,
        lifetime: dt.timedelta | None = None,
        actor: str,
    ) -> SubscriptionView:
        """Register a key and a scope; the first certificate is issued at once (RFC 8739 §3.1)."""
        key_der = subject_key(csr, public_key).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        lifetime = self._check_lifetime(lifetime)
        if scope is not None:
            # Checked here too: an empty list must not be read as "no scope" (= everything).
            check_delegate_scope(scope)
        issued = self._ra.request_certificate(
            CertificateRequest(
                organization_id, None, scope, actor, lifetime=lifetime, public_key=key_der
            )
        )
        now = self._clock.now()
        subscription = Subscription(
            id=new_id("sub"),
            organization_id=organization_id,
            public_key_der=key_der,
            scope_der=scope.canonical().to_der() if scope is not None else None,
            lifetime_s=int(lifetime.total_seconds()),
            renew_fraction=DEFAULT_RENEW_FRACTION,
            status=store.ACTIVE,
            current_serial=issued.serial,
            renew_after=renew_at(issued.not_before, issued.not_after, DEFAULT_RENEW_FRACTION),
            created_at=now,
            created_by=actor,
        )
        with self._storage.transaction() as session:
            store.add_subscription(session, subscription)
            self._audit.record(
                session,
                actor=actor,
                action="subscription.created",
                object_type="subscription",
                object_id=subscription.id,
                details={
                    "organization": organization_id,
                    "scope": scope.to_json()[:50] if scope is not None else None,
                    "lifetime": subscription.lifetime_s,
                    "renew_fraction": subscription.renew_fraction,
                    "serial": issued.serial,
                },
            )
            certificate = repo.get_certificate(session, issued.serial)
        return self._view(subscription, certificate, now)

    def get(self, subscription_id: str, *, acting: Organization | None = None) -> SubscriptionView:
        """One subscription; another organization's is reported as missing."""
        with self._storage.read() as session:
            subscription = self._owned(session, subscription_id, acting)
            return self._view_in(session, subscription)

    def list(self, organization_id: str | None) -> builtins.list[SubscriptionView]:
        """An organization's subscriptions, oldest first (every one when ``organization_id`` is
        None: the operator's view)."""
        with self._storage.read() as session:
            found = store.list_subscriptions(session, organization_id)
            return [self._view_in(session, subscription) for subscription in found]

    def cancel(
        self, subscription_id: str, *, actor: str, acting: Organization | None = None
    ) -> SubscriptionView:
        """End the subscription and revoke its current certificate (cessationOfOperation).

        Cancelling an ended subscription changes nothing but still revokes a live certificate, so a
        cancel that failed half-way can simply be repeated.
        """
        now = self._clock.now()
        with self._storage.transaction() as session:
            subscription = self._owned(session, subscription_id, acting)
            if store.end_subscription(session, subscription.id, now, CANCELLED):
                self._record_end(session, subscription, CANCELLED, actor)
            certificate = self._certificate(session, subscription.current_serial)
        if certificate_status(certificate, now) == "valid":
            assert certificate is not None
            try:
                self._ra.revoke(
                    certificate.serial,
                    RevocationReason.CESSATION_OF_OPERATION,
                    actor=actor,
                    operator=_is_operator(acting),
                    organization_id=subscription.organization_id,
                    comment=f"subscription {subscription.id} cancelled",
                )
            except CAError as exc:
                if exc.kind is not ErrorKind.CONFLICT:  # revoked meanwhile: as good
                    raise
        return self.get(subscription.id, acting=acting)

    # -- renewal --------------------------------------------------------------------------------

    def renew_due(
        self, now: dt.datetime | None = None, *, organization_ids: Sequence[str] | None = None
    ) -> RenewalReport:
        """Renew every active subscription whose time has come or whose certificate was revoked
        (of ``organization_ids`` only, when given). One failure never stops the others."""
        now = now or self._clock.now()
        report = RenewalReport()
        with self._storage.read() as session:
            due = store.due_subscriptions(session, now, organization_ids)
        for subscription in due:
            try:
                self._renew(subscription, now, report)
            except Exception as exc:
                log.exception(
                    "renewal of subscription %s failed",
                    subscription.id,
                    extra={"subscription": subscription.id},
                )
                error = f"{exc.kind.value}: {exc}" if isinstance(exc, CAError) else "internal"
                report.failed.append({"subscription": subscription.id, "error": error})
        for observer in self.observers:
            try:
                observer(report)
            except Exception:
                log.exception("a renewal observer failed")
        return report

    def _renew(self, subscription: Subscription, now: dt.datetime, report: RenewalReport) -> None:
        # 1. Where the current certificate stands.
        with self._storage.read() as session:
            current = self._certificate(session, subscription.current_serial)
        status = certificate_status(current, now)
        why = "due" if status == "valid" else status or "missing"
        # 2. A key revoked as compromised is never certified again.
        revocation = current.revocation if current else None
        if revocation is not None and revocation.reason == RevocationReason.KEY_COMPROMISE.value:
            self._end(subscription, KEY_COMPROMISE, report)
            return
        # 3. What the registry authorizes of the scope now; nothing left ends the subscription.
        scope = self._next_scope(subscription)
        if scope is None:
            self._end(subscription, UNAUTHORIZED, report)
            return
        # 4. A certificate that would end with the current one gains nothing: look again later.
        if why == "due" and current is not None and not self._gains(subscription, current, scope):
            later = now + max((current.not_after - now) * subscription.renew_fraction, MIN_RECHECK)
            with self._storage.transaction() as session:
                store.set_renew_after(
                    session,
                    subscription.id,
                    expected_serial=subscription.current_serial,
                    renew_after=later.replace(microsecond=0),
                )
            report.deferred.append(subscription.id)
            return
        # 5. Issue through the registration authority, then move the subscription to it.
        issued = self._ra.request_certificate(
            CertificateRequest(
                subscription.organization_id,
                None,
                scope,
                SUBSCRIPTION_ACTOR,
                lifetime=self._lifetime(subscription),
                public_key=subscription.public_key_der,
            )
        )
        dropped = scope_of(current).difference(scope) if current else None
        with self._storage.transaction() as session:
            moved = store.set_current(
                session,
                subscription.id,
                expected_serial=subscription.current_serial,
                serial=issued.serial,
                renew_after=renew_at(
                    issued.not_before, issued.not_after, subscription.renew_fraction
                ),
            )
            if moved:
                self._audit.record(
                    session,
                    actor=SUBSCRIPTION_ACTOR,
                    action="subscription.renewed",
                    object_type="subscription",
                    object_id=subscription.id,
                    details={
                        "previous": subscription.current_serial,
                        "serial": issued.serial,
                        "why": why,
                        "dropped": dropped.to_json()[:50] if dropped else [],
                    },
                )
        if not moved:
            # Another process renewed or ended it meanwhile: this certificate serves nobody.
            self._ra.revoke(
                issued.serial,
                RevocationReason.SUPERSEDED,
                actor=SUBSCRIPTION_ACTOR,
                operator=True,
                comment=f"subscription {subscription.id} was renewed or ended concurrently",
            )
            raise CAError(
                ErrorKind.CONFLICT,
                f"subscription {subscription.id} changed during its renewal",
                field="id",
            )
        report.renewed.append(
            {
                "subscription": subscription.id,
                "serial": issued.serial,
                "previous": subscription.current_serial or "",
                "why": why,
            }
        )

    def _next_scope(self, subscription: Subscription) -> TNAuthList | None:
        """The requested scope ∩ what the registry authorizes now (all of it when none was asked)."""
        authorized = self._registry.authorized_scope(subscription.organization_id)
        if authorized is None:
            return None
        if subscription.scope_der is not None:
            authorized = TNAuthList.from_der(subscription.scope_der).intersection(authorized)
        return authorized if authorized.has_numbers else None

    def _gains(
        self, subscription: Subscription, current: CertificateRecord, scope: TNAuthList
    ) -> bool:
        """Would a certificate issued now carry other numbers or outlast the current one?"""
        if scope != scope_of(current):
            return True
        until = self._registry.authorize(subscription.organization_id, scope).until
        return min(self._clock.now() + self._lifetime(subscription), until) > current.not_after

    def _end(self, subscription: Subscription, reason: str, report: RenewalReport) -> None:
        with self._storage.transaction() as session:
            if store.end_subscription(session, subscription.id, self._clock.now(), reason):
                self._record_end(session, subscription, reason, SUBSCRIPTION_ACTOR)
        report.ended.append({"subscription": subscription.id, "reason": reason})

    # -- helpers --------------------------------------------------------------------------------

    def _check_lifetime(self, lifetime: dt.timedelta | None) -> dt.timedelta:
        issuance = self._config.issuance
        lifetime = issuance.default_lifetime if lifetime is None else lifetime
        if lifetime > issuance.max_lifetime:
            raise malformed(
                "lifetime", f"must be at most {issuance.max_lifetime} (issuance.max_lifetime)"
            )
        if lifetime < MIN_LIFETIME:
            raise malformed(
                "lifetime",
                f"must be at least {MIN_LIFETIME}: each certificate is renewed before it ends",
            )
        return dt.timedelta(seconds=int(lifetime.total_seconds()))

    def _lifetime(self, subscription: Subscription) -> dt.timedelta:
        # A maximum lowered since the subscription was made applies to its next certificates.
        asked = dt.timedelta(seconds=subscription.lifetime_s)
        return min(asked, self._config.issuance.max_lifetime)

    def _owned(
        self, session: Session, subscription_id: str, acting: Organization | None
    ) -> Subscription:
        subscription = store.get_subscription(session, str(subscription_id))
        # Another organization's subscription is reported as missing, never as forbidden, so
        # ids cannot be probed across tenants.
        if subscription is None or (
            not _is_operator(acting)
            and acting is not None
            and subscription.organization_id != acting.id
        ):
            raise CAError(ErrorKind.NOT_FOUND, f"no subscription {subscription_id!r}", field="id")
        return subscription

    @staticmethod
    def _certificate(session: Session, serial: str | None) -> CertificateRecord | None:
        return repo.get_certificate(session, serial) if serial else None

    def _record_end(
        self, session: Session, subscription: Subscription, reason: str, actor: str
    ) -> None:
        self._audit.record(
            session,
            actor=actor,
            action="subscription.ended",
            object_type="subscription",
            object_id=subscription.id,
            details={"reason": reason, "serial": subscription.current_serial},
        )

    def _view_in(self, session: Session, subscription: Subscription) -> SubscriptionView:
        certificate = self._certificate(session, subscription.current_serial)
        return self._view(subscription, certificate, self._clock.now())

    def _view(
        self, subscription: Subscription, certificate: CertificateRecord | None, now: dt.datetime
    ) -> SubscriptionView:
        serial = subscription.current_serial
        return SubscriptionView(
            subscription,
            certificate,
            self._config.certificate_url(serial) if serial else None,
            certificate_status(certificate, now),
        )


def _is_operator(acting: Organization | None) -> bool:
    return acting is None or acting.kind == "operator"
