"""Certificate profiles as data: one TOML file per profile, validated when loaded.

A profile says what a certificate of one kind must look like (STANDARDS.md §4): the template builder
reads it to shape new certificates and ``ca.lint`` reads it to check them. Every key is checked at
load time, so a typo in a profile stops start-up with the file and the key named.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, Literal

from ca.durations import parse_duration
from ca.errors import CAError, ErrorKind

PROFILE_DIR = Path(__file__).with_name("profiles")

Presence = Literal["required", "forbidden", "optional"]
TNAuthListRule = Literal["numbers", "spc", "any", "forbidden", "optional"]

KEY_USAGE_NAMES = frozenset(
    {
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    }
)
CURVE_NAMES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
HASH_NAMES = frozenset({"sha256", "sha384", "sha512"})
# Subject attributes a profile may require, by the short names RFC 4514 uses.
SUBJECT_ATTRIBUTES = {
    "C": "2.5.4.6",
    "O": "2.5.4.10",
    "OU": "2.5.4.11",
    "CN": "2.5.4.3",
    "L": "2.5.4.7",
    "ST": "2.5.4.8",
    "serialNumber": "2.5.4.5",
}
PRESENCE_VALUES = ("required", "forbidden", "optional")
TN_AUTH_LIST_VALUES = ("numbers", "spc", "any", "forbidden", "optional")
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


@dataclass(frozen=True)
class Profile:
    """What one kind of certificate must look like; built only by :func:`load_profile`."""

    name: str
    description: str
    ca: bool
    key_usage: frozenset[str]
    subject_key_curves: frozenset[str]
    signature_hashes: frozenset[str]
    certificate_policies: tuple[str, ...]
    crl_distribution_point: Presence
    tn_auth_list: TNAuthListRule
    claim_constraints_allowed: bool
    subject_required: tuple[str, ...]
    subject_cn_contains: tuple[str, ...]
    allowed_extensions: frozenset[str]
    min_serial_bits: int
    lints: tuple[str, ...]
    # Optional in the TOML file; the defaults below apply when a key is left out.
    path_len: int | None = None
    max_validity: dt.timedelta | None = None
    key_usage_optional: frozenset[str] = frozenset()
    certificate_policies_tolerated: tuple[str, ...] = ()
    crl_issuer: Presence = "optional"
    self_signed: bool = False

    @property
    def requires_tn_auth_list(self) -> bool:
        """True when the profile demands a TNAuthList (RFC 8226 §9, RFC 9060 §4)."""
        return self.tn_auth_list in ("numbers", "spc", "any")


def _fail(source: str, key: str, detail: str) -> CAError:
    return CAError(ErrorKind.CONFIGURATION, f"{source}: {key}: {detail}", field=key)


def _string(source: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, key, f"expected a non-empty string, got {value!r}")
    return value


def _strings(source: str, key: str, value: Any, allowed: Any = None) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(source, key, f"expected a list of strings, got {type(value).__name__}")
    items = tuple(_string(source, key, item) for item in value)
    if len(set(items)) != len(items):
        raise _fail(source, key, "lists a value twice")
    for item in items:
        if allowed is not None and item not in allowed:
            raise _fail(source, key, f"{item!r} is not one of {', '.join(sorted(allowed))}")
    return items


def _oids(source: str, key: str, value: Any) -> tuple[str, ...]:
    items = _strings(source, key, value)
    for item in items:
        if not _OID.match(item):
            raise _fail(source, key, f"{item!r} is not a dotted object identifier")
    return items


def _boolean(source: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(source, key, f"expected true or false, got {value!r}")
    return value


def _integer(source: str, key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(source, key, f"expected an integer from {low} to {high}, got {value!r}")
    return value


def _choice(source: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _fail(source, key, f"{value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _duration(source: str, key: str, value: Any) -> dt.timedelta:
    try:
        return parse_duration(_string(source, key, value), key)
    except CAError as exc:
        raise _fail(source, key, exc.detail) from None


_Parser = Callable[[str, str, Any], Any]
_PARSERS: dict[str, _Parser] = {
    "name": _string,
    "description": _string,
    "ca": _boolean,
    "key_usage": lambda s, k, v: frozenset(_strings(s, k, v, KEY_USAGE_NAMES)),
    "subject_key_curves": lambda s, k, v: frozenset(_strings(s, k, v, CURVE_NAMES)),
    "signature_hashes": lambda s, k, v: frozenset(_strings(s, k, v, HASH_NAMES)),
    "certificate_policies": _oids,
    "crl_distribution_point": lambda s, k, v: _choice(s, k, v, PRESENCE_VALUES),
    "tn_auth_list": lambda s, k, v: _choice(s, k, v, TN_AUTH_LIST_VALUES),
    "claim_constraints_allowed": _boolean,
    "subject_required": lambda s, k, v: _strings(s, k, v, SUBJECT_ATTRIBUTES),
    "subject_cn_contains": _strings,
    "allowed_extensions": lambda s, k, v: frozenset(_oids(s, k, v)),
    "min_serial_bits": lambda s, k, v: _integer(s, k, v, 32, 159),
    "lints": _strings,
    "path_len": lambda s, k, v: _integer(s, k, v, 0, 16),
    "max_validity": _duration,
    "key_usage_optional": lambda s, k, v: frozenset(_strings(s, k, v, KEY_USAGE_NAMES)),
    "certificate_policies_tolerated": _oids,
    "crl_issuer": lambda s, k, v: _choice(s, k, v, PRESENCE_VALUES),
    "self_signed": _boolean,
}
_REQUIRED = tuple(f.name for f in fields(Profile) if f.default is MISSING)


def _check_consistency(source: str, profile: Profile) -> None:
    """Rules that tie several keys together (RFC 5280 §4.2.1.3, §4.2.1.9)."""
    if not profile.key_usage:
        raise _fail(source, "key_usage", "a profile must assert at least one key usage bit")
    if profile.key_usage & profile.key_usage_optional:
        raise _fail(source, "key_usage_optional", "repeats a bit that key_usage already requires")
    if "key_cert_sign" in profile.key_usage | profile.key_usage_optional and not profile.ca:
        raise _fail(source, "key_usage", "key_cert_sign needs ca = true (RFC 5280 §4.2.1.3)")
    if profile.path_len is not None and not profile.ca:
        raise _fail(
            source, "path_len", "only a CA profile may set a path length (RFC 5280 §4.2.1.9)"
        )
    if set(profile.certificate_policies) & set(profile.certificate_policies_tolerated):
        raise _fail(source, "certificate_policies_tolerated", "repeats a required policy")
    if profile.crl_distribution_point == "forbidden" and profile.crl_issuer == "required":
        raise _fail(source, "crl_issuer", "cannot be required when the CRL DP is forbidden")
    from ca.lint import LINTS  # late import: ca.lint reads profiles, profiles name lints

    for lint_id in profile.lints:
        if lint_id not in LINTS:
            raise _fail(source, "lints", f"unknown lint id {lint_id!r}")


def parse_profile(data: Mapping[str, Any], source: str) -> Profile:
    """Validate one profile's raw table; ``source`` names it in errors."""
    unknown = sorted(set(data) - set(_PARSERS))
    if unknown:
        raise _fail(source, unknown[0], "unknown key")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise _fail(source, missing[0], "missing key")
    values = {key: _PARSERS[key](source, key, value) for key, value in data.items()}
    profile = Profile(**values)
    _check_consistency(source, profile)
    return profile


def load_profile_file(path: Path) -> Profile:
    """Read and validate one profile file; its ``name`` must equal the file name's stem."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise CAError(ErrorKind.CONFIGURATION, f"{source}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CAError(ErrorKind.CONFIGURATION, f"{source}: not valid TOML: {exc}") from None
    profile = parse_profile(data, source)
    if profile.name != path.stem:
        raise _fail(source, "name", f"{profile.name!r} differs from the file name {path.stem!r}")
    return profile


def load_profiles_from(directory: Path) -> dict[str, Profile]:
    """Every ``*.toml`` profile in ``directory``, by name."""
    return {path.stem: load_profile_file(path) for path in sorted(directory.glob("*.toml"))}


@functools.cache
def _builtin_profiles() -> dict[str, Profile]:
    return load_profiles_from(PROFILE_DIR)


def load_profiles() -> dict[str, Profile]:
    """All built-in profiles, validated once per process so start-up fails fast."""
    return dict(_builtin_profiles())


def load_profile(name: str) -> Profile:
    """One built-in profile by name."""
    profiles = _builtin_profiles()
    if name not in profiles:
        known = ", ".join(sorted(profiles))
        raise CAError(ErrorKind.CONFIGURATION, f"unknown profile {name!r}; known: {known}")
    return profiles[name]
