"""Compact JWS with ES256 (RFC 7515, RFC 7518 §3.4): the raw R‖S signature, never DER.

Used for Delegato's own signed documents (the TN status); PASSporTs live in ca/verifier.
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


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, field: str = "jws") -> bytes:
    if not isinstance(text, str) or not text.isascii() or "=" in text:
        raise malformed(field, "is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise malformed(field, "is not unpadded base64url") from None


def compact_json(value: object) -> bytes:
    """Sorted keys, no whitespace (the form signers emit; verifiers use the bytes received)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_es256(
    header: dict[str, Any], payload: dict[str, Any], key: ec.EllipticCurvePrivateKey
) -> str:
    """``header.payload.signature`` with ``alg`` ES256 over P-256 / SHA-256."""
    signing_input = (
        f"{b64url(compact_json({**header, 'alg': 'ES256'}))}.{b64url(compact_json(payload))}"
    )
    der = key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def verify_es256(
    token: str, public_key: ec.EllipticCurvePublicKey
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check an ES256 compact JWS; return (header, payload) or raise a MALFORMED error."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise malformed("jws", "a compact JWS has three dot-separated parts")
    header = _json_part(parts[0], "jws.header")
    payload = _json_part(parts[1], "jws.payload")
    if header.get("alg") != "ES256":
        raise malformed("jws.header.alg", f"{header.get('alg')!r} is not ES256")
    raw = b64url_decode(parts[2], "jws.signature")
    if len(raw) != 64:
        raise malformed("jws.signature", "an ES256 signature is 64 bytes (R‖S)")
    signature = encode_dss_signature(
        int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    )
    try:
        public_key.verify(
            signature, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        raise malformed("jws.signature", "does not verify under the signer's key") from None
    return header, payload


def _json_part(text: str, field: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(text, field))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise malformed(field, "is not JSON") from None
    if not isinstance(value, dict):
        raise malformed(field, "is not a JSON object")
    return value
