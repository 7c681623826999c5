"""The STI-AS side for delegate holders: base and SHAKEN PASSporTs and their Identity values.

RFC 8225 §9 / STANDARDS.md §6: compact JSON with sorted keys, ES256 with the raw R‖S signature,
the full form (payload present); RFC 8224 §4.1: ``<jws>;info=<x5u>;alg=ES256;ppt="shaken"`` with
the ppt quoted, as deployed systems send it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from ca.clock import Clock, SystemClock
from ca.errors import malformed
from ca.tnauth import normalize_tn
from ca.verifier.errors import FetchError
from ca.verifier.fetch import FetchPolicy, check_url
from ca.verifier.jws import b64url_encode, compact_json, sign_es256
from ca.verifier.passport import ATTEST


def passport_claims(
    orig: str,
    dest: Iterable[str],
    *,
    iat: int,
    attest: str | None = None,
    origid: str | None = None,
) -> dict[str, Any]:
    """The claims of a base PASSporT (RFC 8225 §5.2), plus attest/origid for SHAKEN (RFC 8588)."""
    dest_tns = [normalize_tn(tn, "dest") for tn in ([dest] if isinstance(dest, str) else dest)]
    if not dest_tns:
        raise malformed("dest", "at least one destination number")
    claims: dict[str, Any] = {
        "dest": {"tn": dest_tns},
        "iat": int(iat),
        "orig": {"tn": normalize_tn(orig, "orig")},
    }
    if attest is not None:
        if attest not in ATTEST:
            raise malformed("attest", f"{attest!r} is not A, B or C")
        claims["attest"] = attest
        claims["origid"] = origid or str(uuid.uuid4())
    return claims


def sign_passport(
    key: ec.EllipticCurvePrivateKey, x5u: str, claims: dict[str, Any], *, ppt: str | None
) -> str:
    """A full-form PASSporT (JWS compact serialization) of ``claims`` (RFC 8225 §7)."""
    header: dict[str, Any] = {"alg": "ES256", "typ": "passport", "x5u": x5u}
    if ppt is not None:
        header["ppt"] = ppt
    signing_input = f"{b64url_encode(compact_json(header))}.{b64url_encode(compact_json(claims))}"
    signature = sign_es256(key, signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def identity_value(jws: str, x5u: str, ppt: str | None) -> str:
    """The Identity header value for a PASSporT (RFC 8224 §4.1), ppt quoted."""
    value = f"{jws};info=<{x5u}>;alg=ES256"
    return f'{value};ppt="{ppt}"' if ppt else value


def sign_identity(
    key: ec.EllipticCurvePrivateKey,
    x5u: str,
    orig: str,
    dest: str | Iterable[str],
    *,
    ppt: str | None = "shaken",
    attest: str | None = "A",
    origid: str | None = None,
    iat: int | None = None,
    clock: Clock | None = None,
) -> str:
    """Sign a call: a SHAKEN (``ppt="shaken"``) or base (``ppt=None``) PASSporT, as an Identity value."""
    if ppt not in (None, "shaken"):
        raise malformed("ppt", f"{ppt!r}: this helper signs shaken or base PASSporTs")
    if ppt is None:
        attest = None
    elif attest is None:
        raise malformed("attest", "a SHAKEN PASSporT needs attest A, B or C")
    if not x5u.startswith(("https://", "http://")):
        raise malformed("x5u", f"{x5u!r} is not an http(s) URL")
    try:
        # The repository rules minus the port and scheme rule, which is the verifier's to apply.
        host = urlsplit(x5u).hostname or ""
        check_url(x5u, FetchPolicy(allow_hosts=frozenset({(host, None)})))
    except FetchError as error:
        raise malformed("x5u", error.detail) from None
    when = iat if iat is not None else int((clock or SystemClock()).now().timestamp())
    claims = passport_claims(orig, dest, iat=when, attest=attest, origid=origid)
    return identity_value(sign_passport(key, x5u, claims, ppt=ppt), x5u, ppt)


def load_signing_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """A delegate holder's P-256 private key from an unencrypted PEM file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise malformed("key", f"cannot read {path}: {error.strerror}") from None
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise malformed("key", f"{path} is not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise malformed("key", f"{path} does not hold a P-256 key (ES256)")
    return key
