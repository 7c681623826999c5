"""The certificate path from an x5u body to a trust anchor (RFC 5280 §6.1, RFC 9060 §7).

The x5u is the signer's certificate followed by the certificates above it. The path is built from
the signer by issuer name (RFC 5280 §7.1 comparison) and AKI/SKI, so intermediates listed out of
order still build (with a warning); every link's signature is checked, then validity, path length
and the profile rules that :func:`ca.verifier.certs.inspect` applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from ca.verifier.certs import SIGNATURE_HASHES, CertFacts, inspect, name_key
from ca.verifier.errors import ChainFormatError, PathError
from ca.verifier.trust import Anchors

#: An x5u holds the signer and a few CAs; anything longer is refused before parsing further.
MAX_CERTIFICATES = 10
_BEGIN = b"-----BEGIN "


def parse_chain(data: bytes) -> tuple[x509.Certificate, ...]:
    """The certificates of an x5u body: concatenated PEM CERTIFICATE blocks, signer first."""
    if not isinstance(data, bytes | bytearray) or b"-----BEGIN CERTIFICATE-----" not in data:
        raise ChainFormatError("chain-unparsable", "the x5u resource holds no PEM certificate")
    blocks = data.count(_BEGIN)
    if blocks != data.count(b"-----BEGIN CERTIFICATE-----"):
        raise ChainFormatError(
            "chain-unparsable", "the x5u resource holds PEM blocks other than CERTIFICATE"
        )
    if blocks > MAX_CERTIFICATES:
        raise ChainFormatError(
            "chain-unparsable", f"the x5u resource holds {blocks} certificates (at most 10)"
        )
    try:
        certificates = tuple(x509.load_pem_x509_certificates(bytes(data)))
    except (ValueError, x509.InvalidVersion) as error:
        raise ChainFormatError("chain-unparsable", f"unreadable PEM certificate: {error}") from None
    if len(certificates) != blocks:
        raise ChainFormatError("chain-unparsable", "a PEM block of the x5u is unreadable")
    for index, cert in enumerate(certificates):
        _read_fields(cert, index)
    return certificates


def _read_fields(cert: x509.Certificate, index: int) -> None:
    """cryptography decodes names, times and algorithms on first use: decode them now, so a
    damaged certificate is refused here rather than deep inside a later step."""
    try:
        _ = (cert.subject, cert.issuer, cert.serial_number, cert.signature_algorithm_oid)
        _ = (cert.not_valid_before_utc, cert.not_valid_after_utc, cert.signature)
        _ = (name_key(cert.subject), name_key(cert.issuer), cert.tbs_certificate_bytes)
    except (ValueError, TypeError) as error:
        raise ChainFormatError(
            "chain-unparsable", f"certificate {index} of the x5u is malformed: {error}"
        ) from None


@dataclass(frozen=True)
class CertificatePath:
    """A built and checked path: ``certs`` leaf first (anchor excluded), then ``anchor``."""

    certs: tuple[CertFacts, ...]
    anchor: CertFacts
    warnings: tuple[str, ...]

    @property
    def leaf(self) -> CertFacts:
        return self.certs[0]

    @property
    def valid_from(self) -> float:
        return max(c.not_before for c in (*self.certs, self.anchor))

    @property
    def valid_until(self) -> float:
        return min(c.not_after for c in (*self.certs, self.anchor))

    def issuer_of(self, index: int) -> CertFacts:
        return self.certs[index + 1] if index + 1 < len(self.certs) else self.anchor


def verify_link(child: CertFacts, parent: CertFacts) -> None:
    """The child's signature verifies under the parent's key (RFC 5280 §6.1.3 (a)(1))."""
    key = parent.cert.public_key()
    algorithm = SIGNATURE_HASHES.get(child.cert.signature_algorithm_oid)
    if not isinstance(key, ec.EllipticCurvePublicKey) or algorithm is None:
        raise PathError(
            "unsupported-algorithm", f"cannot check {child.label}'s signature by {parent.label}"
        )
    try:
        key.verify(child.cert.signature, child.cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
    except InvalidSignature:
        raise PathError(
            "bad-signature", f"{child.label}'s signature does not verify under {parent.label}"
        ) from None


def build_path(
    chain: Sequence[x509.Certificate], anchors: Anchors, *, lenient: bool = False
) -> CertificatePath:
    """Build and check the path from ``chain[0]`` to an anchor; raises PathError/ScopeError."""
    if not chain:
        raise ChainFormatError("chain-unparsable", "the x5u resource holds no certificate")
    leaf = inspect(chain[0], leaf=True, lenient=lenient, position=0)
    pool = [(i, cert, name_key(cert.subject)) for i, cert in enumerate(chain) if i > 0]
    path, order, current = [leaf], [], leaf
    while True:
        anchor = _anchor_for(current, anchors)
        if anchor is not None:
            break
        candidates = [
            (i, cert)
            for i, cert, subject in pool
            if subject == current.issuer_key and i not in order
        ]
        parent = _first_issuer(current, candidates, lenient)
        if parent is None:
            if current.subject_key == current.issuer_key:
                raise PathError(
                    "untrusted-root", f"the path ends at {current.label}, which is not trusted"
                )
            raise PathError(
                "issuer-not-found",
                f"neither the x5u nor the trust list holds the issuer of {current.label} "
                f"({current.cert.issuer.rfc4514_string()})",
            )
        index, facts = parent
        order.append(index)
        path.append(facts)
        current = facts
        if len(path) > MAX_CERTIFICATES:
            raise PathError("path-too-long", "the path is longer than 10 certificates")
    _check_path_lengths(path, anchor)
    return CertificatePath(tuple(path), anchor, _order_warnings(chain, order, anchors))


def _anchor_for(current: CertFacts, anchors: Anchors) -> CertFacts | None:
    for anchor in anchors.issuers_of(current):
        if not anchor.may_sign_certificates():
            continue
        try:
            verify_link(current, anchor)
        except PathError:
            continue
        return anchor
    return None


def _first_issuer(
    current: CertFacts, candidates: list[tuple[int, x509.Certificate]], lenient: bool
) -> tuple[int, CertFacts] | None:
    """The first candidate whose key ids match and whose key verifies the current certificate."""
    error: PathError | None = None
    for index, cert in candidates:
        facts = inspect(cert, leaf=False, lenient=lenient, position=index)
        if not current.issued_by_name(facts):
            continue
        try:
            verify_link(current, facts)
        except PathError as failure:
            error = failure
            continue
        return index, facts
    if error is not None:
        raise error
    return None


def _check_path_lengths(path: list[CertFacts], anchor: CertFacts) -> None:
    """RFC 5280 §4.2.1.9: pathLenConstraint counts the CA certificates below a CA."""
    for index, facts in enumerate([*path[1:], anchor], start=1):
        below = sum(1 for c in path[1:index] if c.subject_key != c.issuer_key)
        if facts.path_length is not None and below > facts.path_length:
            raise PathError(
                "path-length",
                f"{facts.label} allows {facts.path_length} CA certificate(s) below it, "
                f"the path has {below}",
            )


def _order_warnings(
    chain: Sequence[x509.Certificate], order: list[int], anchors: Anchors
) -> tuple[str, ...]:
    warnings = []
    if order != sorted(order) or (order and order[0] != 1):
        warnings.append("the x5u lists the certificates out of path order (RFC 9060 §7)")
    unused = [
        i
        for i in range(1, len(chain))
        if i not in order and not any(a.cert == chain[i] for a in anchors.anchors)
    ]
    if unused:
        warnings.append(f"the x5u holds {len(unused)} certificate(s) not on the path")
    return tuple(warnings)


def check_validity(path: CertificatePath, moment: float) -> None:
    """Every certificate, anchor included, is valid at ``moment`` (RFC 5280 §6.1.3 (a)(2))."""
    for facts in (*path.certs, path.anchor):
        if moment < facts.not_before:
            raise PathError(
                "certificate-not-yet-valid",
                f"{facts.label} is valid from {facts.cert.not_valid_before_utc.isoformat()}",
            )
        if moment > facts.not_after:
            raise PathError(
                "certificate-expired",
                f"{facts.label} expired at {facts.cert.not_valid_after_utc.isoformat()}",
            )
