"""The certificate repository: x5u chains, CRLs and CA certificates as HTTP serves them.

STANDARDS.md §5 and ARCHITECTURE.md "Publication": ``/certs/<serial>.pem`` is the PEM chain, leaf
first, root omitted, ``application/pem-certificate-chain``, fresh until the leaf's notAfter and
immutable (verifiers cache it at least 24 h, so one URL must never serve other bytes);
``/crl/<issuer>.crl`` is the issuer's latest DER CRL, fresh until its nextUpdate;
``/ca/<issuer>.pem`` is an issuer's certificate. The HTTP routes and the file publisher
(``ca/publish.py``) both render from here, so they serve the same bytes.

Path parameters are outside bytes: only the canonical spelling answers (lower-case hex without
leading zeros, as ``Config.certificate_url`` writes it). Anything else, another spelling of an
existing serial included, is "not found" (as nginx answers for a file that is not there), never a
redirect; the error names the field and the spelling rule.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import functools
import hashlib
import re
import threading
from dataclasses import dataclass

from ca.clock import Clock
from ca.config import Config
from ca.errors import CAError, ErrorKind
from ca.issuers import IssuerDirectory, IssuerInfo
from ca.storage import registry_queries, repo
from ca.storage.engine import Storage
from ca.storage.records import CRLRecord

PEM_CHAIN = "application/pem-certificate-chain"  # RFC 8555 §9.1
PKIX_CRL = "application/pkix-crl"  # RFC 2585 §4.2

#: Canonical serial: positive, < 2^160 (RFC 5280 §4.1.2.2), lower-case hex, no leading zero.
_SERIAL = re.compile(r"[1-9a-f][0-9a-f]{0,39}")
#: Issuer ids as the ceremony makes them (``sca-<hex>``); they name files, so no dots or slashes.
_ISSUER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
#: CA certificates are looked up by issuer, not by a never-reused name: cached a day at most.
CA_MAX_AGE = dt.timedelta(days=1)
#: Issuers whose certificates ``/ca/`` serves: those that sign the certificates and CRLs verifiers
#: check (the status signer's certificate travels in its documents' x5c instead).
PUBLISHED_ROLES = frozenset({"root", "sca", "crl_signer"})


@dataclass(frozen=True, slots=True)
class PublishedObject:
    """One repository response: the bytes and the header values that go with them."""

    path: str  # relative to the public base URL, e.g. "certs/1f3a.pem"
    body: bytes
    content_type: str
    cache_control: str  # the whole header value
    etag: str  # opaque value of a strong entity tag (from the body's SHA-256), unquoted
    last_modified: dt.datetime
    expires: dt.datetime  # when the representation goes stale (notAfter, nextUpdate, ...)

    def headers(self) -> dict[str, str]:
        """The HTTP response headers (RFC 9110 §8, RFC 9111 §5)."""
        return {
            "Content-Type": self.content_type,
            "Cache-Control": self.cache_control,
            "ETag": f'"{self.etag}"',
            "Last-Modified": email.utils.format_datetime(self.last_modified, usegmt=True),
            "Expires": email.utils.format_datetime(self.expires, usegmt=True),
        }


@dataclass(frozen=True, slots=True)
class _Chain:
    """What never changes about one x5u: rendered once per process, kept in an LRU."""

    serial: str
    body: bytes
    etag: str
    issued_at: dt.datetime
    not_after: dt.datetime


def pem_certificate(der: bytes) -> bytes:
    """RFC 7468 §5 PEM, 64-column lines, as OpenSSL (and so cryptography) writes it."""
    text = base64.b64encode(der)
    lines = b"\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n-----END CERTIFICATE-----\n"


def strong_etag(body: bytes) -> str:
    """Equal bytes, equal tag; 128 bits of SHA-256 (RFC 9110 §8.8.3)."""
    return hashlib.sha256(body).hexdigest()[:32]


def max_age(until: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds from ``now`` to ``until``; 0 once it has passed."""
    return max(0, int((until - now).total_seconds()))


def canonical_serial(text: str) -> str:
    """``text`` if it is a serial as x5u URLs spell it, else NOT_FOUND naming the rule."""
    if _SERIAL.fullmatch(text):
        return text
    raise CAError(
        ErrorKind.NOT_FOUND,
        "no certificate at this URL: serials are spelled in lower-case hex without leading "
        "zeros, at most 40 digits",
        field="serial",
    )


def checked_issuer_id(text: str) -> str:
    """``text`` if it can be an issuer id, else NOT_FOUND naming the rule."""
    if _ISSUER_ID.fullmatch(text):
        return text
    raise CAError(
        ErrorKind.NOT_FOUND,
        "no issuer at this URL: issuer ids are letters, digits, '-' and '_', at most 40",
        field="issuer",
    )


class Repository:
    """Renders the public repository's objects from storage; cheap enough for every x5u GET."""

    def __init__(
        self,
        storage: Storage,
        issuers: IssuerDirectory,
        config: Config,
        clock: Clock,
        *,
        cache_size: int = 4096,
    ) -> None:
        self._storage = storage
        self._issuers = issuers
        self._config = config
        self._clock = clock
        self._tails: dict[str, bytes] = {}
        self._tails_lock = threading.Lock()
        # A chain's bytes never change, so a hit needs no database at all; misses (unknown
        # serials) raise and are not cached, so a certificate issued later is found at once.
        self._chains = functools.lru_cache(maxsize=cache_size)(self._load_chain)

    # --- x5u ---------------------------------------------------------------------------------

    def certificate_chain(self, serial_hex: str) -> PublishedObject:
        """``/certs/<serial>.pem``: leaf, SCA, intermediates (root omitted); revoked ones too."""
        chain = self._chains(canonical_serial(serial_hex))
        now = self._clock.now()
        return PublishedObject(
            path=f"certs/{chain.serial}.pem",
            body=chain.body,
            content_type=PEM_CHAIN,
            # Recomputed per response: the cached bytes are the same, their freshness is not.
            cache_control=f"public, max-age={max_age(chain.not_after, now)}, immutable",
            etag=chain.etag,
            last_modified=chain.issued_at,
            expires=chain.not_after,
        )

    def _load_chain(self, serial: str) -> _Chain:
        with self._storage.read() as session:
            record = repo.get_certificate(session, serial)
        if record is None:
            raise CAError(ErrorKind.NOT_FOUND, f"no certificate {serial}", field="serial")
        body = pem_certificate(record.der) + self._issuer_tail(record.issuer_id)
        return _Chain(serial, body, strong_etag(body), record.issued_at, record.not_after)

    def _issuer_tail(self, issuer_id: str) -> bytes:
        """The issuer's certificate and those above it, root omitted; cached per issuer."""
        tail = self._tails.get(issuer_id)
        if tail is None:
            tail = self._issuer(issuer_id).chain_pem
            with self._tails_lock:
                self._tails[issuer_id] = tail
        return tail

    # --- CRLs and CA certificates ------------------------------------------------------------

    def crl(self, issuer_id: str) -> PublishedObject:
        """``/crl/<issuer>.crl``: the issuer's latest CRL (DER)."""
        info = self._issuer(checked_issuer_id(issuer_id))
        with self._storage.read() as session:
            record = repo.latest_crl(session, info.id)
        if record is None:
            raise CAError(ErrorKind.NOT_FOUND, f"no CRL for issuer {info.id}", field="issuer")
        return self.crl_object(record)

    def crl_object(self, record: CRLRecord) -> PublishedObject:
        # Not immutable: the same URL carries each newer CRL (RFC 5280 §5, ATIS-1000080).
        return PublishedObject(
            path=f"crl/{record.issuer_id}.crl",
            body=record.der,
            content_type=PKIX_CRL,
            cache_control=f"public, max-age={max_age(record.next_update, self._clock.now())}",
            etag=strong_etag(record.der),
            last_modified=record.this_update,
            expires=record.next_update,
        )

    def ca_certificate(self, issuer_id: str) -> PublishedObject:
        """``/ca/<issuer>.pem``: the certificate of a root, an SCA or a CRL signer (PEM)."""
        info = self._issuer(checked_issuer_id(issuer_id))
        if info.record.role not in PUBLISHED_ROLES:
            raise CAError(ErrorKind.NOT_FOUND, f"no CA certificate {info.id}", field="issuer")
        body = pem_certificate(info.record.certificate_der)
        now = self._clock.now()
        expires = min(now + CA_MAX_AGE, info.certificate.not_valid_after_utc)
        return PublishedObject(
            path=f"ca/{info.id}.pem",
            body=body,
            content_type=PEM_CHAIN,
            cache_control=f"public, max-age={max_age(expires, now)}",
            etag=strong_etag(body),
            last_modified=info.record.created_at,
            expires=expires,
        )

    def _issuer(self, issuer_id: str) -> IssuerInfo:
        try:
            return self._issuers.get(issuer_id)
        except CAError as exc:
            if exc.kind is not ErrorKind.NOT_FOUND:
                raise
        # Another process (a ceremony, `delegato init`) may have added it since we loaded; a
        # primary-key read says so before any reload, so unknown ids cost one cheap query.
        with self._storage.read() as session:
            stored = repo.get_issuer(session, issuer_id) is not None
        if stored:
            self._issuers.reload()
        return self._issuers.get(issuer_id)

    # --- enumeration (the file publisher's publish_all) ---------------------------------------

    def issuer_ids(self) -> list[str]:
        """The issuers whose certificates (and CRLs, if they have any) are published."""
        return [info.id for info in self._issuers.all() if info.record.role in PUBLISHED_ROLES]

    def unexpired_serials(self) -> list[str]:
        """Every certificate not yet expired, revoked or not (a revoked chain is still served)."""
        now = self._clock.now()
        with self._storage.read() as session:
            serials = {cert.serial for cert in registry_queries.live_certificates(session, now)}
            for issuer_id in self.issuer_ids():
                serials.update(
                    revocation.serial
                    for revocation, not_after in repo.revocations_for_crl(session, issuer_id, now)
                    if not_after > now
                )
        return sorted(serials)
