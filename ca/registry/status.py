"""TN status (CTND "GET /TN_STATUS", ATIS-1000089 §5): who may use a number now, signed.

The answer is a compact JWS (ES256) whose ``x5c`` header carries the status signer's certificate
and the SCA above it, so an OSP can keep it as evidence of its "verified association" with the
number and check it offline up to the STI-CA root it already trusts.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ca.clock import Clock
from ca.errors import CAError, ErrorKind
from ca.issuers import IssuerDirectory, IssuerInfo
from ca.jws import sign_es256
from ca.keys import KeyManagers
from ca.registry.numbers import is_toll_free
from ca.storage import Session, repo
from ca.storage import registry_queries as store
from ca.storage.engine import Storage
from ca.tnauth import normalize_tn

STATUS_TYPE = "tn-status+jwt"


@dataclass(frozen=True)
class SignedStatus:
    status: dict[str, Any]
    jws: str

    def to_json(self) -> dict[str, Any]:
        return {"jws": self.jws, "status": self.status}


class StatusService:
    def __init__(
        self, storage: Storage, issuers: IssuerDirectory, keys: KeyManagers, clock: Clock
    ) -> None:
        self._storage = storage
        self._issuers = issuers
        self._keys = keys
        self._clock = clock
        self._x5c: dict[str, list[str]] = {}  # per signer: encoded once, sent with every status

    def status(self, tn: str, enterprise_id: str | None = None) -> SignedStatus:
        """The current holders of ``tn`` (or whether ``enterprise_id`` is one), signed."""
        number = normalize_tn(tn, "tn")
        if not number.isdigit():
            raise CAError(ErrorKind.MALFORMED, "the registry holds digits only", field="tn")
        now = self._clock.now()
        with self._storage.read() as session:
            if enterprise_id is not None and repo.get_organization(session, enterprise_id) is None:
                raise CAError(
                    ErrorKind.NOT_FOUND, f"no organization {enterprise_id!r}", field="enterprise"
                )
            status = describe(session, number, now, enterprise_id)
        signer = self._signer()
        if signer.id not in self._x5c:
            self._x5c[signer.id] = _x5c(signer)
        header = {"typ": STATUS_TYPE, "x5c": self._x5c[signer.id]}
        return SignedStatus(
            status, sign_es256(header, status, self._keys.signer(signer.record.key_uri))
        )

    def _signer(self) -> IssuerInfo:
        signers = [
            info
            for info in self._issuers.all()
            if info.record.role == "status_signer" and info.record.active
        ]
        if not signers:
            raise CAError(
                ErrorKind.CONFIGURATION,
                "no TN status signer: this home was initialized without one",
                field="issuer",
            )
        return max(signers, key=lambda info: (info.record.created_at, info.id))


def _x5c(signer: IssuerInfo) -> list[str]:
    """RFC 7515 §4.1.6: standard base64 DER, the signer first, the root left out."""
    certs: tuple[x509.Certificate, ...] = (signer.certificate, *signer.chain)
    return [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in certs]


def describe(
    session: Session, number: str, now: dt.datetime, enterprise_id: str | None
) -> dict[str, Any]:
    """The status document: holders with their authority (SPID), expiry and delegations."""
    length, value = len(number), int(number)
    assignments = store.holdings(session, "assignment", length, value, now)
    if enterprise_id is not None:
        assignments = [a for a in assignments if a.holder_id == enterprise_id]
    delegations = store.holdings(session, "delegation", length, value, now) if assignments else []
    holders = []
    for a in assignments:
        authority: dict[str, Any] = {"id": a.grantor_id, "name": a.grantor_name}
        if a.grantor_spid:
            authority["spid"] = a.grantor_spid
        holders.append(
            {
                "enterprise": {"id": a.holder_id, "name": a.holder_name},
                "assignment": a.grant_id,
                "authority": authority,
                "valid_from": a.active_from.isoformat(),
                "expires_at": a.active_until.isoformat(),
                "delegations": [
                    {
                        "delegation": d.grant_id,
                        "bpo": {"id": d.holder_id, "name": d.holder_name},
                        # A delegation never outlives its enterprise's own right.
                        "expires_at": min(d.active_until, a.active_until).isoformat(),
                    }
                    for d in delegations
                    if d.enterprise_id == a.holder_id
                ],
            }
        )
    status: dict[str, Any] = {
        "tn": number,
        "iat": int(now.timestamp()),
        "toll_free": is_toll_free(length, value, value),
        "assigned": bool(holders),
        "holders": holders,
    }
    if enterprise_id is not None:
        status["enterprise"] = enterprise_id
    return status
