"""Lints on the subject and issuer names: required attributes, CN wording, chaining, encodings."""

from __future__ import annotations

import re

from ca.issuance.profiles import SUBJECT_ATTRIBUTES, Profile
from ca.lint.base import Lint, LintResult, register
from ca.lint.der import DERError, NameAttribute
from ca.lint.inputs import IssuerFacts, LintInput

ATIS = "ATIS-1000080 v005 §6.4.1"

# Universal tags of the string types met in names (X.680 §8.4).
_PRINTABLE, _UTF8, _IA5 = 0x13, 0x0C, 0x16
_TAG_NAMES = {
    0x13: "PrintableString",
    0x0C: "UTF8String",
    0x16: "IA5String",
    0x14: "TeletexString",
    0x1C: "UniversalString",
    0x1E: "BMPString",
}
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
_COUNTRY = "2.5.4.6"
_SERIAL_NUMBER = "2.5.4.5"
_EMAIL = "1.2.840.113549.1.9.1"
_DOMAIN_COMPONENT = "0.9.2342.19200300.100.1.25"
# Upper bounds from RFC 5280 Appendix A (ub-common-name, ub-organization-name, ...).
_UPPER_BOUNDS = {
    "2.5.4.3": 64,
    "2.5.4.10": 64,
    "2.5.4.11": 64,
    "2.5.4.7": 128,
    "2.5.4.8": 128,
    _SERIAL_NUMBER: 64,
}
_SHORT_NAMES = {oid: short for short, oid in SUBJECT_ATTRIBUTES.items()}


def _attribute_problem(attribute: NameAttribute) -> str | None:
    """Why one attribute's encoding breaks RFC 5280 §4.1.2.4/§4.1.2.6 and Appendix A, or None."""
    oid, tag, text = attribute.oid, attribute.tag, attribute.text
    kind = _TAG_NAMES.get(tag, f"tag 0x{tag:02x}")
    label = _SHORT_NAMES.get(oid, oid)
    if text is None:
        return f"{label} is a {kind} that does not decode"
    if oid == _COUNTRY:
        if tag != _PRINTABLE:
            return f"C is a {kind}; it must be a PrintableString"
        if not _COUNTRY_CODE.match(text):
            return f"C {text!r} is not two upper-case letters (ISO 3166)"
        return None
    if oid in (_EMAIL, _DOMAIN_COMPONENT):
        return None if tag == _IA5 else f"{label} is a {kind}; it must be an IA5String"
    if oid == _SERIAL_NUMBER and tag != _PRINTABLE:
        return f"serialNumber is a {kind}; it must be a PrintableString"
    if tag not in (_PRINTABLE, _UTF8):
        return f"{label} is a {kind}; CAs must use PrintableString or UTF8String"
    # PrintableString's character set needs no check: cryptography refuses to load a name
    # that breaks it, so such a certificate never reaches a lint.
    if not text.strip():
        return f"{label} is empty"
    bound = _UPPER_BOUNDS.get(oid)
    if bound is not None and len(text) > bound:
        return f"{label} is {len(text)} characters long; the upper bound is {bound}"
    return None


def _name_problems(attributes: list[NameAttribute]) -> list[str]:
    return [p for p in map(_attribute_problem, attributes) if p]


@register
class SubjectRequiredAttributes(Lint):
    id = "e_subject_required_attributes"
    description = "The subject holds every attribute the profile requires (C, O, CN)"
    source = ATIS

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        present = {attribute.oid for attribute in cert.names[1]}
        missing = [
            short for short in profile.subject_required if SUBJECT_ATTRIBUTES[short] not in present
        ]
        if not missing:
            return self.passed()
        return self.failed(f"subject lacks {', '.join(missing)}")


@register
class SubjectCommonNameWords(Lint):
    id = "e_subject_cn_contains"
    description = "The subject CN contains the profile's words, any case (SHAKEN; ROOT on a root)"
    source = ATIS

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if not profile.subject_cn_contains:
            return self.not_applicable(f"{profile.name} requires no words in the CN")
        names = cert.common_names
        if not names:
            return self.failed("subject has no CN")
        # Case-insensitive: v005 asks for "ROOT (case insensitive)"; SHAKEN is read the same way.
        folded = [n.casefold() for n in names]
        absent = [
            w for w in profile.subject_cn_contains if not any(w.casefold() in n for n in folded)
        ]
        if not absent:
            return self.passed()
        return self.failed(f"CN {names[0]!r} does not contain {', '.join(absent)}")


@register
class SubjectCommonNameSPC(Lint):
    id = "e_subject_cn_shaken_spc"
    description = "An SP certificate's CN contains 'SHAKEN <SPC>' with the TNAuthList's SPC"
    source = ATIS

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if profile.tn_auth_list != "spc":
            return self.not_applicable(f"{profile.name} does not carry an SPC")
        tn_auth_list = cert.tn_auth_list
        if tn_auth_list is None or len(tn_auth_list.spcs) != 1:
            return self.not_applicable("no single SPC to compare with")
        (spc,) = tn_auth_list.spcs
        names = cert.common_names
        if any(f"SHAKEN {spc}" in name for name in names):
            return self.passed()
        shown = repr(names[0]) if names else "absent"
        return self.failed(f"CN {shown} does not contain 'SHAKEN {spc}'")


def _issuer_is(cert: LintInput, facts: IssuerFacts) -> bool:
    """The issuer DN equals the issuer's subject DN: the same bytes, else by RFC 5280 §7.1."""
    try:
        if facts.subject_der is not None and cert.tbs_fields.issuer == facts.subject_der:
            return True  # equal encodings parse to equal names
    except DERError:
        pass
    return bool(cert.cert.issuer == facts.subject)


@register
class IssuerNameMatches(Lint):
    id = "e_issuer_dn_matches_issuer_subject"
    description = "The issuer DN equals the issuer certificate's subject DN"
    source = "RFC 5280 §4.1.2.4, §7.1"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        facts = cert.issuer_facts(profile)
        if facts is None:
            return self.not_applicable("no issuer certificate given")
        if _issuer_is(cert, facts):
            return self.passed()
        return self.failed(
            f"issuer {cert.cert.issuer.rfc4514_string()!r} differs from the issuer certificate's "
            f"subject {facts.subject.rfc4514_string()!r}"
        )


@register
class SubjectNameEncoding(Lint):
    id = "e_subject_dn_encoding"
    description = "Subject attributes use the string types and sizes RFC 5280 allows"
    source = "RFC 5280 §4.1.2.6, Appendix A"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        problems = _name_problems(cert.names[1])
        return self.failed("; ".join(problems)) if problems else self.passed()


@register
class IssuerNameEncoding(Lint):
    id = "e_issuer_dn_encoding"
    description = "Issuer attributes use the string types and sizes RFC 5280 allows"
    source = "RFC 5280 §4.1.2.4, Appendix A"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        problems = _name_problems(cert.names[0])
        return self.failed("; ".join(problems)) if problems else self.passed()
