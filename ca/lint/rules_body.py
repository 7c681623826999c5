"""Lints on the certificate body: version, serial, signature algorithm, subject key, validity."""

from __future__ import annotations

import math

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ObjectIdentifier, PublicKeyAlgorithmOID, SignatureAlgorithmOID

from ca.issuance.profiles import Profile
from ca.lint.base import Lint, LintResult, register
from ca.lint.inputs import LintInput

ATIS = "ATIS-1000080 v005 §6.4.1"
_ECDSA_BY_HASH = {
    "sha256": SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    "sha384": SignatureAlgorithmOID.ECDSA_WITH_SHA384,
    "sha512": SignatureAlgorithmOID.ECDSA_WITH_SHA512,
}
_MAX_SERIAL_OCTETS = 20


def der_integer_octets(value: int) -> int:
    """Content octets of ``value`` as a DER INTEGER, sign octet included (X.690 §8.3)."""
    return (value if value >= 0 else ~value).bit_length() // 8 + 1


_NAMES = {
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa-with-SHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ecdsa-with-SHA384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ecdsa-with-SHA512",
    SignatureAlgorithmOID.RSA_WITH_SHA256: "sha256WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "sha384WithRSAEncryption",
    SignatureAlgorithmOID.ED25519: "Ed25519",
    PublicKeyAlgorithmOID.RSAES_PKCS1_v1_5: "rsaEncryption",
    PublicKeyAlgorithmOID.ED25519: "Ed25519",
}


def _algorithm_name(oid: ObjectIdentifier) -> str:
    return _NAMES.get(oid, oid.dotted_string)


@register
class VersionV3(Lint):
    id = "e_version_v3"
    description = "The certificate is X.509 version 3"
    source = f"RFC 5280 §4.1.2.1; {ATIS}"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        version = cert.cert.version
        if version is x509.Version.v3:
            return self.passed()
        return self.failed(f"version is {version.name}, not v3")


@register
class SerialNumberPositive(Lint):
    id = "e_serial_number_positive"
    description = "The serial number is a positive integer"
    source = "RFC 5280 §4.1.2.2"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        serial = cert.cert.serial_number
        if serial > 0:
            return self.passed()
        return self.failed(f"serial number {serial} is not positive")


@register
class SerialNumberLength(Lint):
    id = "e_serial_number_too_long"
    description = "The serial number is at most 20 octets long"
    source = "RFC 5280 §4.1.2.2"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        octets = der_integer_octets(cert.cert.serial_number)
        if octets <= _MAX_SERIAL_OCTETS:
            return self.passed()
        return self.failed(f"serial number is {octets} octets long; at most 20 are allowed")


@register
class SerialNumberEntropy(Lint):
    id = "e_serial_number_entropy"
    description = "The serial number is long enough to hold the profile's random bits"
    source = f"{ATIS}; CA/Browser Forum BR §7.1"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        # As boulder and zlint do, entropy is judged by encoded length: N random bits need
        # ceil(N/8) content octets, counting the sign octet DER adds when the top bit is set.
        # A 64-bit random serial falls short of 8 octets only when its top byte is zero.
        needed = math.ceil(profile.min_serial_bits / 8)
        octets = der_integer_octets(cert.cert.serial_number)
        if octets >= needed:
            return self.passed()
        return self.failed(
            f"serial number is {octets} octets long; {profile.min_serial_bits} random bits "
            f"need at least {needed}"
        )


@register
class SignatureAlgorithm(Lint):
    id = "e_signature_algorithm"
    description = "The certificate is signed with ECDSA and a hash the profile allows"
    source = f"{ATIS}; US SHAKEN CP v1.4 §7.1.3 (SHA-384 with P-384 CA keys)"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        oid = cert.cert.signature_algorithm_oid
        allowed = {_ECDSA_BY_HASH[name]: name for name in profile.signature_hashes}
        if oid in allowed:
            return self.passed()
        names = ", ".join(f"ecdsa-with-{name.upper()}" for name in sorted(profile.signature_hashes))
        return self.failed(
            f"signature algorithm {_algorithm_name(oid)}; {profile.name} allows {names}"
        )


@register
class SubjectKeyCurve(Lint):
    id = "e_subject_public_key_curve"
    description = "The subject public key is an EC key on a curve the profile allows"
    source = f"{ATIS}; US SHAKEN CP v1.4 §6.1.5"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        algorithm = cert.cert.public_key_algorithm_oid
        if algorithm != PublicKeyAlgorithmOID.EC_PUBLIC_KEY:
            return self.failed(f"subject key is {_algorithm_name(algorithm)}, not an EC key")
        key = cert.public_key
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return self.failed(f"subject key is {type(key).__name__}, not an EC key")
        if key.curve.name in profile.subject_key_curves:
            return self.passed()
        allowed = ", ".join(sorted(profile.subject_key_curves))
        return self.failed(f"subject key curve {key.curve.name}; {profile.name} allows {allowed}")


@register
class ValidityOrder(Lint):
    id = "e_validity_order"
    description = "notBefore is not after notAfter"
    source = "RFC 5280 §4.1.2.5"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        before, after = cert.cert.not_valid_before_utc, cert.cert.not_valid_after_utc
        if before <= after:
            return self.passed()
        return self.failed(f"notBefore {before.isoformat()} is after notAfter {after.isoformat()}")


@register
class ValidityMax(Lint):
    id = "e_validity_max"
    description = "The validity period is no longer than the profile's maximum"
    source = "Delegato profile decision (STANDARDS.md §4: delegate certificates are short-lived)"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if profile.max_validity is None:
            return self.not_applicable(f"{profile.name} sets no maximum validity")
        period = cert.cert.not_valid_after_utc - cert.cert.not_valid_before_utc
        if period <= profile.max_validity:
            return self.passed()
        return self.failed(f"validity period {period} exceeds {profile.max_validity}")


@register
class ValidityWithinIssuer(Lint):
    id = "e_validity_within_issuer"
    description = "notAfter is not later than the issuer certificate's notAfter"
    source = "Delegato profile decision (STANDARDS.md §4); RFC 9060 §4 delegation"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        facts = cert.issuer_facts(profile)
        if facts is None or cert.issuer is None or cert.issuer is cert.cert:
            return self.not_applicable("no separate issuer certificate given")
        after = cert.cert.not_valid_after_utc
        if after <= facts.not_valid_after:
            return self.passed()
        return self.failed(
            f"notAfter {after.isoformat()} is past the issuer's {facts.not_valid_after.isoformat()}"
        )


@register
class CertificateExpired(Lint):
    id = "n_certificate_expired"
    description = "The certificate has expired at the time of linting"
    source = "RFC 5280 §4.1.2.5"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        after = cert.cert.not_valid_after_utc
        if after >= cert.now:
            return self.passed()
        return self.failed(f"expired at {after.isoformat()}")
