"""Pulling the TNAuthList extension out of certificates (RFC 8226 §9, RFC 5280 §4.2)."""

from __future__ import annotations

import datetime

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ca.errors import CAError
from ca.oids import TN_AUTH_LIST
from ca.tnauth import TNAuthList, TNRange, tn_auth_list_der, tn_auth_list_from_certificate

SPC_1234 = bytes.fromhex("3008a006160431323334")
UNTAGGED_SPC = bytes.fromhex("300613043735354a")
_KEY = ec.generate_private_key(ec.SECP256R1())


def make_certificate(*tn_auth_list_values: bytes) -> x509.Certificate:
    """A throwaway self-signed P-256 certificate carrying the given TNAuthList extnValues."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SHAKEN test")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    for value in tn_auth_list_values[:1]:
        builder = builder.add_extension(x509.UnrecognizedExtension(TN_AUTH_LIST, value), False)
    certificate = builder.sign(_KEY, hashes.SHA256())
    if len(tn_auth_list_values) < 2:
        return certificate
    # cryptography refuses to build duplicate extensions, so add the others to the DER by hand
    # (the signature no longer matches; nothing here verifies it).
    return x509.load_der_x509_certificate(
        _with_extra_extensions(
            certificate, [(TN_AUTH_LIST.dotted_string, v) for v in tn_auth_list_values[1:]]
        )
    )


def _extension_der(oid: str, value: bytes) -> bytes:
    """SEQUENCE { OID, OCTET STRING value } built by hand, so asn1crypto never parses the value."""
    oid_der = asn1_x509.ExtensionId(oid).dump()
    body = oid_der + bytes([0x04, len(value)]) + value
    return bytes([0x30, len(body)]) + body


def _with_extra_extensions(certificate: x509.Certificate, extra: list[tuple[str, bytes]]) -> bytes:
    parsed = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
    tbs = parsed["tbs_certificate"]
    extensions = list(tbs["extensions"])
    extensions += [asn1_x509.Extension.load(_extension_der(oid, value)) for oid, value in extra]
    tbs["extensions"] = asn1_x509.Extensions(extensions)
    rebuilt = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": parsed["signature_algorithm"],
            "signature_value": parsed["signature_value"],
        }
    )
    return bytes(rebuilt.dump())


def test_reads_the_extension() -> None:
    certificate = make_certificate(SPC_1234)
    assert tn_auth_list_der(certificate) == SPC_1234
    assert tn_auth_list_from_certificate(certificate) == TNAuthList(["1234"])


def test_absent_extension_is_none() -> None:
    certificate = make_certificate()
    assert tn_auth_list_der(certificate) is None
    assert tn_auth_list_from_certificate(certificate) is None
    assert tn_auth_list_from_certificate(certificate, lenient=True) is None


def test_accepts_der_bytes() -> None:
    der = make_certificate(SPC_1234).public_bytes(Encoding.DER)
    assert tn_auth_list_from_certificate(der) == TNAuthList(["1234"])
    assert tn_auth_list_from_certificate(make_certificate().public_bytes(Encoding.DER)) is None


def test_strict_rejects_and_lenient_recovers_with_warnings() -> None:
    certificate = make_certificate(UNTAGGED_SPC)
    with pytest.raises(CAError, match="untagged PrintableString") as caught:
        tn_auth_list_from_certificate(certificate)
    assert caught.value.field == "TNAuthList"
    warnings: list[str] = []
    recovered = tn_auth_list_from_certificate(certificate, lenient=True, warnings=warnings)
    assert recovered == TNAuthList(["755J"])
    assert any("read as an SPC" in warning for warning in warnings)


def test_duplicate_extensions_are_an_error() -> None:
    certificate = make_certificate(SPC_1234, SPC_1234)
    with pytest.raises(x509.DuplicateExtension):
        certificate.extensions  # noqa: B018 - the fallback below exists because of this
    with pytest.raises(CAError, match="the certificate has 2 TNAuthList extensions"):
        tn_auth_list_from_certificate(certificate)
    with pytest.raises(CAError, match="2 TNAuthList extensions"):
        tn_auth_list_from_certificate(certificate, lenient=True)


def test_found_when_cryptography_cannot_parse_another_extension() -> None:
    # A keyUsage whose value is a NULL: cryptography then refuses .extensions entirely.
    good = make_certificate()
    der = _with_extra_extensions(
        good,
        [
            ("2.5.29.15", b"\x05\x00"),
            (
                TN_AUTH_LIST.dotted_string,
                bytes.fromhex("3015a1133011160b3132313235353531303030020203e8"),
            ),
        ],
    )
    certificate = x509.load_der_x509_certificate(der)
    with pytest.raises(ValueError):
        certificate.extensions  # noqa: B018
    assert tn_auth_list_from_certificate(certificate) == TNAuthList([TNRange("12125551000", 1000)])


@pytest.mark.parametrize("value", [b"\x30\x03\x02\x01", b"", "not a certificate"])
def test_unreadable_certificates_raise_caerror(value: object) -> None:
    with pytest.raises(CAError) as caught:
        tn_auth_list_from_certificate(value)  # type: ignore[arg-type]
    assert caught.value.field == "certificate"
