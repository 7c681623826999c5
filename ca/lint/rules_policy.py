"""Lints on certificatePolicies and cRLDistributionPoints."""

from __future__ import annotations

from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from ca.issuance.profiles import Profile
from ca.lint.base import Lint, LintResult, register
from ca.lint.inputs import LintInput

ATIS = "ATIS-1000080 v005 §6.4.1"


@register
class CertificatePolicies(Lint):
    id = "e_certificate_policies"
    description = "certificatePolicies is non-critical and holds exactly the profile's policy OIDs"
    source = f"{ATIS}; US SHAKEN CP v1.4 §1.2"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = cert.extension(ExtensionOID.CERTIFICATE_POLICIES)
        if not profile.certificate_policies:
            if ext is None:
                return self.passed()
            return self.failed(f"{profile.name} certificates carry no certificatePolicies")
        if ext is None:
            return self.failed("certificatePolicies is absent")
        if ext.critical:
            return self.failed("certificatePolicies is critical")
        found = [info.policy_identifier.dotted_string for info in ext.value]
        if sorted(found) == sorted(profile.certificate_policies):
            return self.passed()
        shown = ", ".join(found) or "no policy"
        wanted = ", ".join(profile.certificate_policies)
        tolerated = set(profile.certificate_policies_tolerated)
        if len(found) == 1 and found[0] in tolerated:
            return self.warn(f"policy {shown} is tolerated; the current policy is {wanted}")
        return self.failed(f"policies are {shown}; {profile.name} requires exactly {wanted}")


def _points(cert: LintInput) -> x509.Extension[x509.CRLDistributionPoints] | None:
    return cert.extension(ExtensionOID.CRL_DISTRIBUTION_POINTS)


@register
class CRLDistributionPointsPresent(Lint):
    id = "e_crl_distribution_points_present"
    description = "cRLDistributionPoints is present where the profile requires it"
    source = f"{ATIS}; RFC 5280 §4.2.1.13"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if profile.crl_distribution_point != "required":
            return self.not_applicable(f"{profile.name} does not require a CRL distribution point")
        if _points(cert) is None:
            return self.failed("cRLDistributionPoints is absent")
        return self.passed()


@register
class CRLDistributionPointsAbsent(Lint):
    id = "e_crl_distribution_points_absent"
    description = "cRLDistributionPoints is absent where the profile forbids it (roots)"
    source = ATIS

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        if profile.crl_distribution_point != "forbidden":
            return self.not_applicable(f"{profile.name} does not forbid a CRL distribution point")
        if _points(cert) is not None:
            return self.failed(f"{profile.name} certificates carry no cRLDistributionPoints")
        return self.passed()


def _uri_problem(name: x509.GeneralName) -> str | None:
    if not isinstance(name, x509.UniformResourceIdentifier):
        return f"distribution point name is a {type(name).__name__}, not a URI"
    parts = urlsplit(name.value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"distribution point {name.value!r} is not an http(s) URL"
    return None


@register
class CRLDistributionPointsStructure(Lint):
    id = "e_crl_distribution_points_structure"
    description = "Exactly one distribution point, named by one http(s) URI, all reasons"
    source = f"{ATIS}; RFC 5280 §4.2.1.13"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = _points(cert)
        if ext is None:
            return self.not_applicable("cRLDistributionPoints is absent")
        if ext.critical:
            return self.failed("cRLDistributionPoints is critical")
        points = list(ext.value)
        if len(points) != 1:
            return self.failed(f"{len(points)} distribution points; exactly one is required")
        (point,) = points
        if point.full_name is None:
            return self.failed("the distribution point has no fullName")
        if len(point.full_name) != 1:
            return self.failed(f"fullName holds {len(point.full_name)} names; one URI is required")
        problem = _uri_problem(point.full_name[0])
        if problem:
            return self.failed(problem)
        if point.reasons is not None:
            return self.failed("the distribution point limits reasons; it must cover them all")
        return self.passed()


@register
class CRLDistributionPointIssuer(Lint):
    id = "e_crl_distribution_points_crl_issuer"
    description = "cRLIssuer names the CRL's signer by DN where the profile requires it"
    source = f"{ATIS} (indirect STI-PA CRL); RFC 5280 §4.2.1.13"

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        ext = _points(cert)
        if ext is None:
            return self.not_applicable("cRLDistributionPoints is absent")
        issuers = [point.crl_issuer for point in ext.value if point.crl_issuer is not None]
        if not issuers:
            if profile.crl_issuer == "required":
                return self.failed("the distribution point has no cRLIssuer")
            return self.passed()
        if profile.crl_issuer == "forbidden":
            return self.failed(f"{profile.name} distribution points carry no cRLIssuer")
        for names in issuers:
            if not any(isinstance(name, x509.DirectoryName) for name in names):
                return self.failed("cRLIssuer holds no directoryName")
        return self.passed()
