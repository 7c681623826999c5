"""JWS building blocks for ES256: strict base64url and raw R‖S signatures (RFC 7515, RFC 7518 §3.4).

PASSporTs carry the signature as the 64-byte concatenation R‖S, never DER (RFC 8225 §6,
STANDARDS.md §6); cryptography speaks DER, so the two helpers here convert at the boundary.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ca.errors import malformed

ES256 = ec.ECDSA(hashes.SHA256())
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_PADDING = (b"", b"", b"==", b"=")


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str = "base64url") -> bytes:
    """Strict base64url without padding (RFC 7515 §2); raises MALFORMED naming ``what``."""
    # binascii in strict mode refuses anything outside the standard alphabet, so the URL-safe
    # alphabet is mapped onto it after the standard-only characters are ruled out.
    try:
        if "+" in text or "/" in text or "=" in text or len(text) % 4 == 1:
            raise ValueError
        data = text.encode("ascii").translate(_TO_STANDARD) + _PADDING[len(text) % 4]
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError, TypeError, AttributeError):
        raise malformed(what, "not unpadded base64url (RFC 7515 §2)") from None


def compact_json(value: Any) -> bytes:
    """Compact JSON with sorted keys, as PASSporT signers emit it (RFC 8225 §9)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def raw_signature(der: bytes, size: int = 32) -> bytes:
    """DER ECDSA-Sig-Value -> R‖S, each left-padded to ``size`` bytes (RFC 7518 §3.4)."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _der_integer(magnitude: bytes) -> bytes:
    value = magnitude.lstrip(b"\0")
    if not value or value[0] & 0x80:
        value = b"\0" + value  # DER INTEGERs are signed: keep them positive
    return b"\x02" + bytes((len(value),)) + value


def der_signature(raw: bytes) -> bytes:
    """R‖S -> DER ECDSA-Sig-Value (X9.62), encoded by hand: this runs on every verification."""
    half = len(raw) // 2
    if half > 60:  # beyond short-form DER lengths; PASSporTs never get here
        return encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )
    body = _der_integer(raw[:half]) + _der_integer(raw[half:])
    return b"\x30" + bytes((len(body),)) + body


def sign_es256(key: ec.EllipticCurvePrivateKey, signing_input: bytes) -> bytes:
    """ES256 over ``signing_input``: the raw 64-byte signature (RFC 7518 §3.4)."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise malformed("key", f"ES256 needs a P-256 key, not {key.curve.name}")
    return raw_signature(key.sign(signing_input, ES256))


def verify_es256(key: ec.EllipticCurvePublicKey, signature: bytes, signing_input: bytes) -> bool:
    """True when ``signature`` (raw R‖S, 64 bytes) is an ES256 signature of ``signing_input``."""
    if len(signature) != 64 or not isinstance(key.curve, ec.SECP256R1):
        return False
    try:
        key.verify(der_signature(signature), signing_input, ES256)
    except InvalidSignature:
        return False
    return True
