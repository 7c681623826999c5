"""Read-side repository functions of the TN registry: the parties of a post, the status of one
number, the certificates reconciliation checks and traceback finds (and the basis each was issued
on). Each takes the caller's session and never commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from ca.storage.models import (
    AssignmentRow,
    AssignmentSpanRow,
    CertificateRangeRow,
    CertificateRow,
    OrganizationRow,
    RevocationRow,
    UTCDateTime,
)
from ca.storage.records import Organization
from ca.storage.registry import KINDS, SPAN_BLOCK

# --- parties -------------------------------------------------------------------------------


def authority_spans_at(
    session: Session, authority_ids: Sequence[str], at: dt.datetime
) -> list[tuple[int, int, int]]:
    """The numbers that these TN authorities vouch for at ``at``: (length, lo, hi)."""
    span = AssignmentSpanRow
    rows = session.execute(
        select(span.length, span.lo, span.hi)
        .join(AssignmentRow, AssignmentRow.id == span.assignment_id)
        .where(
            AssignmentRow.authority_id.in_(list(authority_ids)),
            span.active_from <= at,
            span.active_until > at,
        )
    ).all()
    return [(int(n), int(lo), int(hi)) for n, lo, hi in rows]


def organizations(session: Session, ids: Iterable[str]) -> dict[str, Organization]:
    """The organizations with these ids (those that exist), by id: one query."""
    wanted = sorted(set(ids))
    found: dict[str, Organization] = {}
    for start in range(0, len(wanted), 500):
        rows = session.scalars(
            select(OrganizationRow).where(OrganizationRow.id.in_(wanted[start : start + 500]))
        )
        found.update(
            (row.id, Organization(row.id, row.kind, row.name, row.spid, row.created_at))
            for row in rows
        )
    return found


def organizations_with_spid(session: Session, spid: str) -> list[str]:
    return list(session.scalars(select(OrganizationRow.id).where(OrganizationRow.spid == spid)))


# --- status of one number ------------------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    """A right over one number in force now, with the names of the parties (TN status)."""

    grant_id: str
    holder_id: str
    holder_name: str
    grantor_id: str
    grantor_name: str
    grantor_spid: str | None
    enterprise_id: str
    active_from: dt.datetime
    active_until: dt.datetime


def holdings(
    session: Session, kind: str, length: int, number: int, at: dt.datetime
) -> list[Holding]:
    """Assignments (or delegations) in force over one number at ``at``: one query, names
    joined in, for the status document."""
    params = {"length": length, "number": number, "lowest": number - SPAN_BLOCK + 1, "at": at}
    rows = session.connection().execute(_HOLDINGS[kind], params)  # Core: no ORM overhead
    return [Holding(*row) for row in rows]


def _holdings_statement(kind: str) -> Any:
    # Built once: constructing a select with aliases costs more than running it.
    spec = KINDS[kind]
    span = spec.span
    holder, grantor = aliased(OrganizationRow), aliased(OrganizationRow)
    return (
        select(
            spec.grant_column,
            holder.id,
            holder.name,
            grantor.id,
            grantor.name,
            grantor.spid,
            span.enterprise_id,
            span.active_from,
            span.active_until,
        )
        .join(spec.grant, spec.grant.id == spec.grant_column)
        .join(holder, holder.id == spec.holder)
        .join(grantor, grantor.id == spec.grantor)
        .where(
            span.length == bindparam("length"),
            span.lo.between(bindparam("lowest"), bindparam("number")),
            span.hi >= bindparam("number"),
            span.active_from <= bindparam("at", type_=UTCDateTime()),
            span.active_until > bindparam("at", type_=UTCDateTime()),
        )
        .order_by(span.enterprise_id, spec.grant_column)
    )


_HOLDINGS = {kind: _holdings_statement(kind) for kind in KINDS}


# --- certificates, as the registry sees them -----------------------------------------------


@dataclass(frozen=True)
class LiveCertificate:
    """An unrevoked, unexpired certificate and the basis it was issued on."""

    serial: str
    issuer_id: str
    organization_id: str | None
    tn_auth_list_der: bytes | None
    not_before: dt.datetime
    not_after: dt.datetime
    basis: str | None


def live_certificates(
    session: Session, now: dt.datetime, organization_ids: Sequence[str] | None = None
) -> list[LiveCertificate]:
    """Delegate certificates still valid and not revoked (reconciliation checks each)."""
    query = (
        select(
            CertificateRow.serial,
            CertificateRow.issuer_id,
            CertificateRow.organization_id,
            CertificateRow.tn_auth_list_der,
            CertificateRow.not_before,
            CertificateRow.not_after,
            CertificateRow.basis,
        )
        .outerjoin(RevocationRow, RevocationRow.serial == CertificateRow.serial)
        .where(
            CertificateRow.not_after > now,
            RevocationRow.serial.is_(None),
            CertificateRow.organization_id.is_not(None),
        )
        .order_by(CertificateRow.serial)
    )
    if organization_ids is not None:
        query = query.where(CertificateRow.organization_id.in_(list(organization_ids)))
    return [LiveCertificate(*row) for row in session.execute(query)]


@dataclass(frozen=True)
class CertificateAt:
    """A certificate whose numbers include a traced number, with its status at that moment."""

    serial: str
    issuer_id: str
    organization_id: str | None
    not_before: dt.datetime
    not_after: dt.datetime
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    basis: str | None


def certificates_covering(session: Session, length: int, number: int) -> list[CertificateAt]:
    """Every certificate ever issued whose TNAuthList includes the number."""
    rows = session.execute(
        select(
            CertificateRow.serial,
            CertificateRow.issuer_id,
            CertificateRow.organization_id,
            CertificateRow.not_before,
            CertificateRow.not_after,
            RevocationRow.revoked_at,
            RevocationRow.reason,
            CertificateRow.basis,
        )
        .join(CertificateRangeRow, CertificateRangeRow.serial == CertificateRow.serial)
        .outerjoin(RevocationRow, RevocationRow.serial == CertificateRow.serial)
        .where(
            CertificateRangeRow.length == length,
            CertificateRangeRow.lo <= number,
            CertificateRangeRow.hi >= number,
        )
        .order_by(CertificateRow.not_before, CertificateRow.serial)
        .distinct()
    ).all()
    return [CertificateAt(*row) for row in rows]
