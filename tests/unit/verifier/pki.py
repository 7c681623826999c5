"""A test PKI for the verifier: root -> (intermediate ->) SCA -> delegate, each part changeable.

``Hierarchy`` builds a valid path; tests pass ``tweak`` callables that change one certificate's
spec (validity, key, extensions), then serve the chain and CRLs through a :class:`StaticFetcher`.
``resign`` edits an encoded TBS with asn1crypto and signs it again, for vectors cryptography's
builder refuses (duplicate extensions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from ca.clock import FixedClock
from ca.tnauth import TNAuthList
from ca.verifier import VerificationContext, sign_identity
from ca.verifier.errors import FetchError
from tests.conftest import NOW
from tests.unit.lint.pki import (
    CP_V1_4,
    CertSpec,
    build,
    crl_points,
    key,
    key_usage,
    name,
    policies,
    tn_auth_list_ext,
)

X5U = "https://certs.example.net/delegate.pem"
ROOT_CRL = "https://certs.example.net/crl/root.crl"
INT_CRL = "https://certs.example.net/crl/intermediate.crl"
SCA_CRL = "https://certs.example.net/crl/sca.crl"
SCA_SCOPE = TNAuthList.from_user(spcs=["1234"], ranges=["12025550000:1000"])
LEAF_SCOPE = TNAuthList.from_user(ranges=["12025550100:10"])
ORIG, DEST = "12025550101", "12025550199"
Tweak = Callable[[CertSpec], object]


class StaticFetcher:
    """URL -> bytes, a callable giving bytes, or an exception to raise; counts the fetches."""

    def __init__(self, resources: dict[str, Any] | None = None) -> None:
        self.resources: dict[str, Any] = dict(resources or {})
        self.calls: list[str] = []

    def fetch(self, url: str, kind: str) -> bytes:
        self.calls.append(url)
        value = self.resources.get(url)
        if value is None:
            raise FetchError("http-status", f"{url} answered 404, not 200", transient=False)
        if callable(value):
            value = value()
        if isinstance(value, Exception):
            raise value
        return bytes(value)


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


def _ski(cert: x509.Certificate) -> x509.SubjectKeyIdentifier:
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value


def spec(
    subject: x509.Name,
    subject_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    lifetime: dt.timedelta,
    serial: int,
) -> CertSpec:
    result = CertSpec(
        subject=subject,
        issuer_name=issuer.subject if issuer else subject,
        public_key=subject_key.public_key(),
        signing_key=issuer_key,
        serial=serial,
        not_before=NOW - dt.timedelta(hours=1),
        not_after=NOW - dt.timedelta(hours=1) + lifetime,
    )
    result.put(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()))
    if issuer is not None:
        result.put(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(_ski(issuer)))
    return result


def ca_spec(
    subject: x509.Name, subject_key: Any, issuer: Any, issuer_key: Any, serial: int
) -> CertSpec:
    result = spec(subject, subject_key, issuer, issuer_key, dt.timedelta(days=730), serial)
    result.put(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    result.put(key_usage("key_cert_sign", "crl_sign"), critical=True)
    if issuer is not None:
        result.put(policies(CP_V1_4.dotted_string))
    return result


@dataclass
class Hierarchy:
    """root -> [intermediate ->] SCA -> leaf, built lazily with per-certificate tweaks."""

    tweaks: dict[str, Tweak] = field(default_factory=dict)
    intermediate: bool = False
    leaf_curve: ec.EllipticCurve | None = None
    sca_curve: ec.EllipticCurve | None = None
    root_name: str = "v-root"

    def __post_init__(self) -> None:
        self.root_key = key(self.root_name)
        self.int_key, self.sca_key = key("v-int"), key("v-sca", self.sca_curve)
        self.leaf_key = key("v-leaf", self.leaf_curve)
        self.root = self._build(
            "root", ca_spec(name("Verifier Test ROOT"), self.root_key, None, self.root_key, 1)
        )
        parent, parent_key, parent_crl = self.root, self.root_key, ROOT_CRL
        if self.intermediate:
            int_spec = ca_spec(
                name("Verifier Test Intermediate"), self.int_key, self.root, self.root_key, 2
            )
            int_spec.put(crl_points(ROOT_CRL))
            self.int = self._build("int", int_spec)
            parent, parent_key, parent_crl = self.int, self.int_key, INT_CRL
        sca = ca_spec(name("Verifier Test SHAKEN SCA"), self.sca_key, parent, parent_key, 3)
        sca.put(crl_points(parent_crl))
        sca.put(tn_auth_list_ext(SCA_SCOPE.to_der()))
        self.sca = self._build("sca", sca)
        leaf = spec(
            name("SHAKEN Example", org="Example"),
            self.leaf_key,
            self.sca,
            self.sca_key,
            dt.timedelta(hours=24),
            4,
        )
        leaf.put(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        leaf.put(key_usage("digital_signature"), critical=True)
        leaf.put(policies(CP_V1_4.dotted_string))
        leaf.put(crl_points(SCA_CRL))
        leaf.put(tn_auth_list_ext(LEAF_SCOPE.to_der()))
        self.leaf = self._build("leaf", leaf)

    def _build(self, part: str, part_spec: CertSpec) -> x509.Certificate:
        tweak = self.tweaks.get(part)
        if tweak is not None:
            tweak(part_spec)
        return build(part_spec)

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.leaf, self.sca, *([self.int] if self.intermediate else [])]

    def crl(
        self,
        issuer: str,
        revoked: Iterable[int] = (),
        *,
        this_update: dt.datetime | None = None,
        next_update: dt.datetime | None = None,
    ) -> bytes:
        cert, signing_key = {
            "root": (self.root, self.root_key),
            "int": (getattr(self, "int", None), self.int_key),
            "sca": (self.sca, self.sca_key),
        }[issuer]
        assert cert is not None
        return make_crl(cert.subject, signing_key, revoked, this_update, next_update)

    def resources(self, **overrides: Any) -> dict[str, Any]:
        found = {
            X5U: pem(*self.chain),
            ROOT_CRL: self.crl("root"),
            SCA_CRL: self.crl("sca"),
            **({INT_CRL: self.crl("int")} if self.intermediate else {}),
        }
        found.update(overrides)
        return found

    def context(
        self, resources: dict[str, Any] | None = None, **options: Any
    ) -> VerificationContext:
        fetcher = StaticFetcher(self.resources() if resources is None else resources)
        options.setdefault("clock", FixedClock(NOW))
        return VerificationContext.of([self.root], fetcher, **options)

    def identity(self, **options: Any) -> str:
        options.setdefault("iat", int(NOW.timestamp()))
        signing_key = options.pop("key", self.leaf_key)
        return sign_identity(
            signing_key,
            options.pop("x5u", X5U),
            options.pop("orig", ORIG),
            options.pop("dest", DEST),
            **options,
        )


def make_crl(
    issuer_name: x509.Name,
    signing_key: ec.EllipticCurvePrivateKey,
    revoked: Iterable[int | tuple[int, x509.Name]] = (),
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    idp: x509.IssuingDistributionPoint | None = None,
) -> bytes:
    """A CRL; a ``(serial, name)`` entry carries certificateIssuer (indirect CRLs)."""
    this_update = this_update or NOW - dt.timedelta(hours=1)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_name)
        .last_update(this_update)
        .next_update(next_update or this_update + dt.timedelta(hours=12))
        .add_extension(x509.CRLNumber(7), critical=False)
    )
    if idp is not None:
        builder = builder.add_extension(idp, critical=True)
    for item in revoked:
        serial, issuer = item if isinstance(item, tuple) else (item, None)
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(NOW - dt.timedelta(minutes=30))
        )
        if issuer is not None:
            entry = entry.add_extension(
                x509.CertificateIssuer([x509.DirectoryName(issuer)]), critical=True
            )
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(signing_key, hashes.SHA256()).public_bytes(Encoding.DER)


def resign(
    cert: x509.Certificate,
    change: Callable[[asn1_x509.TbsCertificate], None],
    signing_key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    """Edit the encoded TBS and sign it again, for vectors cryptography cannot build."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))
    tbs = parsed["tbs_certificate"]
    change(tbs)
    tbs_der = tbs.dump(force=True)
    signature = signing_key.sign(tbs_der, ec.ECDSA(hashes.SHA256()))
    rebuilt = asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": parsed["signature_algorithm"],
            "signature_value": core.OctetBitString(signature),
        }
    )
    return x509.load_der_x509_certificate(rebuilt.dump())
