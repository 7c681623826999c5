"""Repository functions of the jobs lease: the database row that makes exactly one process the
jobs leader. Each takes the caller's session and never commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ca.storage.models import LeaseRow


def take_lease(
    session: Session, name: str, holder: str, now: dt.datetime, until: dt.datetime
) -> bool:
    """Take or renew the lease ``name`` for ``holder`` if it is free, expired or already ours."""
    row = session.get(LeaseRow, name, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(LeaseRow(name=name, holder=holder, expires_at=until))
        except IntegrityError:
            # Another unit of work created the lease at the same moment: it is ours if that
            # unit of work was ours (another thread of this process), otherwise theirs.
            session.expire_all()
            row = session.get(LeaseRow, name, with_for_update=True)
            return row is not None and row.holder == holder
        return True
    if row.holder != holder and row.expires_at > now:
        return False
    row.holder, row.expires_at = holder, until
    return True


def release_lease(session: Session, name: str, holder: str) -> None:
    session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))
