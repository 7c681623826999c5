"""Finding the TNAuthList extension in a certificate (RFC 8226 §9, RFC 5280 §4.2)."""

from __future__ import annotations

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ca.errors import malformed
from ca.oids import TN_AUTH_LIST
from ca.tnauth.codec import decode_strict
from ca.tnauth.lenient import decode_lenient
from ca.tnauth.tnauthlist import TNAuthList


def tn_auth_list_der(cert: x509.Certificate | bytes) -> bytes | None:
    """The extnValue octets of the certificate's one TNAuthList extension, or None when absent.

    ``cert`` may also be the certificate's DER, for certificates cryptography refuses to load.
    """
    if isinstance(cert, x509.Certificate):
        values = _extension_values(cert)
    elif isinstance(cert, bytes | bytearray | memoryview):
        values = _extension_values_from_der(bytes(cert))
    else:
        raise malformed("certificate", f"expected a certificate, got {type(cert).__name__}")
    if not values:
        return None
    if len(values) > 1:
        # RFC 5280 §4.2: a certificate must not include more than one instance of an extension.
        raise malformed("TNAuthList", f"the certificate has {len(values)} TNAuthList extensions")
    return values[0]


def tn_auth_list_from_certificate(
    cert: x509.Certificate | bytes, *, lenient: bool = False, warnings: list[str] | None = None
) -> TNAuthList | None:
    """The certificate's (or DER certificate's) TNAuthList, or None when it has none (RFC 8226 §9).

    ``lenient`` recovers known malformations (a verifier option); their warnings are appended to
    ``warnings`` when given. A lenient read of a list that holds no entries also returns None.
    """
    der = tn_auth_list_der(cert)
    if der is None:
        return None
    if not lenient:
        return decode_strict(der)
    result = decode_lenient(der)
    if warnings is not None:
        warnings.extend(result.warnings)
    return result.tn_auth_list


def _extension_values(cert: x509.Certificate) -> list[bytes]:
    try:
        extension = cert.extensions.get_extension_for_oid(TN_AUTH_LIST)
    except x509.ExtensionNotFound:
        return []
    except Exception:
        # cryptography refuses the whole extensions list when any one extension is malformed or
        # duplicated; the TNAuthList may still be readable, so fall back to asn1crypto.
        return _extension_values_from_der(cert.public_bytes(Encoding.DER))
    if isinstance(extension.value, x509.UnrecognizedExtension):
        return [extension.value.value]
    # A future cryptography that parses TNAuthList itself: read the raw octets instead.
    return _extension_values_from_der(cert.public_bytes(Encoding.DER))


def _extension_values_from_der(der: bytes) -> list[bytes]:
    """All TNAuthList extnValue octets, read with asn1crypto (lenient about other extensions)."""
    try:
        extensions = asn1_x509.Certificate.load(der)["tbs_certificate"]["extensions"]
        return [
            bytes(extension["extn_value"].contents)
            for extension in extensions
            if extension["extn_id"].dotted == TN_AUTH_LIST.dotted_string
        ]
    except Exception as error:  # asn1crypto raises assorted types on damaged DER
        detail = f"cannot read the certificate's extensions ({type(error).__name__})"
        raise malformed("certificate", detail) from None
