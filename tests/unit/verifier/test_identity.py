"""Identity header values and SIP identities: forms met in practice, malformed input, properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ca.verifier.errors import IdentityHeaderError
from ca.verifier.identity import MAX_LENGTH, parse_identity, sip_tn
from ca.verifier.signing import identity_value

JWS = "eyJhIjoxfQ.eyJiIjoyfQ.c2ln"
X5U = "https://certs.example.net/a.pem"


@pytest.mark.parametrize(
    "value",
    [
        f'{JWS};info=<{X5U}>;alg=ES256;ppt="shaken"',
        f"{JWS};info=<{X5U}>;alg=ES256;ppt=shaken",
        f"{JWS} ; INFO = <{X5U}> ; Alg=ES256 ; PPT = shaken ",
        f"Identity: {JWS};info=<{X5U}>;alg=ES256;ppt=shaken",
        f"{JWS};ppt=shaken;alg=ES256;info=<{X5U}>",
    ],
)
def test_forms_met_in_practice(value):
    header = parse_identity(value)
    assert (header.jws, header.info, header.ppt, header.params.alg) == (JWS, X5U, "shaken", "ES256")


def test_a_base_value_has_no_ppt_and_other_parameters_are_kept():
    header = parse_identity(f"{JWS};info=<{X5U}>;alg=ES256;foo=bar;flag")
    assert header.ppt is None
    assert header.params.others == (("flag", None), ("foo", "bar"))


def test_an_info_uri_may_hold_semicolons():
    header = parse_identity(f"{JWS};info=<https://x.example/a;v=1.pem>;alg=ES256")
    assert header.info == "https://x.example/a;v=1.pem"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "identity-malformed"),
        (";info=<https://x/y>", "identity-malformed"),
        ("not a jws;info=<https://x/y>", "identity-malformed"),
        (f"{JWS};info=<{X5U}>;info=<{X5U}>", "identity-malformed"),
        (f"{JWS};info=<{X5U}", "identity-malformed"),
        (f'{JWS};ppt="shaken', "identity-malformed"),
        (f"{JWS};=x", "identity-malformed"),
        (f"{JWS};info={X5U}", "identity-info-malformed"),
        (f"{JWS};info=<{X5U}>;" + "a" * MAX_LENGTH, "identity-malformed"),
    ],
)
def test_malformed_values(value, reason):
    with pytest.raises(IdentityHeaderError) as caught:
        parse_identity(value)
    assert caught.value.reason == reason


def test_info_without_angle_brackets_is_bad_identity_info():
    with pytest.raises(IdentityHeaderError) as caught:
        parse_identity(f"{JWS};info={X5U}")
    assert caught.value.status == 436


@pytest.mark.parametrize("value", [None, 5, b"bytes"])
def test_non_text_is_malformed(value):
    with pytest.raises(IdentityHeaderError):
        parse_identity(value)


@given(st.text(max_size=300))
def test_any_text_parses_or_raises_identity_header_error(value):
    with contextlib.suppress(IdentityHeaderError):
        parse_identity(value)


segments = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    min_size=1,
    max_size=40,
)
paths = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~/;=,", max_size=30)


@given(segments, segments, segments, paths, st.sampled_from([None, "shaken", "rcd", "div"]))
def test_emitted_values_parse_back(head, payload, signature, path, ppt):
    jws, x5u = f"{head}.{payload}.{signature}", f"https://certs.example.net/{path}"
    header = parse_identity(identity_value(jws, x5u, ppt))
    assert (header.jws, header.info, header.ppt) == (jws, x5u, ppt)


@pytest.mark.parametrize(
    ("value", "tn"),
    [
        ("12025550101", "12025550101"),
        ("+1 (202) 555-0101", "12025550101"),
        ("sip:+12025550101@example.net;user=phone", "12025550101"),
        ("sips:12025550101;npdi@example.net", "12025550101"),
        ('"Alice" <sip:+1-202-555-0101@example.net>;tag=abc', "12025550101"),
        ("tel:+1-202-555-0101;phone-context=example.net", "12025550101"),
        ("<TEL:+12025550101>", "12025550101"),
        ("sip:alice@example.net", None),
        ("sip:12025550101", None),
        ("1234567890123456", None),
        ("", None),
    ],
)
def test_sip_identities(value, tn):
    assert sip_tn(value) == tn


@given(st.text(max_size=120))
def test_sip_tn_never_raises(value):
    result = sip_tn(value)
    assert result is None or (1 <= len(result) <= 15 and set(result) <= set("0123456789*#"))
