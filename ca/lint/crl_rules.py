"""The CRL rules (RFC 5280 §5, ATIS-1000080 CRL practice), one per class."""

from __future__ import annotations

from collections import Counter
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import CRLEntryExtensionOID, ExtensionOID, SignatureAlgorithmOID

from ca.lint.base import LintResult
from ca.lint.crl_input import CRLEntry, CRLInput, CRLLint, register_crl, summarise

_MAX_CRL_NUMBER = 2**159  # 20 octets with the sign bit clear (RFC 5280 §5.2.3)


@register_crl
class CRLVersion(CRLLint):
    id = "e_crl_version_v2"
    description = "The CRL is version 2"
    source = "RFC 5280 §5.1.2.1"

    def check(self, crl: CRLInput) -> LintResult:
        return self.passed() if crl.version == "v2" else self.failed(f"version is {crl.version}")


@register_crl
class CRLNumber(CRLLint):
    id = "e_crl_number"
    description = "cRLNumber is present, non-critical, non-negative and at most 20 octets"
    source = "RFC 5280 §5.2.3"

    def check(self, crl: CRLInput) -> LintResult:
        ext = crl.extension(ExtensionOID.CRL_NUMBER)
        if ext is None:
            return self.failed("cRLNumber is absent")
        if ext.critical:
            return self.failed("cRLNumber is critical")
        number = ext.value.crl_number
        if not 0 <= number < _MAX_CRL_NUMBER:
            return self.failed(f"cRLNumber {number} is negative or longer than 20 octets")
        return self.passed()


@register_crl
class CRLAuthorityKeyIdentifier(CRLLint):
    id = "e_crl_authority_key_identifier"
    description = "authorityKeyIdentifier is present and equals the signer's subjectKeyIdentifier"
    source = "RFC 5280 §5.2.1"

    def check(self, crl: CRLInput) -> LintResult:
        ext = crl.extension(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
        if ext is None or ext.value.key_identifier is None:
            return self.failed("authorityKeyIdentifier with a keyIdentifier is absent")
        ski = crl.issuer.subject_key_identifier
        if ski is None:
            return self.failed("the signer certificate has no subjectKeyIdentifier to match")
        if ext.value.key_identifier != ski:
            return self.failed(f"AKI {ext.value.key_identifier.hex()} differs from SKI {ski.hex()}")
        return self.passed()


@register_crl
class CRLIssuerName(CRLLint):
    id = "e_crl_issuer_name"
    description = "The CRL issuer name equals the signer certificate's subject"
    source = "RFC 5280 §5.1.2.3"

    def check(self, crl: CRLInput) -> LintResult:
        if crl.crl.issuer == crl.issuer.subject:
            return self.passed()
        return self.failed(f"issuer {crl.crl.issuer.rfc4514_string()!r} is not the signer")


@register_crl
class IssuingDistributionPoint(CRLLint):
    id = "e_crl_issuing_distribution_point"
    description = "issuingDistributionPoint is present, critical, named by the expected URL"
    source = "RFC 5280 §5.2.5; ATIS-1000080 (CRL matches its distribution point)"

    def check(self, crl: CRLInput) -> LintResult:
        ext = crl.extension(ExtensionOID.ISSUING_DISTRIBUTION_POINT)
        if ext is None:
            return self.failed("issuingDistributionPoint is absent")
        if not ext.critical:
            return self.failed("issuingDistributionPoint is not critical")
        names = ext.value.full_name or []
        expected = x509.UniformResourceIdentifier(crl.expected_idp_url)
        if list(names) != [expected]:
            shown = ", ".join(getattr(name, "value", repr(name)) for name in names) or "nothing"
            return self.failed(f"fullName is {shown}; expected {crl.expected_idp_url}")
        return self.passed()


@register_crl
class IndirectFlag(CRLLint):
    id = "e_crl_indirect_flag"
    description = "issuingDistributionPoint indirectCRL says whether the CRL is indirect"
    source = "RFC 5280 §5.2.5"

    def check(self, crl: CRLInput) -> LintResult:
        ext = crl.extension(ExtensionOID.ISSUING_DISTRIBUTION_POINT)
        if ext is None:
            return self.not_applicable("issuingDistributionPoint is absent")
        if ext.value.indirect_crl == crl.indirect:
            return self.passed()
        return self.failed(f"indirectCRL is {ext.value.indirect_crl}; expected {crl.indirect}")


@register_crl
class ThisUpdate(CRLLint):
    id = "e_crl_this_update_not_future"
    description = "thisUpdate is not in the future"
    source = "RFC 5280 §5.1.2.4"

    def check(self, crl: CRLInput) -> LintResult:
        this_update = crl.crl.last_update_utc
        if this_update <= crl.now:
            return self.passed()
        return self.failed(f"thisUpdate {this_update.isoformat()} is after {crl.now.isoformat()}")


@register_crl
class NextUpdate(CRLLint):
    id = "e_crl_next_update"
    description = "nextUpdate is present, after thisUpdate, and within the allowed horizon"
    source = "RFC 5280 §5.1.2.5; ATIS-1000080 practice (12-24 h)"

    def check(self, crl: CRLInput) -> LintResult:
        next_update = crl.crl.next_update_utc
        if next_update is None:
            return self.failed("nextUpdate is absent")
        span = next_update - crl.crl.last_update_utc
        if span.total_seconds() <= 0:
            return self.failed("nextUpdate is not after thisUpdate")
        if span > crl.max_next_update:
            return self.failed(
                f"nextUpdate is {span} after thisUpdate; at most {crl.max_next_update}"
            )
        return self.passed()


@register_crl
class CRLSignatureAlgorithm(CRLLint):
    id = "e_crl_signature_algorithm"
    description = "The CRL is signed with ecdsa-with-SHA256 (SHA-384 under a P-384 signer)"
    source = "ATIS-1000080 v005 §6.4.1; US SHAKEN CP v1.4 §7.1.3"

    def check(self, crl: CRLInput) -> LintResult:
        allowed = {SignatureAlgorithmOID.ECDSA_WITH_SHA256}
        key = crl.issuer_certificate.public_key()
        if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1":
            allowed.add(SignatureAlgorithmOID.ECDSA_WITH_SHA384)
        if crl.crl.signature_algorithm_oid in allowed:
            return self.passed()
        return self.failed(f"signature algorithm {crl.crl.signature_algorithm_oid.dotted_string}")


def _entry_extension(entry: CRLEntry, oid: x509.ObjectIdentifier) -> x509.Extension[Any] | None:
    if entry.extensions is None:
        return None
    return entry.extensions.get(oid.dotted_string)


def _certificate_issuer(entry: CRLEntry) -> x509.Extension[Any] | None:
    return _entry_extension(entry, CRLEntryExtensionOID.CERTIFICATE_ISSUER)


@register_crl
class EntrySerialsUnique(CRLLint):
    id = "e_crl_entries_unique"
    description = "No certificate is listed twice (per certificate issuer on indirect CRLs)"
    source = "RFC 5280 §5.1.2.6, §5.3.3"

    def check(self, crl: CRLInput) -> LintResult:
        keys = []
        issuer: tuple[x509.GeneralName, ...] = ()
        for entry in crl.entries:
            ext = _certificate_issuer(entry)
            if ext is not None:  # certificateIssuer carries over to the following entries
                issuer = tuple(ext.value)
            keys.append((issuer, entry.serial))
        repeated = sorted(f"{serial:x}" for (_, serial), n in Counter(keys).items() if n > 1)
        if not repeated:
            return self.passed()
        return self.failed(f"serials listed more than once: {', '.join(repeated)}")


@register_crl
class EntryReasonCode(CRLLint):
    id = "e_crl_entry_reason_code"
    description = "reasonCode entry extensions are non-critical and valid for a full CRL"
    source = "RFC 5280 §5.3.1"

    def check(self, crl: CRLInput) -> LintResult:
        def problem(entry: CRLEntry) -> str | None:
            ext = _entry_extension(entry, CRLEntryExtensionOID.CRL_REASON)
            if ext is None:
                return None
            if ext.critical:
                return "reasonCode is critical"
            if ext.value.reason is x509.ReasonFlags.remove_from_crl:
                return "removeFromCRL belongs in delta CRLs only"
            return None

        problems = crl.entry_problems(problem)
        return self.failed(summarise(problems)) if problems else self.passed()


@register_crl
class EntryReasonUnspecified(CRLLint):
    id = "w_crl_entry_reason_unspecified"
    description = "No entry carries reasonCode unspecified; the extension is omitted instead"
    source = "RFC 5280 §5.3.1"

    def check(self, crl: CRLInput) -> LintResult:
        unspecified = [
            entry.label
            for entry in crl.entries
            if (ext := _entry_extension(entry, CRLEntryExtensionOID.CRL_REASON))
            and ext.value.reason is x509.ReasonFlags.unspecified
        ]
        if not unspecified:
            return self.passed()
        return self.failed(f"reasonCode unspecified on {summarise(unspecified)}")


@register_crl
class EntryCertificateIssuerPlacement(CRLLint):
    id = "e_crl_entry_certificate_issuer"
    description = "certificateIssuer appears only on indirect CRLs, and on their first entry"
    source = "RFC 5280 §5.3.3; Delegato decision (the CRL signer issues no certificates itself)"

    def check(self, crl: CRLInput) -> LintResult:
        def problem(entry: CRLEntry) -> str | None:
            ext = _certificate_issuer(entry)
            if ext is not None and not crl.indirect:
                return "certificateIssuer on a CRL that is not indirect"
            if ext is None and crl.indirect and entry.index == 0:
                return "the first entry of an indirect CRL must name its certificate issuer"
            if ext is not None and not any(isinstance(n, x509.DirectoryName) for n in ext.value):
                return "certificateIssuer holds no directoryName"
            return None

        problems = crl.entry_problems(problem)
        return self.failed(summarise(problems)) if problems else self.passed()


@register_crl
class EntryCertificateIssuerCritical(CRLLint):
    id = "e_crl_entry_certificate_issuer_critical"
    description = "certificateIssuer entry extensions are marked critical"
    source = "RFC 5280 §5.3.3"

    def check(self, crl: CRLInput) -> LintResult:
        def problem(entry: CRLEntry) -> str | None:
            ext = _certificate_issuer(entry)
            return "certificateIssuer is not critical" if ext and not ext.critical else None

        problems = crl.entry_problems(problem)
        return self.failed(summarise(problems)) if problems else self.passed()


@register_crl
class SignerKeyUsage(CRLLint):
    id = "e_crl_signer_key_usage"
    description = "The signer certificate's keyUsage, when present, asserts cRLSign"
    source = "RFC 5280 §4.2.1.3, §6.3.3 (f)"

    def check(self, crl: CRLInput) -> LintResult:
        try:
            usage = crl.issuer_certificate.extensions.get_extension_for_class(x509.KeyUsage)
        except x509.ExtensionNotFound:
            return self.passed("the signer certificate has no keyUsage: every use is allowed")
        if usage.value.crl_sign:
            return self.passed()
        return self.failed("the signer certificate's keyUsage does not assert cRLSign")
