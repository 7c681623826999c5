"""Repository functions of subscriptions. Each takes the caller's session and never commits.

Changes to a subscription are compare-and-set on its current serial: a renewal started by the
jobs leader and one started by a registry change in a web process cannot both move it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ca.storage.models import RevocationRow, SubscriptionRow
from ca.storage.records import Subscription

ACTIVE = "active"
ENDED = "ended"


def add_subscription(session: Session, subscription: Subscription) -> None:
    session.add(SubscriptionRow(**subscription.__dict__))


def get_subscription(session: Session, subscription_id: str) -> Subscription | None:
    row = session.get(SubscriptionRow, subscription_id)
    return _subscription(row) if row else None


def list_subscriptions(session: Session, organization_id: str | None) -> list[Subscription]:
    """An organization's subscriptions (every one when ``organization_id`` is None), oldest first."""
    query = select(SubscriptionRow).order_by(SubscriptionRow.created_at, SubscriptionRow.id)
    if organization_id is not None:
        query = query.where(SubscriptionRow.organization_id == organization_id)
    return [_subscription(row) for row in session.scalars(query)]


def due_subscriptions(
    session: Session, now: dt.datetime, organization_ids: Sequence[str] | None = None
) -> list[Subscription]:
    """Active subscriptions whose renewal time has come or whose current certificate is revoked.

    An expired certificate needs no test of its own: ``renew_after`` always lies before the
    certificate's notAfter.
    """
    query = (
        select(SubscriptionRow)
        .outerjoin(RevocationRow, RevocationRow.serial == SubscriptionRow.current_serial)
        .where(
            SubscriptionRow.status == ACTIVE,
            or_(
                SubscriptionRow.renew_after.is_(None),
                SubscriptionRow.renew_after <= now,
                RevocationRow.serial.is_not(None),
            ),
        )
        .order_by(SubscriptionRow.renew_after, SubscriptionRow.id)
    )
    if organization_ids is not None:
        query = query.where(SubscriptionRow.organization_id.in_(list(organization_ids)))
    return [_subscription(row) for row in session.scalars(query)]


def set_current(
    session: Session,
    subscription_id: str,
    *,
    expected_serial: str | None,
    serial: str,
    renew_after: dt.datetime,
) -> bool:
    """Point an active subscription at its new certificate, if nobody moved it since it was read."""
    return _update_active(
        session,
        subscription_id,
        expected_serial,
        {"current_serial": serial, "renew_after": renew_after},
    )


def set_renew_after(
    session: Session, subscription_id: str, *, expected_serial: str | None, renew_after: dt.datetime
) -> bool:
    """Look at the subscription again at ``renew_after`` (nothing was issued this time)."""
    return _update_active(session, subscription_id, expected_serial, {"renew_after": renew_after})


def end_subscription(session: Session, subscription_id: str, at: dt.datetime, reason: str) -> bool:
    """End an active subscription; False if it had already ended."""
    result = session.execute(
        update(SubscriptionRow)
        .where(SubscriptionRow.id == subscription_id, SubscriptionRow.status == ACTIVE)
        .values(status=ENDED, ended_at=at, end_reason=reason, renew_after=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def delete_ended_subscriptions(session: Session, before: dt.datetime) -> int:
    """Forget subscriptions that ended before ``before`` (their certificates and events stay)."""
    result = session.execute(
        delete(SubscriptionRow).where(
            SubscriptionRow.status == ENDED, SubscriptionRow.ended_at < before
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _update_active(
    session: Session, subscription_id: str, expected_serial: str | None, values: dict[str, Any]
) -> bool:
    current = (
        SubscriptionRow.current_serial.is_(None)
        if expected_serial is None
        else SubscriptionRow.current_serial == expected_serial
    )
    result = session.execute(
        update(SubscriptionRow)
        .where(SubscriptionRow.id == subscription_id, SubscriptionRow.status == ACTIVE, current)
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _subscription(row: SubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id,
        organization_id=row.organization_id,
        public_key_der=row.public_key_der,
        scope_der=row.scope_der,
        lifetime_s=row.lifetime_s,
        renew_fraction=row.renew_fraction,
        status=row.status,
        current_serial=row.current_serial,
        renew_after=row.renew_after,
        created_at=row.created_at,
        created_by=row.created_by,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
    )
