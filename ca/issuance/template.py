"""The certificate template: pure, deterministic, built from a profile and the computed scope.

Nothing here touches a key or a database. The TBS does not depend on the signing key because the
AKI is set explicitly from the issuer certificate (STYLE.md, after boulder ``issuance/cert.go``):
so the lint copy's TBS, signed by a throwaway key and linted, is the TBS the real key then signs.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from ca import oids
from ca.issuance.profiles import Profile
from ca.tnauth import TNAuthList

_KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


@dataclass(frozen=True)
class CertificateTemplate:
    """Everything that decides a certificate's TBS bytes."""

    profile: Profile
    subject: x509.Name
    public_key: ec.EllipticCurvePublicKey
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    issuer_certificate: x509.Certificate | None  # None: self-signed (the dev root)
    tn_auth_list: TNAuthList | None = None
    crl_url: str | None = None
    crl_issuer: x509.Name | None = None  # set for indirect CRLs (cRLIssuer in the CRLDP)


def subject_name(country: str, organization: str, common_name: str) -> x509.Name:
    """C, O, CN as the SHAKEN profile wants them (STANDARDS.md §4); values truncated to 64."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def key_usage(bits: frozenset[str]) -> x509.KeyUsage:
    values = {bit: bit in bits for bit in _KEY_USAGE_BITS}
    if not values["key_agreement"]:
        values["encipher_only"] = values["decipher_only"] = False
    return x509.KeyUsage(**values)


def build(template: CertificateTemplate) -> x509.CertificateBuilder:
    """The builder for ``template``: extensions in a fixed order, criticality per profile."""
    issuer_name = (
        template.issuer_certificate.subject if template.issuer_certificate else template.subject
    )
    head, tail = _fixed_extensions(
        template.profile, template.issuer_certificate, template.crl_url, template.crl_issuer
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(template.subject)
        .issuer_name(issuer_name)
        .public_key(template.public_key)
        .serial_number(template.serial)
        .not_valid_before(template.not_before)
        .not_valid_after(template.not_after)
    )
    for extension, critical in head:
        builder = builder.add_extension(extension, critical=critical)
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(template.public_key), critical=False
    )
    for extension, critical in tail:
        builder = builder.add_extension(extension, critical=critical)
    if template.tn_auth_list is not None:
        der = template.tn_auth_list.to_der()
        builder = builder.add_extension(
            x509.UnrecognizedExtension(oids.TN_AUTH_LIST, der), critical=False
        )
    return builder


_Extensions = tuple[tuple[x509.ExtensionType, bool], ...]


@functools.lru_cache(maxsize=64)
def _fixed_extensions(
    profile: Profile,
    issuer_certificate: x509.Certificate | None,
    crl_url: str | None,
    crl_issuer: x509.Name | None,
) -> tuple[_Extensions, _Extensions]:
    """The extensions every certificate of one profile and issuer shares, made once: those
    before the subject key identifier (basic constraints, key usage) and those after it
    (authority key identifier, policies, CRL distribution point)."""
    head: _Extensions = (
        (x509.BasicConstraints(ca=profile.ca, path_length=profile.path_len), True),
        (key_usage(profile.key_usage), True),
    )
    tail: list[tuple[x509.ExtensionType, bool]] = []
    if issuer_certificate is not None:
        issuer_ski = issuer_certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        tail.append(
            (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), False)
        )
    if profile.certificate_policies:
        policies = [
            x509.PolicyInformation(ObjectIdentifier(oid), None)
            for oid in profile.certificate_policies
        ]
        tail.append((x509.CertificatePolicies(policies), False))
    if crl_url:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=[x509.DirectoryName(crl_issuer)] if crl_issuer else None,
        )
        tail.append((x509.CRLDistributionPoints([point]), False))
    return head, tuple(tail)
