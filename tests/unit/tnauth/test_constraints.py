"""JWTClaimConstraints (RFC 8226 §8) and EnhancedJWTClaimConstraints (RFC 9118 §3)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ca.errors import CAError, ErrorKind
from ca.tnauth import EnhancedJWTClaimConstraints, JWTClaimConstraints

# Hand-checked DER (EXPLICIT tags wrap each SEQUENCE OF):
#   30 1d  a0 08 30 06 16 04 "rcdi"
#          a1 11 30 0f 30 0d 16 06 "attest" 30 03 0c 01 "A"
JWTCC_HEX = "301da0083006160472636469a111300f300d160661747465737430030c0141"
#   30 0a  a2 08 30 06 16 04 "orig"
EJWTCC_EXCLUDE_ORIG_HEX = "300aa208300616046f726967"

PASSPORT = {
    "attest": "A",
    "dest": {"tn": ["12155551213"]},
    "iat": 1471375418,
    "orig": {"tn": "12155551212"},
    "origid": "123e4567-e89b-12d3-a456-426655440000",
}


def test_known_answer_both_directions() -> None:
    constraints = JWTClaimConstraints(must_include=["rcdi"], permitted_values={"attest": ["A"]})
    assert constraints.to_der().hex() == JWTCC_HEX
    assert JWTClaimConstraints.from_der(bytes.fromhex(JWTCC_HEX)) == constraints
    enhanced = EnhancedJWTClaimConstraints(must_exclude=["orig"])
    assert enhanced.to_der().hex() == EJWTCC_EXCLUDE_ORIG_HEX
    assert EnhancedJWTClaimConstraints.from_der(bytes.fromhex(EJWTCC_EXCLUDE_ORIG_HEX)) == enhanced


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
values = st.lists(st.text(min_size=0, max_size=6), min_size=1, max_size=3)


@given(
    st.lists(names, max_size=3),
    st.dictionaries(names, values, max_size=3),
    st.lists(names, max_size=3),
)
def test_round_trip(must_include: list[str], permitted: dict, must_exclude: list[str]) -> None:
    if must_include or permitted:
        plain = JWTClaimConstraints(must_include, permitted)
        assert JWTClaimConstraints.from_der(plain.to_der()) == plain
    if must_include or permitted or must_exclude:
        enhanced = EnhancedJWTClaimConstraints(must_include, permitted, must_exclude)
        assert EnhancedJWTClaimConstraints.from_der(enhanced.to_der()) == enhanced


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({}, "at least one constraint"),
        ({"must_include": "rcdi"}, "lists of claim names"),
        ({"must_include": [""]}, "non-empty IA5String"),
        ({"must_include": ["caf\u00e9"]}, "non-empty IA5String"),
        ({"permitted_values": {"attest": "A"}}, "not one string"),
        ({"permitted_values": [("attest", ["A"])]}, "maps each claim name"),
        ({"permitted_values": {"attest": []}}, "at least one permitted value"),
        ({"permitted_values": {"attest": [1]}}, "a permitted value is a string"),
        ({"permitted_values": {"attest": ["\ud800"]}}, "cannot be encoded as UTF-8"),
    ],
)
def test_invalid(kwargs: dict, reason: str) -> None:
    with pytest.raises(CAError, match=reason) as caught:
        JWTClaimConstraints(**kwargs)
    assert caught.value.kind is ErrorKind.MALFORMED


def test_eq_ne_hash_repr() -> None:
    a = JWTClaimConstraints(["rcdi"], {"attest": ["A"]})
    b = JWTClaimConstraints(["rcdi"], {"attest": ["A"]})
    assert a == b and hash(a) == hash(b)
    assert a != JWTClaimConstraints(["rcdi"], {"attest": ["B"]})
    assert a != JWTClaimConstraints(["rcd"])
    # Same fields, different extension (different OID): never equal.
    assert a != EnhancedJWTClaimConstraints(["rcdi"], {"attest": ["A"]})
    assert repr(a) == (
        "<JWTClaimConstraints(must_include=('rcdi',), permitted_values={'attest': ('A',)})>"
    )
    enhanced = EnhancedJWTClaimConstraints(must_exclude=["div"])
    assert repr(enhanced) == (
        "<EnhancedJWTClaimConstraints(must_include=(), permitted_values={}, must_exclude=('div',))>"
    )


def test_permitted_values_is_a_copy() -> None:
    constraints = JWTClaimConstraints(permitted_values={"attest": ["A"]})
    constraints.permitted_values["attest"] = ("C",)
    assert constraints.permitted_values == {"attest": ("A",)}


# -- check() --------------------------------------------------------------------------------------


def violation(constraints: JWTClaimConstraints | EnhancedJWTClaimConstraints, claims: dict) -> str:
    with pytest.raises(CAError) as caught:
        constraints.check(claims)
    assert caught.value.kind is ErrorKind.MALFORMED
    assert caught.value.field == "passport"
    return caught.value.detail


def test_check_passes_a_conforming_passport() -> None:
    JWTClaimConstraints(["attest"], {"attest": ["A", "B"]}).check(PASSPORT)


def test_check_missing_must_include() -> None:
    detail = violation(JWTClaimConstraints(["rcdi"]), PASSPORT)
    assert detail == "the PASSporT lacks the claim 'rcdi' (mustInclude)"


def test_check_value_not_permitted() -> None:
    detail = violation(JWTClaimConstraints(permitted_values={"attest": ["A"]}), {"attest": "C"})
    assert "the claim 'attest' has the value 'C', not one of ['A']" in detail


def test_check_absent_claim_is_not_a_violation_of_permitted_values() -> None:
    JWTClaimConstraints(permitted_values={"rcd": ["x"]}).check(PASSPORT)


def test_check_list_valued_claims_need_every_element_permitted() -> None:
    constraints = JWTClaimConstraints(permitted_values={"crn": ["a", "b"]})
    constraints.check({"crn": ["a", "b"]})
    assert "'c'" in violation(constraints, {"crn": ["a", "c"]})


def test_check_non_string_values_compare_by_their_json_text() -> None:
    constraints = JWTClaimConstraints(permitted_values={"n": ["1", "true", '{"tn":"1"}']})
    constraints.check({"n": 1})
    constraints.check({"n": True})
    constraints.check({"n": {"tn": "1"}})
    assert "'2'" in violation(constraints, {"n": 2})


def test_check_must_exclude() -> None:
    detail = violation(EnhancedJWTClaimConstraints(must_exclude=["attest"]), PASSPORT)
    assert detail == "the PASSporT carries the claim 'attest' (mustExclude)"


@pytest.mark.parametrize("claim", ["iat", "orig", "dest"])
def test_enhanced_excluding_a_base_claim_is_ignored(claim: str) -> None:
    # RFC 9118 §3: such an extension is ignored entirely, mustInclude and permittedValues too.
    constraints = EnhancedJWTClaimConstraints(
        must_include=["rcdi"], permitted_values={"attest": ["C"]}, must_exclude=[claim]
    )
    assert constraints.is_ignored
    constraints.check(PASSPORT)


def test_enhanced_not_ignored_otherwise() -> None:
    constraints = EnhancedJWTClaimConstraints(must_include=["rcdi"], must_exclude=["div"])
    assert not constraints.is_ignored
    assert "rcdi" in violation(constraints, PASSPORT)


# -- malformed DER --------------------------------------------------------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag, len(content)]) + content


NAMES = _tlv(0x30, _tlv(0x16, b"rcdi"))

MALFORMED = [
    ("empty input", b"", "expected a TLV"),
    ("not a SEQUENCE", _tlv(0x31, _tlv(0xA0, NAMES)), "not a SEQUENCE: found SET"),
    ("trailing bytes", _tlv(0x30, _tlv(0xA0, NAMES)) + b"\0", "1 trailing byte\\(s\\)"),
    ("no constraint", _tlv(0x30, b""), "no constraint is present"),
    ("out of order", _tlv(0x30, _tlv(0xA1, b"") + _tlv(0xA0, NAMES)), "out of order"),
    ("repeated", _tlv(0x30, _tlv(0xA0, NAMES) + _tlv(0xA0, NAMES)), "out of order"),
    ("mustExclude in RFC 8226's", _tlv(0x30, _tlv(0xA2, NAMES)), "unexpected \\[2\\]"),
    ("IMPLICIT tag", _tlv(0x30, _tlv(0x80, b"rcdi")), "unexpected \\[0\\] primitive"),
    ("IMPLICIT SEQUENCE", _tlv(0x30, _tlv(0xA0, _tlv(0x16, b"rcdi"))), "must wrap one SEQUENCE"),
    ("empty names", _tlv(0x30, _tlv(0xA0, _tlv(0x30, b""))), "mustInclude is empty"),
    ("UTF8 name", _tlv(0x30, _tlv(0xA0, _tlv(0x30, _tlv(0x0C, b"rcdi")))), "wrong string type"),
    ("empty name", _tlv(0x30, _tlv(0xA0, _tlv(0x30, _tlv(0x16, b"")))), "non-empty IA5String"),
    (
        "value not UTF8String",
        _tlv(
            0x30,
            _tlv(0xA1, _tlv(0x30, _tlv(0x30, _tlv(0x16, b"a") + _tlv(0x30, _tlv(0x16, b"A"))))),
        ),
        "wrong string type IA5String",
    ),
    (
        "bad UTF-8",
        _tlv(
            0x30,
            _tlv(0xA1, _tlv(0x30, _tlv(0x30, _tlv(0x16, b"a") + _tlv(0x30, _tlv(0x0C, b"\xff"))))),
        ),
        "invalid UTF-8",
    ),
    (
        "no values",
        _tlv(0x30, _tlv(0xA1, _tlv(0x30, _tlv(0x30, _tlv(0x16, b"a") + _tlv(0x30, b""))))),
        "is not \\{claim, values\\}",
    ),
    (
        "claim twice",
        _tlv(
            0x30,
            _tlv(0xA1, _tlv(0x30, 2 * _tlv(0x30, _tlv(0x16, b"a") + _tlv(0x30, _tlv(0x0C, b"A"))))),
        ),
        "listed twice",
    ),
    ("overrun", bytes.fromhex("3009a007300516037263"), "claims 9 bytes but only 8 remain"),
]


@pytest.mark.parametrize(
    ("der", "reason"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_der(der: bytes, reason: str) -> None:
    with pytest.raises(CAError, match=reason) as caught:
        JWTClaimConstraints.from_der(der)
    assert caught.value.field == "JWTClaimConstraints"


def test_enhanced_malformed_der_names_its_field() -> None:
    with pytest.raises(CAError, match="unexpected \\[3\\]") as caught:
        EnhancedJWTClaimConstraints.from_der(_tlv(0x30, _tlv(0xA3, NAMES)))
    assert caught.value.field == "EnhancedJWTClaimConstraints"


@given(st.binary(max_size=60))
def test_arbitrary_bytes_raise_only_caerror(data: bytes) -> None:
    for cls in (JWTClaimConstraints, EnhancedJWTClaimConstraints):
        with contextlib.suppress(CAError):
            cls.from_der(data)
