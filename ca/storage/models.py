"""SQLAlchemy 2 typed models: the only place table shapes are written down (besides migrations)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone; PostgreSQL uses timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class OrganizationRow(Base):
    __tablename__ = "organizations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    spid: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class IssuerRow(Base):
    """A signing identity: the dev root, an SCA, or a CRL signer, with its key's URI (never the key)."""

    __tablename__ = "issuers"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))  # root | sca | crl_signer
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("issuers.id"))
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    chain_pem: Mapped[str] = mapped_column(Text)  # certificates above this one, root omitted
    key_uri: Mapped[str] = mapped_column(String(500))
    crl_model: Mapped[str] = mapped_column(String(10))  # direct | indirect
    crl_signer_id: Mapped[str | None] = mapped_column(ForeignKey("issuers.id"))
    active: Mapped[bool] = mapped_column(Boolean)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CounterRow(Base):
    """Monotonic counters (CRL numbers per issuer): incremented with UPDATE ... RETURNING."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class SerialRow(Base):
    """A serial reserved before anything is signed with it (ARCHITECTURE.md issuance step 2)."""

    __tablename__ = "serials"
    serial: Mapped[str] = mapped_column(String(42), primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    reserved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class IntentRow(Base):
    """The linted copy of a certificate about to be signed: the record of intent (step 4)."""

    __tablename__ = "intents"
    serial: Mapped[str] = mapped_column(ForeignKey("serials.serial"), primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    profile: Mapped[str] = mapped_column(String(40))
    lint_der: Mapped[bytes] = mapped_column(LargeBinary)
    tbs_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CertificateRow(Base):
    __tablename__ = "certificates"
    serial: Mapped[str] = mapped_column(ForeignKey("serials.serial"), primary_key=True)
    # Not indexed: nothing reads certificates by issuer (CRLs go through revocations.issuer_id),
    # and every index is one more page written by each issuance's commit.
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    profile: Mapped[str] = mapped_column(String(40))
    der: Mapped[bytes] = mapped_column(LargeBinary)
    tn_auth_list_der: Mapped[bytes | None] = mapped_column(LargeBinary)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # On what a delegate certificate was issued: "registry" (the registry's word) or "operator"
    # (an audited override, with its reason); NULL for SP and CA certificates. Columns, not a
    # table keyed by serial: that was one more random page per issuance (migration 0005).
    basis: Mapped[str | None] = mapped_column(String(20))
    basis_reason: Mapped[str | None] = mapped_column(Text)


class CertificateRangeRow(Base):
    """The numbers a certificate carries as (length, lo, hi), for "which certificates cover N"."""

    __tablename__ = "certificate_ranges"
    __table_args__ = (Index("ix_certificate_ranges_lookup", "length", "lo", "hi"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Not indexed by serial: nothing reads ranges by certificate, and certificates are never
    # deleted (migration 0005).
    serial: Mapped[str] = mapped_column(ForeignKey("certificates.serial"))
    length: Mapped[int] = mapped_column(Integer)
    lo: Mapped[int] = mapped_column(BigInteger)
    hi: Mapped[int] = mapped_column(BigInteger)


class RevocationRow(Base):
    __tablename__ = "revocations"
    serial: Mapped[str] = mapped_column(ForeignKey("certificates.serial"), primary_key=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    revoked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)


class CRLRow(Base):
    __tablename__ = "crls"
    __table_args__ = (UniqueConstraint("issuer_id", "number", name="uq_crls_issuer_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    number: Mapped[int] = mapped_column(BigInteger)
    this_update: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_update: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    der: Mapped[bytes] = mapped_column(LargeBinary)


class AuditHeadRow(Base):
    """The chain head: locked by every appender so sequence numbers and hashes stay in one line."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


#: 64-bit everywhere; on SQLite spelled INTEGER so a primary key is the rowid itself (one B-tree
#: fewer to write on every commit).
RowId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False)
    # Not indexed: events are read by seq (which is their time order) or by object_id.
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80), index=True)
    details: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# --- TN registry (issue 3) -------------------------------------------------------------------


class ApiKeyRow(Base):
    """An API key: only its SHA-256 is kept; the secret is shown once, when it is created."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AssignmentRow(Base):
    """A TN authority's word that an enterprise may use some numbers from valid_from to expires_at."""

    __tablename__ = "assignments"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Not indexed: an enterprise's numbers are found through its spans, and a bulk import of a
    # million assignments pays for every index on every row. No foreign keys either: on
    # PostgreSQL each is one more query a row (half the server's time in a bulk import), and the
    # registry checks both parties itself, under its lock, before it writes (migration 0004).
    authority_id: Mapped[str] = mapped_column(String(40))
    enterprise_id: Mapped[str] = mapped_column(String(40))
    # Authority + enterprise + numbers. Not indexed: a re-post finds its grant through the span
    # where its numbers start (see _restated in ca.registry.assignments).
    scope_key: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    evidence: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    transferred_from: Mapped[str | None] = mapped_column(String(40))


class AssignmentSpanRow(Base):
    """Numbers of an assignment for a period: (length, lo, hi), at most one thousands-block each.

    Spans never cross a block of ``SPAN_BLOCK`` numbers, so every span overlapping number n starts
    in ``[n - SPAN_BLOCK + 1, n]``: coverage and conflicts are bounded index range scans.
    """

    __tablename__ = "assignment_spans"
    __table_args__ = (
        Index("ix_assignment_spans_number", "length", "lo"),
        Index("ix_assignment_spans_holder", "enterprise_id", "length", "lo"),
    )
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    # No foreign key: a span is written in the same transaction as its assignment.
    assignment_id: Mapped[str] = mapped_column(String(40), index=True)
    enterprise_id: Mapped[str] = mapped_column(String(40))
    shared: Mapped[bool] = mapped_column(Boolean)  # toll-free: several enterprises may hold it
    length: Mapped[int] = mapped_column(Integer)
    lo: Mapped[int] = mapped_column(BigInteger)
    hi: Mapped[int] = mapped_column(BigInteger)
    active_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    active_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DelegationRow(Base):
    """An enterprise's word that a BPO may use a subset of its numbers until a campaign ends."""

    __tablename__ = "delegations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    bpo_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    scope_key: Mapped[str] = mapped_column(String(64))  # found through spans, as assignments'
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    evidence: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))


class DelegationSpanRow(Base):
    """Numbers of a delegation for a period; same block rule as assignment spans."""

    __tablename__ = "delegation_spans"
    __table_args__ = (
        Index("ix_delegation_spans_holder", "bpo_id", "length", "lo"),
        Index("ix_delegation_spans_enterprise", "enterprise_id", "length", "lo"),
        Index("ix_delegation_spans_number", "length", "lo"),
    )
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    delegation_id: Mapped[str] = mapped_column(ForeignKey("delegations.id"), index=True)
    enterprise_id: Mapped[str] = mapped_column(String(40))
    bpo_id: Mapped[str] = mapped_column(String(40))
    length: Mapped[int] = mapped_column(Integer)
    lo: Mapped[int] = mapped_column(BigInteger)
    hi: Mapped[int] = mapped_column(BigInteger)
    active_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    active_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LeaseRow(Base):
    """A named lease: the one process that holds it runs the scheduled jobs until it expires."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SubscriptionRow(Base):
    """A holder's standing order (after RFC 8739 STAR): one key, one scope, fresh certificates
    for as long as the registry authorizes the scope."""

    __tablename__ = "subscriptions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    public_key_der: Mapped[bytes] = mapped_column(LargeBinary)
    # The TNAuthList asked for (DER); NULL asks for every number the holder may use at each renewal.
    scope_der: Mapped[bytes | None] = mapped_column(LargeBinary)
    lifetime_s: Mapped[int] = mapped_column(Integer)
    renew_fraction: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # active | ended
    current_serial: Mapped[str | None] = mapped_column(String(40))
    renew_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
