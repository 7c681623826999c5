"""Certificate requests from outside: the CSR proves key possession; nothing else in it is trusted.

RFC 8226 §9 / ARCHITECTURE.md flow 3: the TNAuthList is computed by Delegato from the registry,
never copied from the CSR, so every extension the CSR asks for is ignored.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca.errors import CAError, ErrorKind

MAX_CSR_BYTES = 16 * 1024


def _bad_csr(detail: str) -> CAError:
    return CAError(ErrorKind.BAD_CSR, detail, field="csr")


def parse_csr(data: bytes | str) -> ec.EllipticCurvePublicKey:
    """Parse a PEM or DER CSR, verify its self-signature, and return its P-256 public key."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if not raw.strip():
        raise _bad_csr("is empty")
    if len(raw) > MAX_CSR_BYTES:
        raise _bad_csr(f"is larger than {MAX_CSR_BYTES} bytes")
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            csr = x509.load_pem_x509_csr(raw)
        else:
            csr = x509.load_der_x509_csr(raw)
    except ValueError as exc:
        raise _bad_csr(f"is not a PKCS#10 request in PEM or DER: {_first_line(exc)}") from None
    try:
        valid = csr.is_signature_valid
    except Exception as exc:  # unsupported algorithms surface as various errors
        raise _bad_csr(f"signature cannot be checked: {_first_line(exc)}") from None
    if not valid:
        raise _bad_csr(
            "signature does not verify: the request was altered or not signed by its key"
        )
    return require_p256(csr.public_key(), "csr")


def parse_public_key(data: bytes | str) -> ec.EllipticCurvePublicKey:
    """Parse a PEM or DER SubjectPublicKeyInfo that must be P-256."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(raw)
        else:
            key = serialization.load_der_public_key(raw)
    except (ValueError, TypeError) as exc:
        raise CAError(
            ErrorKind.BAD_PUBLIC_KEY,
            f"is not a SubjectPublicKeyInfo: {_first_line(exc)}",
            field="public_key",
        ) from None
    return require_p256(key, "public_key")


def require_p256(key: object, field: str) -> ec.EllipticCurvePublicKey:
    """STANDARDS.md §4: delegate subject keys are P-256 (ES256 PASSporTs need them)."""
    if not isinstance(key, ec.EllipticCurvePublicKey):
        kind = type(key).__name__.replace("_", "")
        raise CAError(ErrorKind.BAD_PUBLIC_KEY, f"key must be EC P-256, got {kind}", field=field)
    if not isinstance(key.curve, ec.SECP256R1):
        raise CAError(
            ErrorKind.BAD_PUBLIC_KEY, f"key must be on P-256, got {key.curve.name}", field=field
        )
    return key


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
