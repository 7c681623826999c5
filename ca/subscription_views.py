"""What a subscription looks like to its holder, and what a renewal pass did."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ca.durations import format_duration
from ca.storage.records import CertificateRecord, Subscription
from ca.tnauth import TNAuthList


def renew_at(not_before: dt.datetime, not_after: dt.datetime, fraction: float) -> dt.datetime:
    """When to renew a certificate: ``fraction`` of its validity (RFC 8739 leaves it to the CA).

    The validity, not the lifetime asked for: a certificate capped by evidence that ends sooner
    is renewed within its shorter life.
    """
    return (not_before + (not_after - not_before) * fraction).replace(microsecond=0)


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription with its current certificate, as its holder sees it."""

    subscription: Subscription
    certificate: CertificateRecord | None
    x5u: str | None
    certificate_status: str | None  # valid | revoked | expired

    @property
    def id(self) -> str:
        return self.subscription.id

    @property
    def serial(self) -> str | None:
        return self.subscription.current_serial

    @property
    def not_after(self) -> dt.datetime | None:
        return self.certificate.not_after if self.certificate else None

    @property
    def requested_scope(self) -> TNAuthList | None:
        """The numbers asked for; None asks for every number the holder may use."""
        der = self.subscription.scope_der
        return TNAuthList.from_der(der) if der is not None else None

    @property
    def scope(self) -> TNAuthList | None:
        """The numbers the current certificate carries."""
        der = self.certificate.tn_auth_list_der if self.certificate else None
        return TNAuthList.from_der(der) if der is not None else None

    def to_json(self) -> dict[str, Any]:
        """The HTTP API's shape: the current certificate's numbers as ``tns``/``ranges`` (as a
        certificate shows them), what was asked for under ``requested`` (null: everything)."""
        sub, cert = self.subscription, self.certificate
        requested, scope = self.requested_scope, self.scope
        numbers = scope.to_scope_json() if scope is not None else {"tns": [], "ranges": []}
        return {
            "id": sub.id,
            "organization": sub.organization_id,
            "status": sub.status,
            "serial": sub.current_serial,
            "x5u": self.x5u,
            "not_before": cert.not_before.isoformat() if cert else None,
            "not_after": cert.not_after.isoformat() if cert else None,
            "certificate_status": self.certificate_status,
            **numbers,
            "requested": requested.to_scope_json() if requested is not None else None,
            "lifetime": format_duration(dt.timedelta(seconds=sub.lifetime_s)),
            "renew_fraction": round(sub.renew_fraction, 4),
            "renew_after": sub.renew_after.isoformat() if sub.renew_after else None,
            "created_at": sub.created_at.isoformat(),
            "ended_at": sub.ended_at.isoformat() if sub.ended_at else None,
            "end_reason": sub.end_reason,
        }


@dataclass
class RenewalReport:
    """What one renewal pass did, per subscription; ``counts()`` is what metrics read."""

    # subscription, serial, previous, why
    renewed: list[dict[str, str]] = field(default_factory=list)
    ended: list[dict[str, str]] = field(default_factory=list)  # subscription, reason
    deferred: list[str] = field(default_factory=list)  # a new certificate would gain nothing yet
    failed: list[dict[str, str]] = field(default_factory=list)  # subscription, error

    def counts(self) -> dict[str, int]:
        return {
            "renewed": len(self.renewed),
            "ended": len(self.ended),
            "deferred": len(self.deferred),
            "failed": len(self.failed),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "renewed": self.renewed,
            "ended": self.ended,
            "deferred": self.deferred,
            "failed": self.failed,
        }


RenewalObserver = Callable[[RenewalReport], object]


def certificate_status(certificate: CertificateRecord | None, now: dt.datetime) -> str | None:
    if certificate is None:
        return None
    if certificate.revocation is not None:
        return "revoked"
    return "expired" if certificate.not_after <= now else "valid"


def scope_of(certificate: CertificateRecord) -> TNAuthList:
    der = certificate.tn_auth_list_der
    return TNAuthList.from_der(der) if der is not None else TNAuthList.from_intervals([])
