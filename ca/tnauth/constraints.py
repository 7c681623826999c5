"""JWT claim constraints on PASSporTs signed under a certificate (RFC 8226 §8, RFC 9118 §3)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

from asn1crypto import core

from ca.errors import CAError, ErrorKind, malformed
from ca.tnauth import asn1
from ca.tnauth.codec import as_bytes
from ca.tnauth.der import (
    IA5_STRING,
    SEQUENCE,
    UTF8_STRING,
    DERError,
    Header,
    describe,
    read_children,
    read_string,
    read_tlv,
)

# RFC 9118 §3: an Enhanced extension that excludes a claim every PASSporT must carry is ignored.
_ALWAYS_PRESENT = frozenset({"iat", "orig", "dest"})
_NAMES = {0: "mustInclude", 1: "permittedValues", 2: "mustExclude"}


def _claim_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or not value.isascii():
        raise malformed(field, f"a claim name is a non-empty IA5String, got {value!r}")
    return value


def _utf8(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise malformed(field, f"a permitted value is a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise malformed(field, f"{value!r} cannot be encoded as UTF-8") from None
    return value


def _as_text(value: object) -> str:
    # Permitted values are UTF8Strings: compare string claims directly, anything else by its
    # compact JSON form (so 1 matches "1" and true matches "true").
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _violation(detail: str) -> CAError:
    return CAError(ErrorKind.MALFORMED, detail, field="passport")


class _ClaimConstraints:
    """Shared shape of RFC 8226's and RFC 9118's extensions."""

    _FIELD: ClassVar[str]
    _TAGS: ClassVar[tuple[int, ...]]
    #: The asn1crypto class and the name its permitted-values entries give the value list.
    _ASN1: ClassVar[type[core.Sequence]]
    _VALUES_KEY: ClassVar[str]

    def __init__(
        self,
        must_include: Iterable[str] = (),
        permitted_values: Mapping[str, Iterable[str]] | None = None,
        must_exclude: Iterable[str] = (),
    ) -> None:
        field = self._FIELD
        if isinstance(must_include, str) or isinstance(must_exclude, str):
            raise malformed(field, "must_include and must_exclude are lists of claim names")
        self._must_include = tuple(
            _claim_name(name, f"{field}.must_include[{i}]") for i, name in enumerate(must_include)
        )
        self._must_exclude = tuple(
            _claim_name(name, f"{field}.must_exclude[{i}]") for i, name in enumerate(must_exclude)
        )
        if permitted_values is not None and not isinstance(permitted_values, Mapping):
            raise malformed(field, "permitted_values maps each claim name to its allowed values")
        permitted: dict[str, tuple[str, ...]] = {}
        for claim, values in (permitted_values or {}).items():
            where = f"{field}.permitted_values[{claim!r}]"
            _claim_name(claim, where)
            if isinstance(values, str):
                raise malformed(where, "permitted values are a list of strings, not one string")
            permitted[claim] = tuple(_utf8(value, where) for value in values)
            if not permitted[claim]:
                raise malformed(where, "at least one permitted value (SIZE (1..MAX))")
        self._permitted = permitted
        if not (self._must_include or self._permitted or self._must_exclude):
            raise malformed(field, "at least one constraint must be present")

    @classmethod
    def from_der(cls, der: bytes) -> Self:
        """Strict DER decoding (RFC 8226 / RFC 9118 Appendix A); one MALFORMED error naming the
        extension for anything else, whether the bytes or the values break the rule."""
        try:
            return cls._from_parts(*cls._parse(der))
        except DERError as error:
            raise malformed(cls._FIELD, error.message) from None
        except CAError as error:
            raise malformed(cls._FIELD, str(error)) from None

    @classmethod
    def _from_parts(
        cls, must_include: list[str], permitted: dict[str, list[str]], must_exclude: list[str]
    ) -> Self:
        return cls(must_include, permitted, must_exclude)

    def to_der(self) -> bytes:
        """DER of the present fields (absent OPTIONAL fields are omitted)."""
        value: dict[str, Any] = {}
        if self._must_include:
            value["must_include"] = list(self._must_include)
        if self._permitted:
            value["permitted_values"] = [
                {"claim": claim, self._VALUES_KEY: list(values)}
                for claim, values in self._permitted.items()
            ]
        if self._must_exclude:
            value["must_exclude"] = list(self._must_exclude)
        return _dump(self._ASN1(value))

    @property
    def must_include(self) -> tuple[str, ...]:
        return self._must_include

    @property
    def permitted_values(self) -> dict[str, tuple[str, ...]]:
        return dict(self._permitted)

    def check(self, claims: Mapping[str, Any]) -> None:
        """Raise ``CAError(MALFORMED, field="passport")`` when the payload breaks a rule."""
        for name in self._must_include:
            if name not in claims:
                raise _violation(f"the PASSporT lacks the claim {name!r} (mustInclude)")
        for claim, allowed in self._permitted.items():
            if claim not in claims:
                continue
            value = claims[claim]
            # A list-valued claim (e.g. several values) passes only if every element is allowed.
            for item in value if isinstance(value, list) else [value]:
                text = _as_text(item)
                if text not in allowed:
                    raise _violation(
                        f"the claim {claim!r} has the value {text!r}, not one of {list(allowed)}"
                    )
        for name in self._must_exclude:
            if name in claims:
                raise _violation(f"the PASSporT carries the claim {name!r} (mustExclude)")

    def _key(self) -> tuple[object, ...]:
        return self._must_include, tuple(self._permitted.items()), self._must_exclude

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    @classmethod
    def _parse(cls, der: bytes) -> tuple[list[str], dict[str, list[str]], list[str]]:
        """Strict DER walk; returns mustInclude, permittedValues, mustExclude as found."""
        data = as_bytes(der, cls._FIELD)
        top = read_tlv(data, 0, len(data), cls._FIELD)
        if top.tag != SEQUENCE:
            raise DERError(0, f"not a SEQUENCE: found {describe(top.tag)}")
        if top.end != len(data):
            raise DERError(top.end, f"{len(data) - top.end} trailing byte(s) at byte {top.end}")
        found: dict[int, Header] = {}
        for part in read_children(data, top, cls._FIELD):
            number = part.tag & 0x1F
            if part.tag not in cls._TAGS:
                raise DERError(
                    part.offset, f"unexpected {describe(part.tag)} at byte {part.offset}"
                )
            if found and number <= max(found):
                raise DERError(part.offset, f"[{number}] at byte {part.offset} is out of order")
            found[number] = part
        if not found:
            raise DERError(top.offset, "no constraint is present")
        must_include = _names(data, found[0], _NAMES[0]) if 0 in found else []
        must_exclude = _names(data, found[2], _NAMES[2]) if 2 in found else []
        permitted = _permitted(data, found[1]) if 1 in found else {}
        return must_include, permitted, must_exclude


def _only_child(data: bytes, wrapper: Header, what: str) -> Header:
    """The single SEQUENCE an EXPLICIT tag wraps (RFC 8226 Appendix A uses EXPLICIT TAGS)."""
    children = read_children(data, wrapper, what)
    if len(children) != 1 or children[0].tag != SEQUENCE:
        raise DERError(wrapper.offset, f"{what} at byte {wrapper.offset} must wrap one SEQUENCE")
    sequence = children[0]
    if sequence.start == sequence.end:
        raise DERError(sequence.offset, f"{what} is empty (SIZE (1..MAX))")
    return sequence


def _names(data: bytes, wrapper: Header, what: str) -> list[str]:
    sequence = _only_child(data, wrapper, what)
    return [
        read_string(data, name, f"{what} name", IA5_STRING)
        for name in read_children(data, sequence, what)
    ]


def _permitted(data: bytes, wrapper: Header) -> dict[str, list[str]]:
    what = _NAMES[1]
    permitted: dict[str, list[str]] = {}
    for item in read_children(data, _only_child(data, wrapper, what), what):
        parts = read_children(data, item, what) if item.tag == SEQUENCE else []
        if len(parts) != 2 or parts[1].tag != SEQUENCE or parts[1].start == parts[1].end:
            raise DERError(
                item.offset, f"{what}: entry at byte {item.offset} is not {{claim, values}}"
            )
        claim = read_string(data, parts[0], f"{what} claim", IA5_STRING)
        if claim in permitted:
            raise DERError(item.offset, f"{what}: the claim {claim!r} is listed twice")
        permitted[claim] = [
            read_string(data, value, f"{what} value", UTF8_STRING)
            for value in read_children(data, parts[1], what)
        ]
    return permitted


class JWTClaimConstraints(_ClaimConstraints):
    """RFC 8226 §8 ``JWTClaimConstraints``: mustInclude and/or permittedValues."""

    _FIELD = "JWTClaimConstraints"
    _TAGS = (0xA0, 0xA1)
    _ASN1 = asn1.JWTClaimConstraints
    _VALUES_KEY = "permitted"

    def __init__(
        self,
        must_include: Iterable[str] = (),
        permitted_values: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        super().__init__(must_include, permitted_values)

    @classmethod
    def _from_parts(
        cls, must_include: list[str], permitted: dict[str, list[str]], must_exclude: list[str]
    ) -> JWTClaimConstraints:
        # RFC 8226 has no mustExclude; _TAGS already refuses a [2] field.
        return cls(must_include, permitted)

    def __repr__(self) -> str:
        return (
            f"<JWTClaimConstraints(must_include={self._must_include!r}, "
            f"permitted_values={self._permitted!r})>"
        )


class EnhancedJWTClaimConstraints(_ClaimConstraints):
    """RFC 9118 §3 ``EnhancedJWTClaimConstraints``: adds mustExclude."""

    _FIELD = "EnhancedJWTClaimConstraints"
    _TAGS = (0xA0, 0xA1, 0xA2)
    _ASN1 = asn1.EnhancedJWTClaimConstraints
    _VALUES_KEY = "values"

    @property
    def must_exclude(self) -> tuple[str, ...]:
        return self._must_exclude

    @property
    def is_ignored(self) -> bool:
        """True when mustExclude names ``iat``, ``orig`` or ``dest`` (RFC 9118 §3): ignore it."""
        return not _ALWAYS_PRESENT.isdisjoint(self._must_exclude)

    def check(self, claims: Mapping[str, Any]) -> None:
        """As RFC 8226 §8 plus mustExclude; an ignored extension accepts every PASSporT."""
        if not self.is_ignored:
            super().check(claims)

    def __repr__(self) -> str:
        return (
            f"<EnhancedJWTClaimConstraints(must_include={self._must_include!r}, "
            f"permitted_values={self._permitted!r}, must_exclude={self._must_exclude!r})>"
        )


def _dump(value: core.Asn1Value) -> bytes:
    return bytes(value.dump())
