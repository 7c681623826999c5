"""Domain records that storage returns: plain frozen dataclasses, so rows never leave ca/storage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Organization:
    id: str
    kind: str  # enterprise | bpo | tn_authority | operator
    name: str
    spid: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class IssuerRecord:
    id: str
    role: str  # root | sca | crl_signer
    parent_id: str | None
    certificate_der: bytes
    chain_pem: str
    key_uri: str
    crl_model: str  # direct | indirect
    crl_signer_id: str | None
    active: bool
    not_before: dt.datetime
    not_after: dt.datetime
    created_at: dt.datetime


@dataclass(frozen=True)
class Revocation:
    serial: str
    issuer_id: str
    reason: str
    revoked_at: dt.datetime
    revoked_by: str
    comment: str | None = None


@dataclass(frozen=True)
class CertificateRecord:
    serial: str
    issuer_id: str
    organization_id: str | None
    profile: str
    der: bytes
    tn_auth_list_der: bytes | None
    not_before: dt.datetime
    not_after: dt.datetime
    issued_at: dt.datetime
    revocation: Revocation | None = None


@dataclass(frozen=True)
class Intent:
    serial: str
    issuer_id: str
    organization_id: str | None
    profile: str
    lint_der: bytes
    tbs_sha256: str
    created_at: dt.datetime


@dataclass(frozen=True)
class CRLRecord:
    issuer_id: str
    number: int
    this_update: dt.datetime
    next_update: dt.datetime
    der: bytes


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""


# --- TN registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    """An API key's public half: the secret itself is never stored."""

    id: str
    organization_id: str
    role: str
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True)
class Grant:
    """An assignment (authority -> enterprise) or a delegation (enterprise -> BPO)."""

    id: str
    kind: str  # assignment | delegation
    grantor_id: str  # the TN authority, or the delegating enterprise
    holder_id: str  # the enterprise, or the BPO
    scope_key: str
    valid_from: dt.datetime
    expires_at: dt.datetime
    evidence: str
    created_at: dt.datetime
    created_by: str
    ended_at: dt.datetime | None = None
    end_reason: str | None = None
    transferred_from: str | None = None

    def is_active(self, at: dt.datetime) -> bool:
        end = self.ended_at if self.ended_at is not None else self.expires_at
        return self.valid_from <= at < min(end, self.expires_at)


@dataclass(frozen=True)
class Span:
    """Numbers ``(length, lo, hi)`` of one grant for the period [active_from, active_until)."""

    grant_id: str
    holder_id: str
    enterprise_id: str
    length: int
    lo: int
    hi: int
    active_from: dt.datetime
    active_until: dt.datetime
    shared: bool = False
    id: int | None = None


# --- subscriptions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """A holder's standing order for fresh delegate certificates (after RFC 8739 STAR)."""

    id: str
    organization_id: str
    public_key_der: bytes  # P-256 SubjectPublicKeyInfo
    scope_der: bytes | None  # the TNAuthList asked for; None: all the holder may use then
    lifetime_s: int
    renew_fraction: float
    status: str  # active | ended
    current_serial: str | None
    renew_after: dt.datetime | None
    created_at: dt.datetime
    created_by: str
    ended_at: dt.datetime | None = None
    end_reason: str | None = None
