"""Repository functions of API keys: each takes the caller's session and never commits.

Only the key's SHA-256 is stored; the secret is shown once, when the key is made.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ca.storage.models import ApiKeyRow
from ca.storage.records import ApiKey
from ca.storage.repo import DriverSQL, Unit


def add_api_key(session: Session, key: ApiKey, secret_sha256: str) -> None:
    session.add(
        ApiKeyRow(
            id=key.id,
            organization_id=key.organization_id,
            role=key.role,
            secret_sha256=secret_sha256,
            created_at=key.created_at,
            created_by=key.created_by,
            revoked_at=key.revoked_at,
        )
    )


def get_api_key(session: Session, key_id: str) -> tuple[ApiKey, str] | None:
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        return None
    return _api_key(row), row.secret_sha256


def list_api_keys(session: Session, organization_id: str) -> list[ApiKey]:
    rows = session.scalars(
        select(ApiKeyRow).where(ApiKeyRow.organization_id == organization_id).order_by(ApiKeyRow.id)
    )
    return [_api_key(row) for row in rows]


def revoke_api_key(session: Session, key_id: str, at: dt.datetime) -> bool:
    result = session.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        row.id, row.organization_id, row.role, row.created_at, row.created_by, row.revoked_at
    )


_KEY_REVOKED_AT = DriverSQL("SELECT revoked_at FROM api_keys WHERE id = :id")


def is_usable(unit: Unit, key_id: str) -> bool:
    """Whether the key still exists unrevoked (one primary-key read on the driver, for
    remembered keys: every authenticated request makes it)."""
    rows = _KEY_REVOKED_AT.execute(unit, {"id": key_id})
    return bool(rows) and rows[0][0] is None
