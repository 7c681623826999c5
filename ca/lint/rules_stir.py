"""Lints on the STIR extensions: TNAuthList (RFC 8226 §9, RFC 9060) and claim constraints."""

from __future__ import annotations

import re

from ca import oids
from ca.errors import CAError
from ca.issuance.profiles import Profile
from ca.lint.base import Lint, LintResult, register
from ca.lint.inputs import LintInput
from ca.tnauth import EnhancedJWTClaimConstraints, JWTClaimConstraints, TNAuthList, TNRange

ATIS = "ATIS-1000080 v005 §6.4.1"
_SHAKEN_SPC = re.compile(r"[0-9A-Z]+")
_SHOWN_ENTRIES = 8
_TN_AUTH_LIST = oids.TN_AUTH_LIST.dotted_string


def describe_entries(tn_auth_list: TNAuthList) -> str:
    """A short human list of entries, e.g. ``one 12125551824, range 12125550000+100``."""
    parts = []
    for entry in tn_auth_list.entries[:_SHOWN_ENTRIES]:
        if isinstance(entry, TNRange):
            parts.append(f"range {entry.start}+{entry.count}")
        elif isinstance(entry, str):
            parts.append(f"spc {entry}")
        else:
            parts.append(f"one {entry}")
    hidden = len(tn_auth_list.entries) - _SHOWN_ENTRIES
    if hidden > 0:
        parts.append(f"and {hidden} more")
    return ", ".join(parts)


def _tn_raw(cert: LintInput) -> list[bool]:
    """Criticality of each TNAuthList extension instance, in order."""
    return [raw.critical for raw in cert.raw_extensions if raw.oid == _TN_AUTH_LIST]


@register
class TNAuthListPresent(Lint):
    id = "e_tn_auth_list_present"
    description = "A TNAuthList extension is present where the profile requires one"
    source = f"RFC 8226 §9; {ATIS} (end entities); RFC 9060 §4 (delegation)"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if not profile.requires_tn_auth_list:
            return self.not_applicable(f"{profile.name} does not require a TNAuthList")
        return self.passed() if _tn_raw(cert) else self.failed("TNAuthList is absent")


@register
class TNAuthListAbsent(Lint):
    id = "e_tn_auth_list_absent"
    description = "No TNAuthList where the profile forbids one (SHAKEN roots and intermediates)"
    source = ATIS

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if profile.tn_auth_list != "forbidden":
            return self.not_applicable(f"{profile.name} does not forbid a TNAuthList")
        if _tn_raw(cert):
            return self.failed(f"{profile.name} certificates carry no TNAuthList")
        return self.passed()


@register
class TNAuthListNotCritical(Lint):
    id = "e_tn_auth_list_not_critical"
    description = "The TNAuthList extension is non-critical"
    source = "RFC 8226 §9"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        flags = _tn_raw(cert)
        if not flags:
            return self.not_applicable("TNAuthList is absent")
        return self.failed("TNAuthList is marked critical") if any(flags) else self.passed()


@register
class TNAuthListStrictDER(Lint):
    id = "e_tn_auth_list_strict_der"
    description = "The TNAuthList decodes under RFC 8226 Appendix A and X.690 DER"
    source = "RFC 8226 §9, Appendix A; X.690 §10"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if cert.extension_octets(oids.TN_AUTH_LIST) is None:
            return self.not_applicable("TNAuthList is absent")
        error = cert.tn_auth_list_error
        return self.failed(f"TNAuthList is malformed: {error}") if error else self.passed()


def _decoded(lint: Lint, cert: LintInput) -> TNAuthList | LintResult:
    tn_auth_list = cert.tn_auth_list
    if tn_auth_list is not None:
        return tn_auth_list
    if cert.tn_auth_list_error:
        return lint.not_applicable("TNAuthList is not strictly decodable")
    return lint.not_applicable("TNAuthList is absent")


@register
class TNAuthListNumbersOnly(Lint):
    id = "e_tn_auth_list_numbers_only"
    description = "A delegate's TNAuthList lists numbers and ranges only, no SPC"
    source = "Delegato profile decision (STANDARDS.md §4 delegate profile; RFC 9060 §4)"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if profile.tn_auth_list != "numbers":
            return self.not_applicable(f"{profile.name} does not restrict the list to numbers")
        decoded = _decoded(self, cert)
        if isinstance(decoded, LintResult):
            return decoded
        if decoded.spcs:
            return self.failed(f"TNAuthList holds SPC {', '.join(sorted(decoded.spcs))}")
        if not decoded.has_numbers:
            return self.failed("TNAuthList holds no numbers")
        return self.passed()


@register
class TNAuthListSingleSPC(Lint):
    id = "e_tn_auth_list_single_spc"
    description = "An SP certificate's TNAuthList is one SPC of digits and upper-case letters"
    source = ATIS

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if profile.tn_auth_list != "spc":
            return self.not_applicable(f"{profile.name} does not require a single SPC")
        decoded = _decoded(self, cert)
        if isinstance(decoded, LintResult):
            return decoded
        entries = decoded.entries
        if len(entries) != 1 or not isinstance(entries[0], str):
            return self.failed(f"TNAuthList is {describe_entries(decoded)}; one SPC is required")
        if not _SHAKEN_SPC.fullmatch(entries[0]):
            return self.failed(f"SPC {entries[0]!r} is not digits and upper-case letters")
        return self.passed()


@register
class TNAuthListEncompassed(Lint):
    id = "e_tn_auth_list_encompassed"
    description = "The TNAuthList is encompassed by the issuer's TNAuthList"
    source = "RFC 9060 §4"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        facts = cert.issuer_facts(profile)
        if facts is None or cert.issuer is None or cert.issuer is cert.cert:
            return self.not_applicable("no separate issuer certificate given")
        if facts.tn_auth_list is None:
            if facts.tn_auth_list_error:
                return self.failed(
                    f"the issuer's TNAuthList is malformed: {facts.tn_auth_list_error}"
                )
            return self.not_applicable("the issuer has no TNAuthList")
        decoded = _decoded(self, cert)
        if isinstance(decoded, LintResult):
            return decoded
        if facts.tn_auth_list.encompasses(decoded):
            return self.passed()
        outside = decoded.difference(facts.tn_auth_list).canonical()
        return self.failed(f"outside the issuer's TNAuthList: {describe_entries(outside)}")


_CLAIM_CONSTRAINTS = frozenset(
    {oids.JWT_CLAIM_CONSTRAINTS.dotted_string, oids.ENHANCED_JWT_CLAIM_CONSTRAINTS.dotted_string}
)


def _claim_constraint_oids(cert: LintInput) -> list[str]:
    return [raw.oid for raw in cert.raw_extensions if raw.oid in _CLAIM_CONSTRAINTS]


@register
class ClaimConstraintsSingle(Lint):
    id = "e_claim_constraints_single"
    description = "At most one of JWTClaimConstraints and EnhancedJWTClaimConstraints"
    source = "RFC 9118 §3"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        found = _claim_constraint_oids(cert)
        if len(found) <= 1:
            return self.passed()
        return self.failed(f"{len(found)} claim-constraints extensions; at most one is allowed")


@register
class ClaimConstraintsAllowed(Lint):
    id = "e_claim_constraints_allowed"
    description = "Claim-constraints extensions appear only where the profile allows them"
    source = "Delegato profile decision (RFC 8226 §8 constraints belong on delegates)"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if profile.claim_constraints_allowed or not _claim_constraint_oids(cert):
            return self.passed()
        return self.failed(f"{profile.name} certificates carry no claim constraints")


class _ClaimConstraintsDER(Lint):
    decoder: type[JWTClaimConstraints] | type[EnhancedJWTClaimConstraints]
    oid = oids.JWT_CLAIM_CONSTRAINTS

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        der = cert.extension_octets(self.oid)
        if der is None:
            return self.not_applicable("extension is absent")
        try:
            self.decoder.from_der(der)
        except CAError as exc:
            return self.failed(f"malformed: {exc.detail}")
        return self.passed()


@register
class JWTClaimConstraintsDER(_ClaimConstraintsDER):
    id = "e_jwt_claim_constraints_der"
    description = "JWTClaimConstraints decodes strictly and holds at least one constraint"
    source = "RFC 8226 §8"
    decoder = JWTClaimConstraints
    oid = oids.JWT_CLAIM_CONSTRAINTS


@register
class EnhancedJWTClaimConstraintsDER(_ClaimConstraintsDER):
    id = "e_enhanced_jwt_claim_constraints_der"
    description = "EnhancedJWTClaimConstraints decodes strictly and holds at least one constraint"
    source = "RFC 9118 §3"
    decoder = EnhancedJWTClaimConstraints
    oid = oids.ENHANCED_JWT_CLAIM_CONSTRAINTS


@register
class EnhancedClaimConstraintsIgnored(Lint):
    id = "w_enhanced_jwt_claim_constraints_ignored"
    description = "EnhancedJWTClaimConstraints does not exclude iat, orig or dest (else ignored)"
    source = "RFC 9118 §3"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        der = cert.extension_octets(oids.ENHANCED_JWT_CLAIM_CONSTRAINTS)
        if der is None:
            return self.not_applicable("extension is absent")
        try:
            constraints = EnhancedJWTClaimConstraints.from_der(der)
        except CAError:
            return self.not_applicable("extension is malformed")
        if constraints.is_ignored:
            excluded = ", ".join(constraints.must_exclude)
            return self.failed(f"mustExclude lists {excluded}: verifiers ignore the extension")
        return self.passed()
