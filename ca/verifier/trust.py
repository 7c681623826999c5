"""Trust anchors: a PEM bundle, a directory of PEM files, or an STI-PA-style signed trust list.

ATIS-1000080 §6.3.5 / STANDARDS.md §8: the approved STI-CA roots come as a list the STI-PA signs,
and a verifier reloads it without a restart. The trust list here is a compact JWS (ES256, raw R‖S)
whose payload is ``{"trustList": ["-----BEGIN CERTIFICATE-----...", ...]}``, signed by a key the
operator configures. Self-signed certificates are anchors; any other certificate in the source is
kept only as a helper for finding indirect-CRL signers, never as an anchor.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from ca.errors import CAError, ErrorKind, malformed
from ca.verifier.certs import CertFacts, inspect_anchor, name_key
from ca.verifier.jws import b64url_decode, verify_es256

_generations = itertools.count(1)


@dataclass(frozen=True)
class Anchors:
    """One loaded generation of trust anchors, indexed for path building."""

    anchors: tuple[CertFacts, ...]
    helpers: tuple[CertFacts, ...] = ()
    generation: int = field(default_factory=lambda: next(_generations))

    def issuers_of(self, child: CertFacts) -> list[CertFacts]:
        """Anchors whose subject is the child's issuer and whose SKI matches its AKI."""
        return [a for a in self.anchors if child.issued_by_name(a)]

    def is_anchor(self, facts: CertFacts) -> bool:
        return any(a.der == facts.der for a in self.anchors)

    @property
    def subjects(self) -> list[str]:
        return [a.cert.subject.rfc4514_string() for a in self.anchors]


def split_certificates(certs: Iterable[x509.Certificate], where: str) -> Anchors:
    """Anchors (self-signed) and helpers (everything else) from the given certificates."""
    anchors, helpers = [], []
    for cert in certs:
        facts = inspect_anchor(cert)
        if name_key(cert.subject) == name_key(cert.issuer):
            anchors.append(facts)
        else:
            helpers.append(facts)
    if not anchors:
        raise CAError(ErrorKind.CONFIGURATION, f"{where} holds no self-signed root", field="trust")
    return Anchors(tuple(anchors), tuple(helpers))


def load_pem_bundle(data: bytes, where: str) -> list[x509.Certificate]:
    """Certificates from PEM text that holds nothing but CERTIFICATE blocks."""
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise malformed("trust", f"{where} holds no PEM certificate")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise malformed("trust", f"{where}: unreadable PEM certificate ({error})") from None


def parse_trust_list(data: bytes, key: ec.EllipticCurvePublicKey, where: str) -> list[bytes]:
    """The PEM certificates of a signed trust list, after checking its signature and ``exp``."""
    text = data.decode("ascii", "replace").strip()
    parts = text.split(".")
    if len(parts) != 3 or not all(parts):
        raise malformed("trust", f"{where} is not a compact JWS (header.payload.signature)")
    try:
        header = json.loads(b64url_decode(parts[0], "trust list header"))
        payload = json.loads(b64url_decode(parts[1], "trust list payload"))
    except (ValueError, UnicodeDecodeError) as error:
        raise malformed("trust", f"{where}: {error}") from None
    if not isinstance(header, dict) or header.get("alg") != "ES256":
        raise malformed("trust", f"{where}: the trust list must be signed with ES256")
    signature = b64url_decode(parts[2], "trust list signature")
    if not verify_es256(key, signature, f"{parts[0]}.{parts[1]}".encode()):
        raise malformed("trust", f"{where}: the trust list signature does not verify")
    if not isinstance(payload, dict) or not isinstance(payload.get("trustList"), list):
        raise malformed("trust", f'{where}: the payload has no "trustList" array')
    expiry = payload.get("exp")
    if isinstance(expiry, int) and not isinstance(expiry, bool) and expiry < time.time():
        raise malformed("trust", f"{where}: the trust list expired")
    pems = payload["trustList"]
    if not pems or not all(isinstance(p, str) for p in pems):
        raise malformed("trust", f'{where}: "trustList" must be a non-empty array of PEM strings')
    return [p.encode() for p in pems]


def _is_jws(data: bytes) -> bool:
    return data.lstrip()[:2] == b"ey" and data.count(b".") == 2


class TrustStore:
    """Anchors from a file or directory, reloaded when it changes (checked at most every second)."""

    def __init__(
        self,
        source: Path | str,
        *,
        trust_list_key: ec.EllipticCurvePublicKey | None = None,
        check_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = Path(source)
        self._key = trust_list_key
        self._interval = check_interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._stamp = self._signature()
        self._anchors = self._load()
        self._next_check = monotonic() + check_interval
        #: The last reload failure (the previous anchors stay in use), for health checks.
        self.last_error: str | None = None

    @classmethod
    def of(cls, certificates: Sequence[x509.Certificate]) -> FixedTrust:
        """A store over certificates in memory (no file, no reload)."""
        return FixedTrust(split_certificates(certificates, "the given certificates"))

    def snapshot(self) -> Anchors:
        """The current anchors, reloading first if the source changed."""
        if self._monotonic() >= self._next_check:
            self._maybe_reload()
        return self._anchors

    def _maybe_reload(self) -> None:
        with self._lock:
            self._next_check = self._monotonic() + self._interval
            stamp = self._signature()
            if stamp == self._stamp:
                return
            try:
                self._anchors = self._load()
                self.last_error = None
            except (CAError, OSError) as error:
                self.last_error = str(error)
            self._stamp = stamp

    def _signature(self) -> tuple[tuple[str, int, int], ...]:
        try:
            paths = sorted(self._source.iterdir()) if self._source.is_dir() else [self._source]
            return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
        except OSError:
            return ()

    def _load(self) -> Anchors:
        where = str(self._source)
        try:
            if self._source.is_dir():
                certs: list[x509.Certificate] = []
                for path in sorted(self._source.iterdir()):
                    if path.suffix.lower() in (".pem", ".crt", ".cer") and path.is_file():
                        certs.extend(load_pem_bundle(path.read_bytes(), str(path)))
                return split_certificates(certs, where)
            data = self._source.read_bytes()
        except OSError as error:
            raise CAError(
                ErrorKind.CONFIGURATION, f"cannot read {where}: {error.strerror}", field="trust"
            ) from None
        if _is_jws(data):
            if self._key is None:
                raise malformed("trust", f"{where} is a signed trust list: give its signing key")
            pems = parse_trust_list(data, self._key, where)
            certs = [c for pem in pems for c in load_pem_bundle(pem, where)]
        else:
            certs = load_pem_bundle(data, where)
        return split_certificates(certs, where)


class FixedTrust:
    """Anchors given in memory; the same snapshot forever."""

    def __init__(self, anchors: Anchors) -> None:
        self._anchors = anchors
        self.last_error: str | None = None

    def snapshot(self) -> Anchors:
        return self._anchors
