"""Building blocks for the failing certificate vectors (cases_*.py) and the extra valid ones.

Each ``Case`` names the kind of valid certificate it starts from (pki.KINDS), the lint that must
fire, how to break the certificate, the status expected and a fragment of the detail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import NameOID

from ca import oids
from ca.lint import LintStatus
from ca.tnauth import EnhancedJWTClaimConstraints, JWTClaimConstraints, TNAuthList
from tests.unit.lint.conftest import make
from tests.unit.lint.pki import (
    NOW,
    CertSpec,
    key,
    rewrite,
    root,
    tn_auth_list_ext,
)

ERROR, WARN, NOTICE = LintStatus.ERROR, LintStatus.WARN, LintStatus.NOTICE
PLACEHOLDER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.99")


@dataclass(frozen=True)
class Case:
    kind: str
    lint_id: str
    produce: Callable[[str], x509.Certificate]
    fragment: str
    status: LintStatus = ERROR


def tweak(change: Callable[[CertSpec], object]) -> Callable[[str], x509.Certificate]:
    return lambda kind: make(kind, change)


def tbs(
    change: Callable[[asn1_x509.TbsCertificate], None],
    first: Callable[[CertSpec], object] | None = None,
) -> Callable[[str], x509.Certificate]:
    return lambda kind: rewrite(make(kind, first), change)


def assign(field: str, value: object) -> Callable[[CertSpec], object]:
    return lambda spec: setattr(spec, field, value)


def version_1(t: asn1_x509.TbsCertificate) -> None:
    t["version"] = "v1"


def serial(value: int) -> Callable[[asn1_x509.TbsCertificate], None]:
    def change(t: asn1_x509.TbsCertificate) -> None:
        t["serial_number"] = value

    return change


def swap_validity(t: asn1_x509.TbsCertificate) -> None:
    before, after = t["validity"]["not_before"].native, t["validity"]["not_after"].native
    t["validity"] = asn1_x509.Validity(
        {
            "not_before": asn1_x509.Time({"utc_time": after}),
            "not_after": asn1_x509.Time({"utc_time": before}),
        }
    )


def duplicate_placeholder(t: asn1_x509.TbsCertificate) -> None:
    for extension in t["extensions"]:
        if extension["extn_id"].dotted == PLACEHOLDER.dotted_string:
            extension["extn_id"] = oids.TN_AUTH_LIST.dotted_string


def printable_subject(organization: str) -> Callable[[asn1_x509.TbsCertificate], None]:
    """A subject whose O is a PrintableString holding ``organization`` verbatim (even if invalid)."""

    def attribute(kind: str, value: str) -> asn1_x509.RelativeDistinguishedName:
        text = asn1_x509.DirectoryString(name="printable_string", value=value)
        return asn1_x509.RelativeDistinguishedName(
            [asn1_x509.NameTypeAndValue({"type": kind, "value": text})]
        )

    def change(t: asn1_x509.TbsCertificate) -> None:
        rdns = [attribute("country_name", "US"), attribute("organization_name", organization)]
        rdns.append(attribute("common_name", "Acme SHAKEN delegate"))
        t["subject"] = asn1_x509.Name(name="", value=asn1_x509.RDNSequence(rdns))

    return change


def with_subject(*attributes: x509.NameAttribute) -> Callable[[CertSpec], object]:
    return assign("subject", x509.Name(list(attributes)))


C_US = x509.NameAttribute(NameOID.COUNTRY_NAME, "US")
O_ACME = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme Corp")
CN_ACME = x509.NameAttribute(NameOID.COMMON_NAME, "Acme SHAKEN delegate")


def tn(der: bytes, critical: bool = False) -> Callable[[CertSpec], object]:
    return lambda spec: spec.put(tn_auth_list_ext(der), critical=critical)


def spcs(*entries: object) -> bytes:
    return TNAuthList(entries).to_der()  # type: ignore[arg-type]


def other_aki(spec: CertSpec) -> None:
    spec.put(x509.AuthorityKeyIdentifier.from_issuer_public_key(key("stranger").public_key()))


def one_point(**kwargs: object) -> Callable[[CertSpec], object]:
    fields: dict[str, object] = {
        "full_name": [x509.UniformResourceIdentifier("https://delegato.example/crl/sca.crl")],
        "relative_name": None,
        "reasons": None,
        "crl_issuer": None,
    } | kwargs
    return lambda spec: spec.put(x509.CRLDistributionPoints([x509.DistributionPoint(**fields)]))  # type: ignore[arg-type]


def jwt() -> x509.UnrecognizedExtension:
    value = JWTClaimConstraints(permitted_values={"attest": ["A"]})
    return x509.UnrecognizedExtension(oids.JWT_CLAIM_CONSTRAINTS, value.to_der())


def ejwt(*excluded: str) -> x509.UnrecognizedExtension:
    value = EnhancedJWTClaimConstraints(must_include=["orig"], must_exclude=excluded)
    return x509.UnrecognizedExtension(oids.ENHANCED_JWT_CLAIM_CONSTRAINTS, value.to_der())


def put(*values: x509.ExtensionType) -> Callable[[CertSpec], object]:
    def change(spec: CertSpec) -> None:
        for value in values:
            spec.put(value)

    return change


HOUR = dt.timedelta(hours=1)


def expired(spec: CertSpec) -> None:
    spec.not_before, spec.not_after = NOW - 48 * HOUR, NOW - HOUR


#: Valid certificates beyond pki.KINDS, so every lint has a passing vector.
EXTRA_VALID = {
    "delegate_ee with JWTClaimConstraints": ("delegate_ee", tweak(put(jwt()))),
    "delegate_ee with EnhancedJWTClaimConstraints": ("delegate_ee", tweak(put(ejwt("rcd")))),
    "test_root with its own AKI": (
        "test_root",
        tweak(put(x509.AuthorityKeyIdentifier.from_issuer_public_key(key("root").public_key()))),
    ),
}

__all__ = ["EXTRA_VALID", "Case", "root"]
