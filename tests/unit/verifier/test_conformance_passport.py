"""Conformance: PASSporT and Identity header rules (RFC 8224 §6.2, RFC 8225, RFC 8588)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from ca import oids
from ca.clock import FixedClock
from ca.tnauth import EnhancedJWTClaimConstraints, JWTClaimConstraints, TNAuthList
from ca.verifier import verify_call, verify_identity
from ca.verifier.jws import b64url_decode, b64url_encode, compact_json, sign_es256
from ca.verifier.passport import parse_passport
from ca.verifier.results import FAILED, NO_VALIDATION, PASSED
from ca.verifier.signing import identity_value, passport_claims, sign_passport
from tests.conftest import NOW
from tests.unit.lint.pki import CertSpec, tn_auth_list_ext
from tests.unit.verifier.pki import DEST, ORIG, X5U, Hierarchy

IAT = int(NOW.timestamp())


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return Hierarchy()


def outcome(hierarchy: Hierarchy, identity: str, **sip: str):
    result = verify_identity(hierarchy.context(), identity, **sip)
    return result.valid, result.reason, result.status


def custom(hierarchy: Hierarchy, header: dict, claims: dict, params: str) -> str:
    """A PASSporT with any header and claims, signed by the leaf key, with given parameters."""
    signing_input = f"{b64url_encode(compact_json(header))}.{b64url_encode(compact_json(claims))}"
    signature = b64url_encode(sign_es256(hierarchy.leaf_key, signing_input.encode()))
    return f"{signing_input}.{signature}{params}"


HEADER = {"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": X5U}
PARAMS = f';info=<{X5U}>;alg=ES256;ppt="shaken"'


def claims(**changes) -> dict:
    base = passport_claims(ORIG, [DEST], iat=IAT, attest="A")
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(("age", "reason"), [(61, "stale"), (-61, "iat-in-future")])
def test_iat_outside_the_window_is_a_stale_date(hierarchy, age, reason):
    identity = hierarchy.identity(iat=IAT - age)
    assert outcome(hierarchy, identity) == (False, reason, 403)


@pytest.mark.parametrize("age", [60, -60, 0])
def test_iat_inside_the_window(hierarchy, age):
    assert outcome(hierarchy, hierarchy.identity(iat=IAT - age))[0]


def test_the_window_is_configurable(hierarchy):
    context = hierarchy.context(freshness=dt.timedelta(seconds=300))
    assert verify_identity(context, hierarchy.identity(iat=IAT - 200)).valid


def test_a_stale_sip_date(hierarchy):
    old = "Mon, 23 Nov 2026 11:50:00 GMT"
    assert outcome(hierarchy, hierarchy.identity(), date=old) == (False, "stale-date", 403)
    assert outcome(hierarchy, hierarchy.identity(), date="Mon, 23 Nov 2026 12:00:30 GMT")[0]


def test_info_differs_from_x5u(hierarchy):
    identity = hierarchy.identity().replace(f"info=<{X5U}>", "info=<https://other.example/x.pem>")
    assert outcome(hierarchy, identity) == (False, "info-mismatch", 436)


def test_info_missing(hierarchy):
    identity = hierarchy.identity().replace(f";info=<{X5U}>", "")
    assert outcome(hierarchy, identity) == (False, "info-missing", 436)


def test_compact_form_is_refused(hierarchy):
    head, _, signature = hierarchy.identity().split(";")[0].split(".")
    assert outcome(hierarchy, f"{head}..{signature}{PARAMS}") == (False, "compact-form", 438)


def test_unknown_ppt(hierarchy):
    header = {**HEADER, "ppt": "future"}
    identity = custom(hierarchy, header, claims(), f";info=<{X5U}>;alg=ES256;ppt=future")
    result = verify_identity(hierarchy.context(), identity)
    assert (result.reason, result.status) == ("unsupported-ppt", 428)
    assert result.reason_phrase == "Use Supported PASSporT Format"


@pytest.mark.parametrize("param", ['ppt="rcd"', "ppt=div", ""])
def test_ppt_parameter_must_match_the_passport(hierarchy, param):
    identity = custom(hierarchy, HEADER, claims(), f";info=<{X5U}>;alg=ES256;{param}".rstrip(";"))
    assert outcome(hierarchy, identity) == (False, "ppt-mismatch", 438)


@pytest.mark.parametrize("attest", ["D", "a", "", 1, None])
def test_bad_attest(hierarchy, attest):
    identity = custom(hierarchy, HEADER, claims(attest=attest), PARAMS)
    assert outcome(hierarchy, identity) == (False, "bad-attest", 438)


def test_bad_origid(hierarchy):
    identity = custom(hierarchy, HEADER, claims(origid="not-a-uuid"), PARAMS)
    assert outcome(hierarchy, identity) == (False, "bad-origid", 438)


@pytest.mark.parametrize(
    ("header", "reason", "status"),
    [
        ({**HEADER, "alg": "ES384"}, "unsupported-alg", 437),
        ({**HEADER, "typ": "JWT"}, "unsupported-typ", 437),
        ({k: v for k, v in HEADER.items() if k != "x5u"}, "x5u-missing", 436),
        ({**HEADER, "crit": ["foo"]}, "unsupported-crit", 438),
    ],
)
def test_bad_headers(hierarchy, header, reason, status):
    assert outcome(hierarchy, custom(hierarchy, header, claims(), PARAMS)) == (
        False,
        reason,
        status,
    )


def test_a_tampered_payload_fails_the_signature(hierarchy):
    head, _, signature = hierarchy.identity().split(";")[0].split(".")
    forged = compact_json({**claims(), "attest": "A", "orig": {"tn": "12025550102"}})
    identity = f"{head}.{b64url_encode(forged)}.{signature}{PARAMS}"
    assert outcome(hierarchy, identity) == (False, "bad-signature", 438)


def test_a_der_signature_is_refused(hierarchy):
    head, payload, _ = hierarchy.identity().split(";")[0].split(".")
    der = hierarchy.leaf_key.sign(f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    identity = f"{head}.{payload}.{b64url_encode(der)}{PARAMS}"
    assert outcome(hierarchy, identity) == (False, "bad-signature-encoding", 438)


@pytest.mark.parametrize(
    "sip",
    [
        {"orig": "sip:+12025550101@example.net;user=phone", "dest": "tel:+1-202-555-0199"},
        {"orig": '"Alice" <sip:12025550101@example.net>', "dest": "<sips:+12025550199@x.example>"},
        {"orig": "+1 (202) 555-0101"},
    ],
)
def test_orig_and_dest_match_the_sip_request_after_normalization(hierarchy, sip):
    assert outcome(hierarchy, hierarchy.identity(), **sip)[0]


@pytest.mark.parametrize(
    ("sip", "reason"),
    [
        ({"orig": "sip:+12025550102@example.net"}, "orig-mismatch"),
        ({"dest": "tel:+12025550100"}, "dest-mismatch"),
        ({"orig": "sip:alice@example.net"}, "from-mismatch"),
    ],
)
def test_orig_or_dest_differ_from_the_sip_request(hierarchy, sip, reason):
    assert outcome(hierarchy, hierarchy.identity(), **sip) == (False, reason, 438)


def constrained(extension) -> Hierarchy:
    def put(s: CertSpec) -> None:
        s.put(extension)

    return Hierarchy({"leaf": put})


def ext(constraints):
    oid = (
        oids.ENHANCED_JWT_CLAIM_CONSTRAINTS
        if isinstance(constraints, EnhancedJWTClaimConstraints)
        else oids.JWT_CLAIM_CONSTRAINTS
    )
    return x509.UnrecognizedExtension(oid, constraints.to_der())


@pytest.mark.parametrize(
    ("constraints", "attest", "valid"),
    [
        (JWTClaimConstraints(permitted_values={"attest": ["A"]}), "A", True),
        (JWTClaimConstraints(permitted_values={"attest": ["A"]}), "B", False),
        (JWTClaimConstraints(must_include=["rcd"]), "A", False),
        (EnhancedJWTClaimConstraints(must_exclude=["origid"]), "A", False),
        (EnhancedJWTClaimConstraints(must_exclude=["orig"]), "A", True),  # ignored (RFC 9118 §3)
    ],
)
def test_claim_constraints(constraints, attest, valid):
    hierarchy = constrained(ext(constraints))
    result = verify_identity(hierarchy.context(), hierarchy.identity(attest=attest))
    assert result.valid is valid
    if not valid:
        assert (result.reason, result.status) == ("claim-constraints", 438)


def test_a_base_passport_from_a_delegate(hierarchy):
    result = verify_identity(hierarchy.context(), hierarchy.identity(ppt=None))
    assert result.valid and result.ppt is None and result.attest is None


def test_several_values_pass_if_any_passes(hierarchy):
    bad = hierarchy.identity(iat=IAT - 3600)
    call = verify_call(hierarchy.context(), [bad, hierarchy.identity()])
    assert call.valid and call.status is None and call.verstat == PASSED and call.attest == "A"
    assert [r.valid for r in call.results] == [False, True]


def test_several_failing_values_report_the_first(hierarchy):
    stale = hierarchy.identity(iat=IAT - 3600)
    call = verify_call(hierarchy.context(), [stale, "garbage"])
    assert not call.valid and call.status == 403 and call.verstat == FAILED
    assert call.to_json()["results"][1]["reason"] == "identity-malformed"


def test_no_identity_header_is_428(hierarchy):
    call = verify_call(hierarchy.context(), [])
    assert (call.valid, call.status, call.verstat) == (False, 428, NO_VALIDATION)
    assert call.to_json()["reason_phrase"] == "Use Identity Header"


# STANDARDS.md §6: a correct RFC 8225 vector (Appendix A's own public key does not match).
VECTOR_HEADER = (
    '{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example.org/passport.pem"}'
)
VECTOR_PAYLOAD = '{"attest":"A","dest":{"tn":["12155551213"]},"iat":1471375418,"orig":{"tn":"12155551212"},"origid":"123e4567-e89b-12d3-a456-426655440000"}'
VECTOR_SIGNATURE = (
    "uJB8mhds5IRFFrr6fk8rR3atV5g7S_tHSxpUzro0Dba4eAB16mwtJ3mQ6bB9HNvtilxwp2F164t2SzhjaQGqHg"
)
VECTOR_SPKI = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFn2o9R1BE6aDQqzrafSgPKNFe/SLlgESrfQtXBT5MndxQT+EnojWcUIQ6w9LXQR5bN/8BXvPvithaz8kBfb7oQ=="


def vector_identity(signature: str = VECTOR_SIGNATURE) -> str:
    jws = f"{b64url_encode(VECTOR_HEADER.encode())}.{b64url_encode(VECTOR_PAYLOAD.encode())}.{signature}"
    return identity_value(jws, "https://cert.example.org/passport.pem", "shaken")


def test_the_signer_emits_the_vector_bytes():
    header = {
        "alg": "ES256",
        "ppt": "shaken",
        "typ": "passport",
        "x5u": "https://cert.example.org/passport.pem",
    }
    payload = passport_claims(
        "12155551212",
        ["12155551213"],
        iat=1471375418,
        attest="A",
        origid="123e4567-e89b-12d3-a456-426655440000",
    )
    assert compact_json(header).decode() == VECTOR_HEADER
    assert compact_json(payload).decode() == VECTOR_PAYLOAD


def vector_hierarchy() -> Hierarchy:
    public = load_der_public_key(base64.b64decode(VECTOR_SPKI))
    at = dt.datetime.fromtimestamp(1471375418, dt.UTC)

    def to_2016(s: CertSpec) -> None:
        s.not_before, s.not_after = at - dt.timedelta(hours=1), at + dt.timedelta(days=1)

    def leaf(s: CertSpec) -> None:
        to_2016(s)
        s.public_key = public
        s.put(tn_auth_list_ext(TNAuthList.from_user(tns=["12155551212"]).to_der()))

    def sca(s: CertSpec) -> None:
        to_2016(s)
        s.put(tn_auth_list_ext(TNAuthList.from_user(ranges=["12155550000:10000"]).to_der()))

    return Hierarchy({"root": to_2016, "sca": sca, "leaf": leaf})


def test_the_rfc8225_vector_verifies_in_full():
    hierarchy = vector_hierarchy()
    at = dt.datetime.fromtimestamp(1471375418, dt.UTC)
    resources = hierarchy.resources(
        **{"https://cert.example.org/passport.pem": hierarchy.resources()[X5U]}
    )
    context = hierarchy.context(resources, clock=FixedClock(at), crl_policy="off")
    result = verify_identity(context, vector_identity(), orig="12155551212", dest="12155551213")
    assert result.valid, result.detail
    tampered = VECTOR_SIGNATURE[:-2] + ("Hg" if VECTOR_SIGNATURE[-2:] != "Hg" else "Hw")
    assert verify_identity(context, vector_identity(tampered)).reason == "bad-signature"


def test_the_vector_signature_is_raw_r_s():
    passport = parse_passport(vector_identity().split(";")[0])
    assert len(passport.signature) == 64 == len(b64url_decode(VECTOR_SIGNATURE))
    assert passport.signing_input.decode().count(".") == 1


def test_sign_passport_round_trips(hierarchy):
    jws = sign_passport(hierarchy.leaf_key, X5U, claims(), ppt="shaken")
    assert verify_identity(hierarchy.context(), identity_value(jws, X5U, "shaken")).valid
