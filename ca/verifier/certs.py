"""One certificate of a path, read once and checked against the SHAKEN profile (STANDARDS.md §4).

``inspect`` reads everything later steps need (names, key ids, validity, TNAuthList, claim
constraints, CRL distribution points) and raises at the first rule broken, so the rest of the
verifier works on plain, already-checked facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID, SignatureAlgorithmOID

from ca.errors import CAError
from ca.oids import ENHANCED_JWT_CLAIM_CONSTRAINTS, JWT_CLAIM_CONSTRAINTS, TN_AUTH_LIST
from ca.tnauth import (
    EnhancedJWTClaimConstraints,
    JWTClaimConstraints,
    TNAuthList,
    tn_auth_list_from_certificate,
)
from ca.verifier.errors import PathError, ScopeError

Constraints = JWTClaimConstraints | EnhancedJWTClaimConstraints
#: RFC 5280 §4.2: critical extensions this verifier processes; any other critical one fails.
UNDERSTOOD_CRITICAL = frozenset(
    {ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE, ExtensionOID.CERTIFICATE_POLICIES}
)
#: STANDARDS.md §4: ecdsa-with-SHA256, and SHA-384 for CA-issued signatures (US SHAKEN CP v1.4).
SIGNATURE_HASHES: dict[x509.ObjectIdentifier, hashes.HashAlgorithm] = {
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: hashes.SHA256(),
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: hashes.SHA384(),
}
_CA_CURVES = (ec.SECP256R1, ec.SECP384R1)


@lru_cache(maxsize=4096)
def _name_key_der(der: bytes) -> str:
    return str(asn1_x509.Name.load(der).hashable)


def name_key(name: x509.Name) -> str:
    """A form of ``name`` equal for names RFC 5280 §7.1 calls equal (case, spaces, string type)."""
    return _name_key_der(name.public_bytes())


@dataclass(frozen=True, eq=False)
class CertFacts:
    """What the verifier needs from one certificate, read and checked once."""

    cert: x509.Certificate
    der: bytes
    subject_key: str
    issuer_key: str
    ski: bytes | None
    aki: bytes | None
    is_ca: bool | None
    path_length: int | None
    key_usage: x509.KeyUsage | None
    not_before: float
    not_after: float
    tn_auth_list: TNAuthList | None = None
    constraints: Constraints | None = None
    #: (URL, cRLIssuer name or None) per distribution point (RFC 5280 §4.2.1.13).
    crl_points: tuple[tuple[str, x509.Name | None], ...] = ()
    warnings: tuple[str, ...] = ()

    def issued_by_name(self, parent: CertFacts) -> bool:
        """Issuer name matches (RFC 5280 §7.1) and, when both are present, AKI matches SKI."""
        if self.issuer_key != parent.subject_key:
            return False
        return self.aki is None or parent.ski is None or self.aki == parent.ski

    def may_sign_certificates(self) -> bool:
        """RFC 5280 §4.2.1.9/§4.2.1.3: a CA, with keyCertSign when keyUsage is present."""
        return self.is_ca is not False and (self.key_usage is None or self.key_usage.key_cert_sign)

    def may_sign_crls(self) -> bool:
        return self.key_usage is None or self.key_usage.crl_sign

    @property
    def label(self) -> str:
        return self.cert.subject.rfc4514_string() or f"serial {self.cert.serial_number:x}"


def _extension(extensions: x509.Extensions, oid: x509.ObjectIdentifier) -> x509.Extension | None:
    try:
        return extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def _extensions(cert: x509.Certificate, label: str) -> x509.Extensions:
    try:
        return cert.extensions
    except x509.DuplicateExtension as error:
        if error.oid == TN_AUTH_LIST:
            raise ScopeError(
                "tn-auth-list-duplicate", f"{label} carries two TNAuthList extensions"
            ) from None
        raise PathError(
            "duplicate-extension", f"{label} carries extension {error.oid.dotted_string} twice"
        ) from None
    except ValueError as error:
        raise PathError(
            "bad-certificate", f"{label} has an unreadable extension: {error}"
        ) from None


def _facts(cert: x509.Certificate, extensions: x509.Extensions, **more: object) -> CertFacts:
    ski = _extension(extensions, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    aki = _extension(extensions, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    bc = _extension(extensions, ExtensionOID.BASIC_CONSTRAINTS)
    ku = _extension(extensions, ExtensionOID.KEY_USAGE)
    return CertFacts(
        cert=cert,
        der=cert.public_bytes(Encoding.DER),
        subject_key=name_key(cert.subject),
        issuer_key=name_key(cert.issuer),
        ski=ski.value.digest if ski else None,
        aki=aki.value.key_identifier if aki else None,
        is_ca=bc.value.ca if bc else None,
        path_length=bc.value.path_length if bc else None,
        key_usage=ku.value if ku else None,
        not_before=cert.not_valid_before_utc.timestamp(),
        not_after=cert.not_valid_after_utc.timestamp(),
        **more,  # type: ignore[arg-type]
    )


def inspect_anchor(cert: x509.Certificate) -> CertFacts:
    """A trust anchor or helper: read, with no profile rules (RFC 5280 §6.1.1 (d))."""
    label = cert.subject.rfc4514_string()
    extensions = _extensions(cert, label)
    try:
        scope = tn_auth_list_from_certificate(cert)
    except CAError:
        scope = None
    return _facts(cert, extensions, tn_auth_list=scope)


def inspect(cert: x509.Certificate, *, leaf: bool, lenient: bool, position: int) -> CertFacts:
    """Read one path certificate and apply STANDARDS.md §4; raises PathError or ScopeError."""
    label = f"certificate {position} ({cert.subject.rfc4514_string()})"
    if cert.version is not x509.Version.v3:
        raise PathError("bad-certificate", f"{label} is not X.509 v3")
    extensions = _extensions(cert, label)
    for extension in extensions:
        if extension.critical and extension.oid not in UNDERSTOOD_CRITICAL:
            raise PathError(
                "unknown-critical-extension",
                f"{label} has the unknown critical extension {extension.oid.dotted_string}",
            )
    _check_constraints_and_usage(extensions, label, leaf)
    _check_key(cert, label, leaf)
    if cert.signature_algorithm_oid not in SIGNATURE_HASHES:
        raise PathError(
            "unsupported-algorithm",
            f"{label} is signed with {cert.signature_algorithm_oid.dotted_string}, "
            "not ecdsa-with-SHA256/384",
        )
    warnings: list[str] = []
    try:
        scope = tn_auth_list_from_certificate(cert, lenient=lenient, warnings=warnings)
    except CAError as error:
        raise ScopeError("tn-auth-list-malformed", f"{label}: {error}") from None
    if leaf and scope is None:
        raise ScopeError("tn-auth-list-missing", f"{label} has no TNAuthList (RFC 8226 §9)")
    return _facts(
        cert,
        extensions,
        tn_auth_list=scope,
        constraints=_claim_constraints(extensions, label) if leaf else None,
        crl_points=_crl_points(extensions),
        warnings=tuple(f"{label}: {w}" for w in warnings),
    )


def _check_constraints_and_usage(extensions: x509.Extensions, label: str, leaf: bool) -> None:
    bc = _extension(extensions, ExtensionOID.BASIC_CONSTRAINTS)
    if bc is None or not bc.critical:
        raise PathError("basic-constraints", f"{label}: basicConstraints must be present, critical")
    if bc.value.ca == leaf:
        want = "an end entity (cA FALSE)" if leaf else "a CA (cA TRUE)"
        raise PathError("basic-constraints", f"{label} must be {want}")
    ku = _extension(extensions, ExtensionOID.KEY_USAGE)
    if ku is None or not ku.critical:
        raise PathError("key-usage", f"{label}: keyUsage must be present and critical")
    if leaf and not ku.value.digital_signature:
        raise PathError("key-usage", f"{label}: an end entity needs digitalSignature")
    if not leaf and not ku.value.key_cert_sign:
        raise PathError("key-usage", f"{label}: a CA needs keyCertSign")


def _check_key(cert: x509.Certificate, label: str, leaf: bool) -> None:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as error:
        raise PathError("unsupported-key", f"{label} has an unusable public key: {error}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise PathError("unsupported-key", f"{label} has a {type(key).__name__}, not an EC key")
    if leaf and not isinstance(key.curve, ec.SECP256R1):
        raise PathError(
            "unsupported-key", f"{label} has a {key.curve.name} key; PASSporTs are ES256 (P-256)"
        )
    if not isinstance(key.curve, _CA_CURVES):
        raise PathError("unsupported-key", f"{label} has a {key.curve.name} key")


def _claim_constraints(extensions: x509.Extensions, label: str) -> Constraints | None:
    found: list[Constraints] = []
    for oid, kind in (
        (JWT_CLAIM_CONSTRAINTS, JWTClaimConstraints),
        (ENHANCED_JWT_CLAIM_CONSTRAINTS, EnhancedJWTClaimConstraints),
    ):
        extension = _extension(extensions, oid)
        if extension is None:
            continue
        try:
            found.append(kind.from_der(extension.value.value))
        except CAError as error:
            raise PathError("claim-constraints-malformed", f"{label}: {error}") from None
    if len(found) > 1:
        raise PathError(
            "claim-constraints-malformed",
            f"{label} carries both JWTClaimConstraints and EnhancedJWTClaimConstraints",
        )
    return found[0] if found else None


def _crl_points(extensions: x509.Extensions) -> tuple[tuple[str, x509.Name | None], ...]:
    extension = _extension(extensions, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    if extension is None:
        return ()
    points = []
    for point in extension.value:
        issuer = next(
            (n.value for n in point.crl_issuer or [] if isinstance(n, x509.DirectoryName)), None
        )
        for general_name in point.full_name or []:
            if isinstance(general_name, x509.UniformResourceIdentifier) and (
                general_name.value.startswith(("http://", "https://"))
            ):
                points.append((general_name.value, issuer))
                break
    return tuple(points)
