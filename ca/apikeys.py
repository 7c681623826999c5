"""API keys: random, shown once, stored only as a SHA-256, bound to one organization and role.

A key reads ``dlg_<key id>_<secret>``: the id finds the row, the secret (256 random bits) is
compared by hash in constant time. A 256-bit secret needs no slow hash: nothing can be guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
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
        key, digest = found
        if not hmac.compare_digest(digest, _digest(match.group(2))) or key.revoked_at is not None:
            raise refused
        return Principal(key, org)

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

    def list(self, organization_id: str) -> list[ApiKey]:
        with self._storage.read() as session:
            return store.list_api_keys(session, organization_id)
