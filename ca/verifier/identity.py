"""SIP Identity header values and SIP From/To identities (RFC 8224 §4.1, §8.3; STANDARDS.md §6).

``Identity: <jws>;info=<https://...>;alg=ES256;ppt=shaken`` — the parameters may be quoted
(deployed systems send ``ppt="shaken"``), names are case-insensitive and may have spaces around
``;`` and ``=``. The parameter part repeats from one call to the next for a signer, so it is parsed
once and remembered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ca.verifier.errors import IdentityHeaderError

_PARAM = re.compile(
    r'\s*;\s*([A-Za-z0-9\-_.!%*+`\'~]+)\s*(?:=\s*(<[^<>]*>|"(?:[^"\\]|\\.)*"|[^;\s"<>]+))?\s*'
)
_PARAMS_CACHE: dict[str, IdentityParams] = {}
_CACHE_LIMIT = 4096
#: A SIP message header is a few kilobytes; an Identity value beyond this is refused unread.
MAX_LENGTH = 16 * 1024


@dataclass(frozen=True, slots=True)
class IdentityParams:
    """The parameters after the signed identity digest."""

    info: str | None
    alg: str | None
    ppt: str | None
    others: tuple[tuple[str, str | None], ...] = ()


@dataclass(slots=True)
class IdentityHeader:
    """One Identity header value: the PASSporT (JWS compact serialization) and its parameters."""

    jws: str
    params: IdentityParams

    @property
    def info(self) -> str | None:
        return self.params.info

    @property
    def ppt(self) -> str | None:
        return self.params.ppt


def parse_identity(value: str) -> IdentityHeader:
    """Parse one Identity header value (RFC 8224 §4.1); raises IdentityHeaderError."""
    if not isinstance(value, str):
        raise IdentityHeaderError("identity-malformed", "an Identity value is a string")
    if len(value) > MAX_LENGTH:
        raise IdentityHeaderError("identity-malformed", "the Identity value is too long")
    jws, separator, rest = value.partition(";")
    if ":" in jws and jws.lstrip()[:9].lower() == "identity:":
        jws = jws.lstrip()[9:]
    jws = jws.strip()
    # The characters of each part are checked when the PASSporT is decoded (strict base64url).
    if jws.count(".") != 2 or not jws.isascii() or " " in jws:
        raise IdentityHeaderError(
            "identity-malformed",
            "the Identity value does not start with a JWS (header.payload.signature)",
        )
    params = _PARAMS_CACHE.get(rest)
    if params is None:
        params = _parse_params(separator + rest)
        if len(_PARAMS_CACHE) >= _CACHE_LIMIT:
            _PARAMS_CACHE.clear()
        _PARAMS_CACHE[rest] = params
    return IdentityHeader(jws, params)


def _parse_params(text: str) -> IdentityParams:
    found: dict[str, str | None] = {}
    position = 0
    while position < len(text):
        match = _PARAM.match(text, position)
        if match is None:
            raise IdentityHeaderError(
                "identity-malformed", f"unreadable Identity parameter at {text[position:][:40]!r}"
            )
        name, raw = match.group(1).lower(), match.group(2)
        if name in found:
            raise IdentityHeaderError(
                "identity-malformed", f"the Identity parameter {name!r} appears twice"
            )
        found[name] = _unquote(raw)
        position = match.end()
    info = found.pop("info", None)
    if info is not None and not (info.startswith("<") and info.endswith(">")):
        raise IdentityHeaderError(
            "identity-info-malformed",
            "info must be a URI in angle brackets (RFC 8224 §4.1)",
            status=436,
        )
    return IdentityParams(
        info=info[1:-1].strip() if info else None,
        alg=found.pop("alg", None),
        ppt=found.pop("ppt", None),
        others=tuple(sorted(found.items())),
    )


def _unquote(raw: str | None) -> str | None:
    if raw is None or not raw.startswith('"'):
        return raw
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


_URI = re.compile(r"^\s*(?:[^<]*<)?\s*(sips?|tel):([^>]*)>?", re.IGNORECASE)
_VISUAL = str.maketrans("", "", "-.()+ ")
_TN = re.compile(r"[0-9*#]{1,15}")


def sip_tn(value: str) -> str | None:
    """The telephone number of a SIP From/To (URI, name-addr or bare number), or None.

    RFC 8224 §8.3: the user part of a sip/sips URI or the number of a tel URI, without visual
    separators or the leading ``+``; parameters are dropped.
    """
    if not isinstance(value, str):
        return None
    if value.isascii() and value.isdigit() and len(value) <= 15:
        return value
    match = _URI.match(value)
    if match is not None:
        scheme, rest = match.group(1).lower(), match.group(2)
        user = rest.split("@", 1)[0] if scheme != "tel" else rest
        if scheme != "tel" and "@" not in rest:
            return None
        number = user.split(";", 1)[0]
    else:
        number = value.strip()
    number = number.translate(_VISUAL)
    return number if _TN.fullmatch(number) else None
