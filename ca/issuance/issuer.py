"""Prepare (lint) then issue (sign) — the only code that applies a CA key to a certificate.

After boulder ``issuance/cert.go``: ``prepare`` signs the template with a throwaway key of the same
curve, lints that copy, and returns a single-use token; ``issue`` redeems the token once, signs with
the real key, and checks that the signed TBS equals the linted TBS byte for byte.

The real key signs the linted TBS bytes themselves (RFC 5280 §4.1: the signature is over the DER
of tbsCertificate), so the certificate is encoded once, for the lint copy, and what is signed is
what was linted by construction; the equality is still checked on the parsed result.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import threading
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca.errors import CAError, ErrorKind, SubProblem
from ca.issuance.template import CertificateTemplate, build
from ca.keys import KeyManagers
from ca.lint import run_lints
from ca.tnauth import TNAuthList
from ca.tnauth.der import tlv

_lint_keys: dict[str, ec.EllipticCurvePrivateKey] = {}
_lint_keys_lock = threading.Lock()


def lint_key_for(curve: ec.EllipticCurve) -> ec.EllipticCurvePrivateKey:
    """A process-wide throwaway key on ``curve``: it signs only lint copies, never a real certificate."""
    with _lint_keys_lock:
        key = _lint_keys.get(curve.name)
        if key is None:
            key = _lint_keys[curve.name] = ec.generate_private_key(curve)
        return key


def hash_for(curve: ec.EllipticCurve) -> hashes.SHA256 | hashes.SHA384:
    """ecdsa-with-SHA256 for P-256; SHA-384 for P-384 CA keys (US SHAKEN CP v1.4)."""
    return hashes.SHA384() if isinstance(curve, ec.SECP384R1) else hashes.SHA256()


@dataclass(frozen=True)
class SigningIdentity:
    """An issuer as the signer sees it: its certificate, the chain above it and where its key lives."""

    id: str
    certificate: x509.Certificate | None  # None only while a root signs itself
    chain: tuple[x509.Certificate, ...]  # above ``certificate``, root omitted
    key_uri: str
    tn_auth_list: TNAuthList | None = None


@dataclass
class IssuanceToken:
    """Proof that a template was linted; redeemable once, by the issuer that made it."""

    issuer_id: str
    lint_certificate: x509.Certificate
    lint_der: bytes  # the record of intent, and the frame the real signature goes in
    _redeemed: bool = field(default=False, repr=False)

    @functools.cached_property
    def tbs_certificate_bytes(self) -> bytes:
        """The linted TBS as encoded: the first element of the lint copy's SEQUENCE."""
        start, _ = _tlv_bounds(self.lint_der, 0)
        return self.lint_der[start : _tlv_bounds(self.lint_der, start)[1]]

    @functools.cached_property
    def tbs_sha256(self) -> str:
        return hashlib.sha256(self.tbs_certificate_bytes).hexdigest()


def _tlv_bounds(der: bytes, offset: int) -> tuple[int, int]:
    """Where the contents of the DER TLV at ``offset`` start and end (definite length)."""
    first = der[offset + 1]
    if first < 0x80:
        return offset + 2, offset + 2 + first
    octets = first & 0x7F
    start = offset + 2 + octets
    return start, start + int.from_bytes(der[offset + 2 : start], "big")


def signed_der(lint_der: bytes, tbs: bytes, signature: bytes) -> bytes:
    """The lint copy with ``signature`` in place of the throwaway key's (RFC 5280 §4.1.1).

    ``Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }``: the TBS
    and the algorithm identifier are kept byte for byte, the signature becomes the BIT STRING.
    """
    start, end = _tlv_bounds(lint_der, 0)
    algorithm_at = start + len(tbs)
    if end != len(lint_der) or lint_der[start:algorithm_at] != tbs:
        raise CAError(ErrorKind.INTERNAL, "the lint copy does not frame the linted TBS")
    algorithm = lint_der[algorithm_at : _tlv_bounds(lint_der, algorithm_at)[1]]
    return tlv(0x30, tbs + algorithm + tlv(0x03, b"\x00" + signature))


class Issuer:
    """Signs certificates for one signing identity, lint first, by construction."""

    def __init__(self, identity: SigningIdentity, keys: KeyManagers) -> None:
        self.identity = identity
        self._keys = keys
        self._lock = threading.Lock()
        self._curve: ec.EllipticCurve | None = None

    @property
    def curve(self) -> ec.EllipticCurve:
        """The curve of this issuer's key (asked of the key manager once)."""
        if self._curve is None:
            self._curve = self._keys.public_key(self.identity.key_uri).curve
        return self._curve

    def prepare(self, template: CertificateTemplate, now: dt.datetime) -> IssuanceToken:
        """Build, sign a lint copy with a throwaway key, lint it; refuse if any lint errs."""
        if template.issuer_certificate is not self.identity.certificate:
            raise CAError(ErrorKind.INTERNAL, "template names another issuer")
        builder = build(template)
        lint_copy = builder.sign(lint_key_for(self.curve), hash_for(self.curve))
        lint_der = lint_copy.public_bytes(serialization.Encoding.DER)
        report = run_lints(
            lint_copy,
            template.profile,
            issuer=self.identity.certificate or lint_copy,
            now=now,
            der=lint_der,
        )
        if not report.ok:
            raise CAError(
                ErrorKind.LINT_FAILED,
                f"the {template.profile.name} certificate failed {len(report.errors)} lint(s); nothing was signed",
                subproblems=[SubProblem(r.detail, field=r.lint_id) for r in report.errors],
            )
        return IssuanceToken(self.identity.id, lint_copy, lint_der)

    def issue(self, token: IssuanceToken) -> x509.Certificate:
        """Redeem ``token`` once: sign the linted TBS with the real key and check TBS equality."""
        with self._lock:
            if token.issuer_id != self.identity.id:
                raise CAError(ErrorKind.INTERNAL, "issuance token belongs to another issuer")
            if token._redeemed:
                raise CAError(ErrorKind.INTERNAL, "issuance token was already used")
            token._redeemed = True
        key = self._keys.signer(self.identity.key_uri)
        algorithm = hash_for(key.curve)
        linted = token.lint_certificate.signature_hash_algorithm
        if linted is None or linted.name != algorithm.name:
            raise CAError(ErrorKind.INTERNAL, "the issuer's key changed curve since the lint copy")
        tbs = token.tbs_certificate_bytes
        signature = key.sign(tbs, ec.ECDSA(algorithm))
        certificate = x509.load_der_x509_certificate(signed_der(token.lint_der, tbs, signature))
        if certificate.tbs_certificate_bytes != tbs:
            raise CAError(ErrorKind.INTERNAL, "signed TBS differs from the linted TBS; discarded")
        return certificate
