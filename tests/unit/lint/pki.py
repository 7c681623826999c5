"""A small test PKI for the lint tests: one valid certificate per profile, and ways to break one thing.

``spec(kind)`` returns the mutable description of a valid certificate of that kind; change one field
or extension, then ``build(spec)``. ``rewrite(cert, change)`` edits the encoded TBS with asn1crypto
for vectors cryptography refuses to build (v1, negative or oversized serials, duplicate extensions);
the signature no longer verifies, which no certificate lint checks.
"""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ca import oids
from ca.tnauth import TelephoneNumber, TNAuthList, TNRange

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
CP_V1_4 = oids.SHAKEN_CP_V1_4
SCA_CRL = "https://delegato.example/crl/sca.crl"
ROOT_CRL = "http://delegato.example/crl/root.crl"
STI_PA_CRL = "https://authenticate-api.example/v1/crl"
STI_PA = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "STI-PA"),
        x509.NameAttribute(NameOID.COMMON_NAME, "STI-PA CRL"),
    ]
)
SCA_TN_AUTH_LIST = TNAuthList(["1234", TNRange("12125550000", 10000)])
DELEGATE_TN_AUTH_LIST = TNAuthList([TNRange("12125551000", 100), TelephoneNumber("12125551824")])


@functools.cache
def key(name: str, curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    """A deterministic EC key per name, so vectors are stable from run to run."""
    secret = int.from_bytes(name.encode(), "big") % (2**200) + 1
    return ec.derive_private_key(secret, curve or ec.SECP256R1())


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def name(cn: str, org: str = "Delegato Test", country: str = "US") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def tn_auth_list_ext(der: bytes) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(oids.TN_AUTH_LIST, der)


def crl_points(url: str, crl_issuer: x509.Name | None = None) -> x509.CRLDistributionPoints:
    issuer = [x509.DirectoryName(crl_issuer)] if crl_issuer else None
    point = x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, issuer)
    return x509.CRLDistributionPoints([point])


def key_usage(*bits: str) -> x509.KeyUsage:
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ]
    return x509.KeyUsage(**{n: n in bits for n in names})


def policies(*oid_strings: str) -> x509.CertificatePolicies:
    return x509.CertificatePolicies(
        [x509.PolicyInformation(x509.ObjectIdentifier(o), None) for o in oid_strings]
    )


@dataclass
class CertSpec:
    """Everything that decides one test certificate; tests change one thing, then build."""

    subject: x509.Name
    issuer_name: x509.Name
    public_key: Any
    signing_key: Any
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    extensions: dict[str, tuple[x509.ExtensionType, bool]] = field(default_factory=dict)
    hash_algorithm: Any = field(default_factory=hashes.SHA256)

    def put(self, value: x509.ExtensionType, critical: bool = False) -> CertSpec:
        self.extensions[value.oid.dotted_string] = (value, critical)
        return self

    def drop(self, oid: x509.ObjectIdentifier) -> CertSpec:
        del self.extensions[oid.dotted_string]
        return self

    def critical(self, oid: x509.ObjectIdentifier, flag: bool = True) -> CertSpec:
        value, _ = self.extensions[oid.dotted_string]
        self.extensions[oid.dotted_string] = (value, flag)
        return self


def build(spec: CertSpec) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(spec.subject)
        .issuer_name(spec.issuer_name)
        .public_key(spec.public_key)
        .serial_number(spec.serial)
        .not_valid_before(spec.not_before)
        .not_valid_after(spec.not_after)
    )
    for value, critical in spec.extensions.values():
        builder = builder.add_extension(value, critical=critical)
    return builder.sign(spec.signing_key, spec.hash_algorithm)


def rewrite(
    cert: x509.Certificate, change: Callable[[asn1_x509.TbsCertificate], None]
) -> x509.Certificate:
    """Edit the encoded TBS; the old signature stays (certificate lints never verify it)."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))
    change(parsed["tbs_certificate"])
    return x509.load_der_x509_certificate(parsed.dump(force=True))


def _base(
    subject: x509.Name,
    subject_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    lifetime: dt.timedelta,
    backdate: dt.timedelta = dt.timedelta(minutes=5),
) -> CertSpec:
    spec = CertSpec(
        subject=subject,
        issuer_name=issuer.subject if issuer else subject,
        public_key=subject_key.public_key(),
        signing_key=issuer_key,
        serial=0x5EED_0000_0000_0000_0000_0000 + zlib.crc32(subject.rfc4514_string().encode()),
        not_before=NOW - backdate,
        not_after=NOW - backdate + lifetime,
    )
    spec.put(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()))
    if issuer is not None:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        spec.put(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski))
    return spec


def root_spec() -> CertSpec:
    spec = _base(
        name("Delegato SHAKEN ROOT"), key("root"), None, key("root"), dt.timedelta(days=3650)
    )
    spec.put(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    spec.put(key_usage("key_cert_sign", "crl_sign"), critical=True)
    return spec


def _ca_extensions(spec: CertSpec, path_len: int | None) -> CertSpec:
    spec.put(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
    spec.put(key_usage("key_cert_sign"), critical=True)
    spec.put(policies(CP_V1_4.dotted_string))
    return spec


def sca_spec() -> CertSpec:
    spec = _base(
        name("Operator SHAKEN SCA"), key("sca"), root(), key("root"), dt.timedelta(days=730)
    )
    _ca_extensions(spec, 0)
    spec.put(crl_points(ROOT_CRL))
    spec.put(tn_auth_list_ext(SCA_TN_AUTH_LIST.to_der()))
    return spec


def _end_entity(spec: CertSpec, usage: str) -> CertSpec:
    spec.put(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    spec.put(key_usage(usage), critical=True)
    spec.put(policies(CP_V1_4.dotted_string))
    return spec


def delegate_spec() -> CertSpec:
    subject = name("Acme SHAKEN delegate", org="Acme Corp")
    spec = _base(subject, key("delegate"), sca(), key("sca"), dt.timedelta(hours=24))
    _end_entity(spec, "digital_signature")
    spec.put(crl_points(SCA_CRL))
    spec.put(tn_auth_list_ext(DELEGATE_TN_AUTH_LIST.to_der()))
    return spec


def crl_signer_spec() -> CertSpec:
    subject = name("Operator CRL Signer")
    spec = _base(subject, key("crl"), sca(), key("sca"), dt.timedelta(days=300))
    return _end_entity(spec, "crl_sign")


def shaken_ca_spec() -> CertSpec:
    subject = name("Example SHAKEN Issuing CA", org="Example STI-CA")
    spec = _base(subject, key("shaken-ca"), root(), key("root"), dt.timedelta(days=1825))
    _ca_extensions(spec, 0)
    spec.put(crl_points(STI_PA_CRL, STI_PA))
    return spec


def shaken_sp_spec() -> CertSpec:
    subject = name("SHAKEN 1234", org="Example Telephone")
    spec = _base(subject, key("sp"), shaken_ca(), key("shaken-ca"), dt.timedelta(days=365))
    _end_entity(spec, "digital_signature")
    spec.put(crl_points(STI_PA_CRL, STI_PA))
    spec.put(tn_auth_list_ext(TNAuthList(["1234"]).to_der()))
    return spec


@functools.cache
def root() -> x509.Certificate:
    return build(root_spec())


@functools.cache
def sca() -> x509.Certificate:
    return build(sca_spec())


@functools.cache
def shaken_ca() -> x509.Certificate:
    return build(shaken_ca_spec())


@dataclass(frozen=True)
class Kind:
    """A kind of test certificate: its profile, how to describe it, and who issued it."""

    profile: str
    make_spec: Callable[[], CertSpec]
    issuer: Callable[[], x509.Certificate | None]


KINDS = {
    "test_root": Kind("test_root", root_spec, lambda: None),
    "shaken_root": Kind("shaken_root", root_spec, lambda: None),
    "sca": Kind("sca", sca_spec, root),
    "delegate_ee": Kind("delegate_ee", delegate_spec, sca),
    "crl_signer": Kind("crl_signer", crl_signer_spec, sca),
    "shaken_ca": Kind("shaken_ca", shaken_ca_spec, root),
    "shaken_sp": Kind("shaken_sp", shaken_sp_spec, shaken_ca),
}
