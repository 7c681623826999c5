"""API keys: random, shown once, stored only as a SHA-256, bound to one organization and role.

A key reads ``dlg_<key id>_<secret>``: the id finds the row, the secret (256 random bits) is
compared by hash in constant time. A 256-bit secret needs no slow hash: nothing can be guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from ca.audit import AuditLog
from ca.clock import Clock
from ca.errors import CAError, ErrorKind, malformed
from ca.storage import apikeys as store
from ca.storage import repo
from ca.storage.engine import Storage
from ca.storage.records import ApiKey, Organization

#: The roles a key may carry: its organization's own kind, or ``verifier`` (read-only checks:
#: signer and PASSporT verification, TN status) for any organization.
VERIFIER = "verifier"
#: How long an authenticated principal is remembered, and how many are kept.
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 10_000
_TOKEN = re.compile(r"dlg_(key-[0-9a-f]{12})_([A-Za-z0-9_-]{43})")  # fullmatch: no "\n" after


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # the whole token; shown once, never stored


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key and its organization."""

    key: ApiKey
    organization: Organization

    @property
    def role(self) -> str:
        return self.key.role

    @property
    def is_operator(self) -> bool:
        return self.key.role == "operator"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


class ApiKeys:
    def __init__(self, storage: Storage, clock: Clock, audit: AuditLog) -> None:
        self._storage = storage
        self._clock = clock
        self._audit = audit
        # Principals authenticated in the last few seconds, by the token's digest: a client that
        # issues many certificates costs one primary-key read per request, not two ORM lookups.
        self._recent: dict[str, tuple[float, Principal]] = {}

    def create(self, organization_id: str, role: str, *, actor: str) -> NewKey:
        with self._storage.transaction() as session:
            org = repo.get_organization(session, organization_id)
            if org is None:
                raise CAError(
                    ErrorKind.NOT_FOUND, f"no organization {organization_id!r}", field="org"
                )
            if role not in (org.kind, VERIFIER):
                raise malformed(
                    "role",
                    f"{organization_id} is a {org.kind}: its keys are {org.kind} or {VERIFIER}",
                )
            key = ApiKey(
                id=f"key-{secrets.token_hex(6)}",
                organization_id=org.id,
                role=role,
                created_at=self._clock.now(),
                created_by=actor,
            )
            secret = secrets.token_urlsafe(32)
            store.add_api_key(session, key, _digest(secret))
            self._audit.record(
                session,
                actor=actor,
                action="api_key.created",
                object_type="api_key",
                object_id=key.id,
                details={"organization": org.id, "role": role},
            )
        return NewKey(key, f"dlg_{key.id}_{secret}")

    def authenticate(self, token: str) -> Principal:
        """The principal of a bearer token; any failure is the same UNAUTHORIZED answer."""
        digest = _digest(token) if isinstance(token, str) and token.isascii() else ""
        recent = self._recent.get(digest)
        if recent is not None and recent[0] > time.monotonic():
            # Remembered: its organization and role are known; only revocation is read again,
            # so a key revoked by any process stops working at once.
            with self._storage.driver_read() as unit:
                if store.is_usable(unit, recent[1].key.id):
                    return recent[1]
        match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
        refused = CAError(
            ErrorKind.UNAUTHORIZED, "invalid or revoked API key", field="authorization"
        )
        if not match:
            raise refused
        with self._storage.read() as session:
            found = store.get_api_key(session, match.group(1))
            org = repo.get_organization(session, found[0].organization_id) if found else None
        if found is None or org is None:
            _digest(match.group(2))  # same work either way: timing says nothing about ids
            raise refused
        key, stored = found
        if not hmac.compare_digest(stored, _digest(match.group(2))) or key.revoked_at is not None:
            raise refused
        principal = Principal(key, org)
        if len(self._recent) > CACHE_ENTRIES:
            self._recent.clear()
        self._recent[digest] = (time.monotonic() + CACHE_SECONDS, principal)
        return principal

    def revoke(self, key_id: str, *, actor: str) -> None:
        with self._storage.transaction() as session:
            if not store.revoke_api_key(session, key_id, self._clock.now()):
                raise CAError(ErrorKind.NOT_FOUND, f"no active API key {key_id!r}", field="key")
            self._audit.record(
                session,
                actor=actor,
                action="api_key.revoked",
                object_type="api_key",
                object_id=key_id,
            )
        self._recent = {d: p for d, p in self._recent.items() if p[1].key.id != key_id}

    def list(self, organization_id: str) -> list[ApiKey]:
        with self._storage.read() as session:
            return store.list_api_keys(session, organization_id)
