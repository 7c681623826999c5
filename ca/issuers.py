"""The issuers this CA holds, loaded from storage, each key checked against its certificate."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ca.config import Config
from ca.errors import CAError, ErrorKind
from ca.issuance.issuer import Issuer, SigningIdentity
from ca.keys import KeyManagers
from ca.storage import repo
from ca.storage.engine import Storage
from ca.storage.records import IssuerRecord
from ca.tnauth import TNAuthList, tn_auth_list_from_certificate


def _spki(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class IssuerInfo:
    """One issuer: record, parsed certificates, scope, signer and CRL arrangements."""

    record: IssuerRecord
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    tn_auth_list: TNAuthList | None
    signer: Issuer
    crl_url: str

    @property
    def id(self) -> str:
        return self.record.id

    @functools.cached_property
    def chain_pem(self) -> bytes:
        """This issuer's certificate and the ones above it, root omitted (x5u tail)."""
        certs = (self.certificate, *self.chain)
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


class IssuerDirectory:
    """Read-mostly cache of the issuers in storage; ``reload()`` after a ceremony."""

    def __init__(self, storage: Storage, keys: KeyManagers, config: Config) -> None:
        self._storage = storage
        self._keys = keys
        self._config = config
        self._lock = threading.Lock()
        self._by_id: dict[str, IssuerInfo] = {}
        self._loaded = False

    def reload(self) -> None:
        with self._storage.read() as session:
            records = repo.list_issuers(session)
        by_id = {record.id: self._load(record) for record in records}
        with self._lock:
            self._by_id, self._loaded = by_id, True

    def _ensure(self) -> None:
        if not self._loaded:
            self.reload()

    def _load(self, record: IssuerRecord) -> IssuerInfo:
        certificate = x509.load_der_x509_certificate(record.certificate_der)
        chain = (
            tuple(x509.load_pem_x509_certificates(record.chain_pem.encode()))
            if record.chain_pem
            else ()
        )
        identity = SigningIdentity(
            id=record.id,
            certificate=certificate,
            chain=chain,
            key_uri=record.key_uri,
            tn_auth_list=tn_auth_list_from_certificate(certificate),
        )
        return IssuerInfo(
            record=record,
            certificate=certificate,
            chain=chain,
            tn_auth_list=identity.tn_auth_list,
            signer=Issuer(identity, self._keys),
            crl_url=self._config.crl_url(record.id),
        )

    def all(self) -> list[IssuerInfo]:
        self._ensure()
        return list(self._by_id.values())

    def get(self, issuer_id: str) -> IssuerInfo:
        self._ensure()
        info = self._by_id.get(issuer_id)
        if info is None:
            raise CAError(ErrorKind.NOT_FOUND, f"no issuer {issuer_id!r}", field="issuer")
        return info

    def active_sca(self) -> IssuerInfo:
        """The newest active SCA: new delegate certificates are issued under it."""
        candidates = [i for i in self.all() if i.record.role == "sca" and i.record.active]
        if not candidates:
            raise CAError(
                ErrorKind.CONFIGURATION,
                "no active SCA issuer: run `delegato init` or import one",
                field="issuer",
            )
        return max(candidates, key=lambda i: (i.record.created_at, i.record.id))

    def crl_signer_for(self, info: IssuerInfo) -> IssuerInfo:
        """Who signs ``info``'s CRL: itself (direct) or its CRL-signing certificate (indirect)."""
        if info.record.crl_model == "direct":
            return info
        if not info.record.crl_signer_id:
            raise CAError(
                ErrorKind.CONFIGURATION, f"issuer {info.id} has an indirect CRL but no signer"
            )
        return self.get(info.record.crl_signer_id)

    def check_keys(self) -> None:
        """Start-up check: every issuer's key exists, loads, and matches its certificate."""
        for info in self.all():
            public = self._keys.public_key(info.record.key_uri)
            if _spki(public) != _spki(info.certificate.public_key()):
                raise CAError(
                    ErrorKind.KEY_UNAVAILABLE,
                    f"issuer {info.id}: the key at its key URI does not match its certificate",
                    field="key_uri",
                )
