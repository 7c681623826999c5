"""Organizations: who holds numbers, who acts for them, who vouches for them."""

from __future__ import annotations

import re
import secrets
import time

from ca.audit import AuditLog
from ca.clock import Clock
from ca.errors import CAError, ErrorKind, malformed
from ca.storage import repo
from ca.storage.engine import Storage
from ca.storage.records import Organization

KINDS = ("enterprise", "bpo", "tn_authority", "operator")
_SPID = re.compile(r"^[0-9A-Z]{4}$")


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def sortable_id(prefix: str) -> str:
    """An id for objects made by the million (registry grants): milliseconds since the epoch,
    then 48 random bits. New ids sort after old ones, so index inserts append instead of
    scattering, and two ids collide only if made in the same millisecond with the same 48 bits.
    """
    return f"{prefix}-{time.time_ns() // 1_000_000:011x}{secrets.token_hex(6)}"


class Organizations:
    def __init__(self, storage: Storage, clock: Clock, audit: AuditLog) -> None:
        self._storage = storage
        self._clock = clock
        self._audit = audit

    def add(self, kind: str, name: str, spid: str | None = None, *, actor: str) -> Organization:
        """Onboard an organization; a TN authority names its SPID (or RespOrg id)."""
        if kind not in KINDS:
            raise malformed("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        name = (name or "").strip()
        if not name or len(name) > 200 or not name.isprintable():
            raise malformed("name", "must be 1-200 printable characters")
        if spid is not None:
            spid = spid.strip().upper()
            if not _SPID.match(spid):
                raise malformed(
                    "spid", f"{spid!r} is not an SPID/OCN (4 digits or capital letters)"
                )
        org = Organization(new_id("org"), kind, name, spid, self._clock.now())
        with self._storage.transaction() as session:
            repo.add_organization(session, org)
            self._audit.record(
                session,
                actor=actor,
                action="organization.added",
                object_type="organization",
                object_id=org.id,
                details={"kind": kind, "name": name, "spid": spid},
            )
        return org

    def get(self, org_id: str) -> Organization:
        with self._storage.read() as session:
            org = repo.get_organization(session, org_id)
        if org is None:
            raise CAError(ErrorKind.NOT_FOUND, f"no organization {org_id!r}", field="organization")
        return org
