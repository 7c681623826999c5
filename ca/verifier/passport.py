"""PASSporT parsing and checks: header, claims, SIP request (RFC 8225, RFC 8588, RFC 8224 §6.2).

Verifiers verify over the received bytes and never re-serialize (STANDARDS.md §6). The protected
header of a signer repeats from call to call, so it is decoded and checked once and remembered.
"""

from __future__ import annotations

import email.utils
import json
import re
from dataclasses import dataclass
from typing import Any

from ca.errors import CAError
from ca.verifier.errors import IdentityHeaderError, PassportError, StaleError
from ca.verifier.jws import b64url_decode

#: RFC 8225 §8.1, RFC 8588, RFC 9027, RFC 8946: the PASSporT types this verifier understands.
PPTS = frozenset({"shaken", "rcd", "div"})
ATTEST = frozenset({"A", "B", "C"})
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TN = re.compile(r"[0-9*#]{1,15}")
_VISUAL = str.maketrans("", "", "-.()+ ")
_HEADERS: dict[str, Header] = {}
_HEADER_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Header:
    """A checked protected header (RFC 8225 §5.1)."""

    x5u: str
    ppt: str | None
    fields: dict[str, Any]


@dataclass(slots=True)
class PASSporT:
    """A parsed full-form PASSporT: header, claims, the signed bytes as received, raw signature."""

    header: Header
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a member name appears twice (RFC 7515 §5.2)")
    return result


_STRICT = json.JSONDecoder(object_pairs_hook=_no_duplicates)
# RFC 7515 §5.2 allows either refusing duplicate member names or keeping the lexically last one,
# which the plain decoder does; the payload is decoded on every call, so it takes the faster one.
_PLAIN = json.JSONDecoder()


def _json_object(segment: str, what: str, decoder: json.JSONDecoder = _PLAIN) -> dict[str, Any]:
    try:
        text = b64url_decode(segment, what).decode("utf-8")
        # raw_decode skips decode()'s whitespace scans; signers emit compact JSON (RFC 8225 §9),
        # and anything else (surrounding whitespace, trailing data) takes the full decode.
        try:
            value, end = decoder.raw_decode(text)
        except ValueError:
            end = -1
        if end != len(text):
            value = decoder.decode(text)
    except CAError as error:
        raise PassportError("passport-malformed", f"{what}: {error.detail}") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise PassportError("passport-malformed", f"{what} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise PassportError("passport-malformed", f"{what} is not a JSON object")
    return value


def parse_header(segment: str) -> Header:
    """Decode and check the protected header; ES256 and typ passport only (RFC 8225 §5.1)."""
    cached = _HEADERS.get(segment)
    if cached is not None:
        return cached
    fields = _json_object(segment, "the PASSporT header", _STRICT)
    if fields.get("alg") != "ES256":
        raise PassportError(
            "unsupported-alg", f"alg {fields.get('alg')!r} is not ES256 (RFC 8588)", status=437
        )
    if fields.get("typ") != "passport":
        raise PassportError(
            "unsupported-typ", f"typ {fields.get('typ')!r} is not passport", status=437
        )
    if "crit" in fields:
        raise PassportError("unsupported-crit", "the header lists crit parameters")
    x5u = fields.get("x5u")
    if not isinstance(x5u, str) or not x5u:
        raise IdentityHeaderError("x5u-missing", "the PASSporT header has no x5u", status=436)
    ppt = fields.get("ppt")
    if ppt is not None and ppt not in PPTS:
        raise PassportError("unsupported-ppt", f"ppt {ppt!r} is not shaken, rcd or div", status=428)
    header = Header(x5u, ppt, fields)
    if len(_HEADERS) >= _HEADER_CACHE_LIMIT:
        _HEADERS.clear()
    _HEADERS[segment] = header
    return header


def parse_passport(jws: str) -> PASSporT:
    """Split and decode a full-form PASSporT; the compact form is refused (RFC 8588 §5)."""
    parts = jws.split(".")
    if len(parts) != 3:
        raise PassportError("passport-malformed", "a PASSporT has three dot-separated parts")
    head, body, signature = parts
    if not body:
        raise PassportError(
            "compact-form", "compact-form PASSporTs are not accepted: SHAKEN needs the full form"
        )
    header = parse_header(head)
    claims = _json_object(body, "the PASSporT payload")
    try:
        raw = b64url_decode(signature, "the PASSporT signature")
    except CAError:
        raw = b""
    if len(raw) != 64:
        raise PassportError(
            "bad-signature-encoding", "an ES256 signature is 64 bytes R‖S in base64url"
        )
    return PASSporT(header, claims, jws[: len(head) + len(body) + 1].encode("ascii"), raw)


def normalize(tn: object) -> str | None:
    """A PASSporT ``tn`` without visual separators or ``+`` (RFC 8224 §8.3), or None."""
    if type(tn) is not str:
        return None
    if tn.isascii() and tn.isdigit() and len(tn) <= 15:
        return tn
    value = tn.translate(_VISUAL)
    return value if _TN.fullmatch(value) else None


def check_freshness(iat: object, moment: float, window: float) -> int:
    """``iat`` is an integer within ``window`` seconds of ``moment`` (RFC 8224 §6.2.2)."""
    if type(iat) is not int:
        raise PassportError("bad-iat", "iat must be an integer NumericDate (RFC 8225 §5.2.2)")
    if moment - iat > window:
        raise StaleError("stale", f"iat is {int(moment - iat)} s old (window {int(window)} s)")
    if iat - moment > window:
        raise StaleError("iat-in-future", f"iat is {int(iat - moment)} s in the future")
    return iat


def check_date(date: str, moment: float, window: float) -> None:
    """The SIP Date header lies within the window (RFC 8224 §6.2.1)."""
    try:
        when = email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        raise PassportError("bad-date", f"the SIP Date {date!r} is not an HTTP-date") from None
    if abs(moment - when) > window:
        raise StaleError("stale-date", "the SIP Date lies outside the freshness window")


def check_claims(
    claims: dict[str, Any], ppt: str | None, from_tn: str | None, to_tn: str | None
) -> str | None:
    """orig/dest shape and match with From/To, then the ppt's own claims; returns orig's tn."""
    orig = claims.get("orig")
    if type(orig) is not dict or ("tn" in orig) == ("uri" in orig):
        raise PassportError("bad-orig", "orig must hold exactly one of tn or uri (RFC 8225 §5.2.1)")
    orig_tn = normalize(orig["tn"]) if "tn" in orig else None
    if "tn" in orig and orig_tn is None:
        raise PassportError("bad-orig", f"orig tn {orig['tn']!r} is not a telephone number")
    dest = claims.get("dest")
    if type(dest) is not dict or not dest:
        raise PassportError("bad-dest", "dest must map tn and/or uri to non-empty arrays")
    for values in dest.values():
        if type(values) is not list or not values:
            raise PassportError("bad-dest", "dest must map tn and/or uri to non-empty arrays")
    if from_tn is not None and orig_tn != from_tn:
        raise PassportError("orig-mismatch", f"orig {orig_tn} is not the SIP From {from_tn}")
    if to_tn is not None:
        tns = dest.get("tn", ())
        if to_tn not in tns and to_tn not in [normalize(tn) for tn in tns]:
            raise PassportError("dest-mismatch", f"dest does not hold the SIP To {to_tn}")
    if ppt == "shaken":
        if orig_tn is None:
            raise PassportError("bad-orig", "a SHAKEN PASSporT's orig is a tn (RFC 8588 §6)")
        attest = claims.get("attest")
        if type(attest) is not str or attest not in ATTEST:
            raise PassportError("bad-attest", f"attest {attest!r} is not A, B or C (RFC 8588)")
        origid = claims.get("origid")
        if type(origid) is not str or not _UUID.fullmatch(origid):
            raise PassportError("bad-origid", "origid must be a UUID (RFC 8588 §4)")
    elif ppt is not None and type(claims.get(ppt)) is not dict:
        raise PassportError(f"bad-{ppt}", f"a {ppt} PASSporT needs a {ppt!r} claim object")
    return orig_tn
