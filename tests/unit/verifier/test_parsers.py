"""Parsers of outside bytes: JWS/PASSporT, base64url, PEM chains — malformed input and properties."""

from __future__ import annotations

import contextlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ca.errors import CAError
from ca.verifier import verify_identity
from ca.verifier.chain import build_path, parse_chain
from ca.verifier.errors import ChainFormatError, VerificationError
from ca.verifier.jws import b64url_decode, b64url_encode, der_signature, raw_signature
from ca.verifier.passport import check_claims, parse_passport
from ca.verifier.trust import split_certificates
from tests.unit.verifier.pki import X5U, Hierarchy, pem

HEADER = b64url_encode(
    b'{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://x.example/a.pem"}'
)
PAYLOAD = b64url_encode(b'{"iat":1}')
SIGNATURE = b64url_encode(b"\x01" * 64)
DUPLICATE = b64url_encode(b'{"alg":"ES256","alg":"none","typ":"passport","x5u":"u"}')


@pytest.mark.parametrize(
    ("jws", "reason"),
    [
        (f"{HEADER}.{PAYLOAD}", "passport-malformed"),
        (f"{HEADER}.{PAYLOAD}.{SIGNATURE}.x", "passport-malformed"),
        (f"{HEADER}..{SIGNATURE}", "compact-form"),
        (f"{HEADER}.{PAYLOAD}.", "bad-signature-encoding"),
        (f"{HEADER}.{PAYLOAD}.{b64url_encode(b'x' * 63)}", "bad-signature-encoding"),
        (f"{HEADER}.{PAYLOAD}.{SIGNATURE}==", "bad-signature-encoding"),
        (f"{HEADER}.!!!.{SIGNATURE}", "passport-malformed"),
        (f"{HEADER}.{b64url_encode(b'[1,2]')}.{SIGNATURE}", "passport-malformed"),
        (f"{HEADER}.{b64url_encode(b'{bad json')}.{SIGNATURE}", "passport-malformed"),
        (f"{HEADER}.{b64url_encode(bytes([0xFF, 0xFE]))}.{SIGNATURE}", "passport-malformed"),
        (f"{b64url_encode(b'{}')}.{PAYLOAD}.{SIGNATURE}", "unsupported-alg"),
        (f"{DUPLICATE}.{PAYLOAD}.{SIGNATURE}", "passport-malformed"),
    ],
)
def test_malformed_passports(jws, reason):
    with pytest.raises(VerificationError) as caught:
        parse_passport(jws)
    assert caught.value.reason == reason


@given(st.text(max_size=200))
def test_any_text_parses_or_raises_a_verification_error(text):
    with contextlib.suppress(VerificationError):
        parse_passport(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(
        st.sampled_from(["orig", "dest", "iat", "attest", "origid", "rcd", "x"]), json_values
    )
)
def test_claims_of_any_shape_raise_only_verification_errors(claims):
    for ppt in (None, "shaken", "rcd"):
        with contextlib.suppress(VerificationError):
            check_claims(claims, ppt, "12025550101", "12025550199")


@given(st.binary(max_size=100))
def test_base64url_round_trips(data):
    encoded = b64url_encode(data)
    assert "=" not in encoded and b64url_decode(encoded) == data


@given(st.text(max_size=40))
def test_base64url_decoding_of_any_text_returns_bytes_or_raises_malformed(text):
    with contextlib.suppress(CAError):
        b64url_decode(text)


@given(st.integers(1, 2**256 - 1), st.integers(1, 2**256 - 1))
def test_raw_and_der_signatures_convert_both_ways(r, s):
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert der_signature(raw) == encode_dss_signature(r, s)
    assert raw_signature(der_signature(raw)) == raw


def test_the_header_of_a_passport_with_duplicate_members_is_refused():
    header = b'{"alg":"ES256","typ":"passport","typ":"jwt","x5u":"u"}'
    with pytest.raises(VerificationError, match="twice"):
        parse_passport(f"{b64url_encode(header)}.{PAYLOAD}.{SIGNATURE}")


# PEM chains (the x5u body).

HIERARCHY = Hierarchy()
CHAIN = pem(*HIERARCHY.chain)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        CHAIN[: len(CHAIN) // 2],
        CHAIN + b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        pem(HIERARCHY.leaf) * 11,
        CHAIN.replace(b"CERTIFICATE", b"X509 CRL"),
    ],
)
def test_malformed_chains(data):
    with pytest.raises(ChainFormatError) as caught:
        parse_chain(data)
    assert caught.value.status == 436


def test_text_around_pem_blocks_is_tolerated():
    assert len(parse_chain(b"leaf:\n" + CHAIN + b"\nend\n")) == 2


@given(st.binary(max_size=300))
def test_any_bytes_parse_or_raise_chain_format_error(data):
    with contextlib.suppress(ChainFormatError):
        parse_chain(data)


LEAF_DER = HIERARCHY.leaf.public_bytes(Encoding.DER)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(LEAF_DER) - 1), st.integers(1, 255))
def test_a_damaged_leaf_never_breaks_the_verifier(position, flip):
    damaged = bytearray(LEAF_DER)
    damaged[position] ^= flip
    try:
        leaf = x509.load_der_x509_certificate(bytes(damaged))
    except (ValueError, x509.InvalidVersion):
        return  # not a certificate any more: parse_chain reports it (tested above)
    resources = HIERARCHY.resources(**{X5U: pem(leaf, HIERARCHY.sca)})
    result = verify_identity(HIERARCHY.context(resources), HIERARCHY.identity())
    assert isinstance(result.valid, bool)
    if result.valid:
        assert leaf.tbs_certificate_bytes == HIERARCHY.leaf.tbs_certificate_bytes


def test_build_path_of_an_empty_chain():
    with pytest.raises(ChainFormatError):
        build_path([], split_certificates([HIERARCHY.root], "test"))


def test_results_serialize_to_json():
    result = verify_identity(HIERARCHY.context(), HIERARCHY.identity())
    assert json.loads(json.dumps(result.to_json()))["valid"] is True
