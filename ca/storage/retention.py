"""Repository functions of the purge job: delete rows that are long dead and answer no traceback
question. Each takes the caller's session, never commits, and returns how many rows went.

Certificates, revocations, grants, spans, serials and audit events are never deleted here: they
are what "who was authorized to present number N at time T, and which certificate said so"
is answered from, and the audit chain must stay whole.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session, aliased

from ca.storage.models import CertificateRow, CRLRow, IntentRow, LeaseRow


def delete_superseded_crls(session: Session, before: dt.datetime) -> int:
    """CRLs whose nextUpdate passed before ``before`` and that a newer CRL of the issuer replaced.

    The newest CRL of every issuer is kept whatever its age: it is the one being served.
    """
    newer = aliased(CRLRow)
    superseded = (
        select(newer.id)
        .where(newer.issuer_id == CRLRow.issuer_id, newer.number > CRLRow.number)
        .exists()
    )
    result = session.execute(delete(CRLRow).where(CRLRow.next_update < before, superseded))
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_expired_leases(session: Session, before: dt.datetime) -> int:
    """Leases that ran out before ``before``: their holders are gone."""
    result = session.execute(delete(LeaseRow).where(LeaseRow.expires_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_orphan_intents(session: Session, before: dt.datetime) -> int:
    """Records of intent made before ``before`` that never became a certificate.

    The serial stays reserved (never reused), and the "certificate.signing" audit event keeps the
    intended numbers, validity and TBS hash.
    """
    signed = exists().where(CertificateRow.serial == IntentRow.serial)
    result = session.execute(delete(IntentRow).where(IntentRow.created_at < before, ~signed))
    return int(result.rowcount)  # type: ignore[attr-defined]
