"""Lints on the extension list and the RFC 5280 extensions: BC, KU, SKI, AKI, criticality."""

from __future__ import annotations

import hashlib
from collections import Counter

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from ca.issuance.profiles import Profile
from ca.lint.base import Lint, LintResult, register
from ca.lint.inputs import LintInput

ATIS = "ATIS-1000080 v005 §6.4.1"
_MAY_BE_CRITICAL = {
    ExtensionOID.BASIC_CONSTRAINTS.dotted_string,
    ExtensionOID.KEY_USAGE.dotted_string,
}
_KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def asserted_key_usage(usage: x509.KeyUsage) -> set[str]:
    """The bits a KeyUsage value asserts, by cryptography's attribute names."""
    bits = {name for name in _KEY_USAGE_BITS if getattr(usage, name)}
    if usage.key_agreement:
        bits |= {name for name in ("encipher_only", "decipher_only") if getattr(usage, name)}
    return bits


@register
class BasicConstraintsPresent(Lint):
    id = "e_basic_constraints_present_critical"
    description = "basicConstraints is present and marked critical"
    source = f"{ATIS}; RFC 5280 §4.2.1.9"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = cert.extension(ExtensionOID.BASIC_CONSTRAINTS)
        if ext is None:
            return self.failed("basicConstraints is absent")
        return self.passed() if ext.critical else self.failed("basicConstraints is not critical")


@register
class BasicConstraintsCA(Lint):
    id = "e_basic_constraints_ca"
    description = "basicConstraints cA is TRUE exactly when the profile is a CA profile"
    source = "RFC 5280 §4.2.1.9"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = cert.extension(ExtensionOID.BASIC_CONSTRAINTS)
        is_ca = ext is not None and ext.value.ca
        if is_ca == profile.ca:
            return self.passed()
        return self.failed(f"cA is {is_ca}; {profile.name} requires {profile.ca}")


@register
class BasicConstraintsPathLength(Lint):
    id = "e_basic_constraints_path_len"
    description = "pathLenConstraint is the profile's value (absent on end entities)"
    source = "RFC 5280 §4.2.1.9"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = cert.extension(ExtensionOID.BASIC_CONSTRAINTS)
        if ext is None:
            return self.not_applicable("basicConstraints is absent")
        actual = ext.value.path_length
        if actual == profile.path_len:
            return self.passed()
        wanted = "absent" if profile.path_len is None else str(profile.path_len)
        shown = "absent" if actual is None else str(actual)
        return self.failed(f"pathLenConstraint is {shown}; {profile.name} requires {wanted}")


@register
class KeyUsagePresent(Lint):
    id = "e_key_usage_present_critical"
    description = "keyUsage is present and marked critical"
    source = f"{ATIS}; RFC 5280 §4.2.1.3"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = cert.extension(ExtensionOID.KEY_USAGE)
        if ext is None:
            return self.failed("keyUsage is absent")
        return self.passed() if ext.critical else self.failed("keyUsage is not critical")


@register
class KeyUsageBits(Lint):
    id = "e_key_usage_bits"
    description = "keyUsage asserts the profile's bits and no others"
    source = f"{ATIS}; RFC 5280 §4.2.1.3"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = cert.extension(ExtensionOID.KEY_USAGE)
        if ext is None:
            return self.not_applicable("keyUsage is absent")
        bits = asserted_key_usage(ext.value)
        missing = profile.key_usage - bits
        extra = bits - profile.key_usage - profile.key_usage_optional
        problems = []
        if missing:
            problems.append(f"lacks {', '.join(sorted(missing))}")
        if extra:
            problems.append(f"asserts {', '.join(sorted(extra))}, which {profile.name} forbids")
        return self.failed("keyUsage " + " and ".join(problems)) if problems else self.passed()


@register
class OnlyBasicExtensionsCritical(Lint):
    id = "e_extensions_critical"
    description = "Only basicConstraints and keyUsage are marked critical"
    source = ATIS

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        critical = sorted(
            {raw.oid for raw in cert.raw_extensions if raw.critical} - _MAY_BE_CRITICAL
        )
        if not critical:
            return self.passed()
        return self.failed(f"critical extensions besides BC and KU: {', '.join(critical)}")


@register
class ExtensionsAllowed(Lint):
    id = "e_extensions_allowed"
    description = "Only the extension types the profile lists are present"
    source = f"{ATIS} (seven extension types); Delegato profile decision for delegates"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        seen = {raw.oid for raw in cert.raw_extensions}
        other = sorted(seen - profile.allowed_extensions)
        if not other:
            return self.passed()
        return self.failed(f"extensions {profile.name} does not allow: {', '.join(other)}")


@register
class ExtensionsUnique(Lint):
    id = "e_extensions_unique"
    description = "No extension appears more than once"
    source = "RFC 5280 §4.2"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        seen = [raw.oid for raw in cert.raw_extensions]
        if len(set(seen)) == len(seen):
            return self.passed()
        counts = Counter(seen)
        repeated = sorted(oid for oid, count in counts.items() if count > 1)
        if not repeated:
            return self.passed()
        return self.failed(f"repeated extensions: {', '.join(repeated)}")


@register
class SubjectKeyIdentifierPresent(Lint):
    id = "e_subject_key_identifier_present"
    description = "subjectKeyIdentifier is present and non-critical"
    source = f"{ATIS}; RFC 5280 §4.2.1.2"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = cert.extension(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        if ext is None:
            return self.failed("subjectKeyIdentifier is absent")
        return self.failed("subjectKeyIdentifier is critical") if ext.critical else self.passed()


@register
class SubjectKeyIdentifierMethod1(Lint):
    id = "e_subject_key_identifier_method_1"
    description = "subjectKeyIdentifier is the 20-byte SHA-1 of the subjectPublicKey bits"
    source = f"{ATIS}; RFC 5280 §4.2.1.2 method (1)"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ski = cert.subject_key_identifier
        if ski is None:
            return self.not_applicable("subjectKeyIdentifier is absent")
        if len(ski) != 20:
            return self.failed(f"subjectKeyIdentifier is {len(ski)} bytes, not 20")
        key = cert.public_key  # an unloadable key makes this lint FATAL, as it always has
        try:
            bits = cert.tbs_fields.subject_public_key
        except ValueError:
            bits = None
        if bits is not None and ski == hashlib.sha1(bits).digest():
            return self.passed()
        if ski == x509.SubjectKeyIdentifier.from_public_key(key).digest:
            return self.passed()
        # cryptography re-encodes the key (uncompressed point); hash the bits as encoded too.
        bits = cert.tbs_asn1["subject_public_key_info"]["public_key"].contents[1:]
        if ski == hashlib.sha1(bits).digest():
            return self.passed()
        return self.failed("subjectKeyIdentifier is not the SHA-1 of the subjectPublicKey bits")


@register
class AuthorityKeyIdentifierPresent(Lint):
    id = "e_authority_key_identifier_present"
    description = "authorityKeyIdentifier is present, non-critical, with a keyIdentifier"
    source = f"{ATIS}; RFC 5280 §4.2.1.1"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = cert.extension(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
        if ext is None:
            if profile.self_signed:
                return self.not_applicable("a self-signed certificate may omit the AKI")
            return self.failed("authorityKeyIdentifier is absent")
        if ext.critical:
            return self.failed("authorityKeyIdentifier is critical")
        if ext.value.key_identifier is None:
            return self.failed("authorityKeyIdentifier has no keyIdentifier")
        return self.passed()


@register
class AuthorityKeyIdentifierMatches(Lint):
    id = "e_authority_key_identifier_matches_issuer"
    description = "authorityKeyIdentifier keyIdentifier equals the issuer's subjectKeyIdentifier"
    source = f"{ATIS}; RFC 5280 §4.2.1.1"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = cert.extension(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
        if ext is None or ext.value.key_identifier is None:
            return self.not_applicable("no AKI keyIdentifier")
        facts = cert.issuer_facts(profile)
        if facts is None:
            return self.not_applicable("no issuer certificate given")
        if facts.subject_key_identifier is None:
            reason = facts.ski_error or "it has no subjectKeyIdentifier"
            return self.failed(f"cannot match the issuer's SKI: {reason}")
        if ext.value.key_identifier == facts.subject_key_identifier:
            return self.passed()
        return self.failed(
            f"AKI {ext.value.key_identifier.hex()} differs from the issuer's SKI "
            f"{facts.subject_key_identifier.hex()}"
        )
