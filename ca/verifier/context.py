"""Everything a verification depends on, passed in rather than read from globals.

After pyhanko-certvalidator ``context.py``: trust anchors, the clock, the fetcher and the policies
travel together in one :class:`VerificationContext`, which also owns the caches (verified paths,
checked CRLs) so that two contexts never share an answer. ARCHITECTURE.md "Verification".
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ca.clock import Clock, SystemClock
from ca.errors import malformed
from ca.verifier.cache import HTTPFetcher
from ca.verifier.crl import CRLChecker
from ca.verifier.fetch import FetchPolicy
from ca.verifier.scope import SPCParentPolicy, SPCRegistry
from ca.verifier.trust import Anchors, TrustStore


class CRLPolicy(enum.Enum):
    """What an unavailable or stale CRL means (RFC 5280 §6.3; revocation always fails)."""

    REQUIRE = "require"  # the certificate is not trusted
    BEST_EFFORT = "best-effort"  # trusted, with a warning
    OFF = "off"  # CRLs are not consulted


class Fetcher(Protocol):
    """Gets an x5u chain (``kind="x5u"``) or a CRL (``kind="crl"``); raises FetchError."""

    def fetch(self, url: str, kind: str) -> bytes: ...


class Trust(Protocol):
    def snapshot(self) -> Anchors: ...


def _policy(value: object, kind: type[enum.Enum], field_name: str) -> enum.Enum:
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in kind)
        raise malformed(field_name, f"{value!r} is not one of {choices}") from None


@dataclass
class VerificationContext:
    """Trust anchors, clock, fetcher and policies for verifying PASSporTs and signers."""

    trust: Trust
    fetcher: Fetcher = field(default_factory=HTTPFetcher)
    clock: Clock = field(default_factory=SystemClock)
    crl_policy: CRLPolicy = CRLPolicy.REQUIRE
    spc_parent_policy: SPCParentPolicy = SPCParentPolicy.STRICT
    #: The TN registry's numbers for an SPC; required by the ``registry`` SPC-parent policy.
    spc_registry: SPCRegistry | None = None
    #: RFC 8224 §6.2.2 / ATIS-1000074: iat and the SIP Date within this many seconds of now.
    freshness: dt.timedelta = dt.timedelta(seconds=60)
    #: Recover known TNAuthList malformations (STANDARDS.md §1), with warnings.
    lenient_tn_auth_list: bool = False
    #: How long a path whose CRL could not be had (best-effort) is trusted before trying again.
    retry_after: float = 60.0

    def __post_init__(self) -> None:
        self.crl_policy = _policy(self.crl_policy, CRLPolicy, "crl_policy")  # type: ignore[assignment]
        self.spc_parent_policy = _policy(  # type: ignore[assignment]
            self.spc_parent_policy, SPCParentPolicy, "spc_parent_policy"
        )
        if self.spc_parent_policy is SPCParentPolicy.REGISTRY and self.spc_registry is None:
            raise malformed("spc_registry", "the registry SPC-parent policy needs a registry")
        if self.freshness <= dt.timedelta(0):
            raise malformed("freshness", "the freshness window must be positive")
        self.window = self.freshness.total_seconds()
        self.crls = CRLChecker(self.fetcher.fetch, self._forget)
        #: Verified paths by x5u (or chain digest): see ca.verifier.verify.
        self.paths: dict[object, Any] = {}
        self.lock = threading.Lock()

    def _forget(self, url: str) -> None:
        forget = getattr(self.fetcher, "forget", None)
        if forget is not None:
            forget(url)

    def limit(self, url: str, until: float) -> None:
        """Tell the fetcher to keep ``url`` no later than ``until`` (the x5u notAfter cap)."""
        limit = getattr(self.fetcher, "limit", None)
        if limit is not None:
            limit(url, until)

    def now(self) -> float:
        return self.clock.now().timestamp()

    @classmethod
    def from_files(
        cls,
        trust: Path | str,
        *,
        allow_hosts: Iterable[str] = (),
        trust_list_key: Path | str | None = None,
        **options: object,
    ) -> VerificationContext:
        """A context over a trust file or directory and an HTTP fetcher with an allow-list."""
        key = load_trust_list_key(Path(trust_list_key)) if trust_list_key else None
        fetcher = HTTPFetcher(FetchPolicy.allowing(allow_hosts))
        return cls(trust=TrustStore(trust, trust_list_key=key), fetcher=fetcher, **options)  # type: ignore[arg-type]

    @classmethod
    def of(
        cls, anchors: Iterable[x509.Certificate], fetcher: Fetcher, **options: object
    ) -> VerificationContext:
        """A context over anchors in memory (tests, embedding)."""
        return cls(trust=TrustStore.of(list(anchors)), fetcher=fetcher, **options)  # type: ignore[arg-type]


def load_trust_list_key(path: Path) -> ec.EllipticCurvePublicKey:
    """The trust list signer's key: a PEM certificate or a PEM public key."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise malformed("trust_list_key", f"cannot read {path}: {error.strerror}") from None
    key: object
    try:
        if b"CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = load_pem_public_key(data)
    except ValueError as error:
        raise malformed(
            "trust_list_key", f"{path} is not a PEM key or certificate: {error}"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise malformed("trust_list_key", f"{path} does not hold an EC key")
    return key
