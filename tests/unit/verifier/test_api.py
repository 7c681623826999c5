"""The JSON functions behind POST /v1/verify/identity and /v1/verify/signer, and the STI-AS helper."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca import oids
from ca.errors import CAError
from ca.verifier import (
    load_signing_key,
    sign_identity,
    verify_identity_request,
    verify_signer_request,
)
from ca.verifier.jws import b64url_decode
from tests.unit.lint.pki import CertSpec, tn_auth_list_ext
from tests.unit.verifier.pki import X5U, Hierarchy, pem

HIERARCHY = Hierarchy()


def test_identity_request_round_trips_as_json():
    context = HIERARCHY.context()
    body = json.loads(
        json.dumps({"identity": [HIERARCHY.identity()], "from": "sip:+12025550101@x.example"})
    )
    answer = verify_identity_request(context, body)
    assert json.loads(json.dumps(answer))["valid"] is True
    assert answer["verstat"] == "TN-Validation-Passed" and answer["attest"] == "A"


def test_identity_request_accepts_one_value_as_a_string():
    answer = verify_identity_request(HIERARCHY.context(), {"identity": HIERARCHY.identity()})
    assert answer["valid"] and len(answer["results"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"identity": 5}, "identity"),
        ({"identity": ["x"] * 21}, "identity"),
        ({"identity": [5]}, "identity[0]"),
        ({"identity": ["x"], "from": 12}, "from"),
        ({"identity": ["x"], "to": ""}, "to"),
        ({"identity": ["x"], "extra": 1}, "extra"),
    ],
)
def test_malformed_identity_requests_name_the_field(body, field):
    with pytest.raises(CAError) as caught:
        verify_identity_request(HIERARCHY.context(), body)
    assert caught.value.field == field


def test_an_empty_identity_list_is_428():
    answer = verify_identity_request(HIERARCHY.context(), {"identity": []})
    assert (answer["valid"], answer["status"], answer["verstat"]) == (
        False,
        428,
        "No-TN-Validation",
    )


@pytest.mark.parametrize(
    ("tn", "valid", "reason"),
    [("+1-202-555-0105", True, "ok"), ("12025550300", False, "tn-not-covered")],
)
def test_signer_check_by_x5u(tn, valid, reason):
    answer = verify_signer_request(HIERARCHY.context(), {"x5u": X5U, "tn": tn})
    assert (answer["valid"], answer["reason"], answer["covers"]) == (valid, reason, valid)
    evidence = answer["evidence"]
    assert len(evidence["chain"]) == 3 and {c["url"] for c in evidence["crls"]} >= {
        X5U.rsplit("/", 1)[0] + "/crl/sca.crl"
    }
    assert evidence["policies"] == {
        "crl": "require",
        "spc_parent": "strict",
        "lenient_tn_auth_list": "false",
    }


def test_signer_check_by_chain():
    answer = verify_signer_request(
        HIERARCHY.context(), {"chain": pem(*HIERARCHY.chain).decode(), "tn": "12025550101"}
    )
    assert answer["valid"] and answer["signer"]["x5u"] is None


def test_signer_check_of_an_untrusted_chain():
    other = Hierarchy(root_name="v-other-root")
    answer = verify_signer_request(
        HIERARCHY.context(), {"chain": pem(*other.chain).decode(), "tn": "12025550101"}
    )
    assert (answer["valid"], answer["reason"], answer["status"]) == (False, "issuer-not-found", 437)


def test_signer_check_of_an_sp_certificate():
    def spc_only(s: CertSpec) -> None:
        s.put(tn_auth_list_ext(bytes.fromhex("3008a006160431323334")))

    def no_scope(s: CertSpec) -> None:
        s.drop(oids.TN_AUTH_LIST)

    sp = Hierarchy({"leaf": spc_only, "sca": no_scope})
    answer = verify_signer_request(sp.context(), {"x5u": X5U, "tn": "12025550101"})
    assert (answer["valid"], answer["reason"], answer["covers"]) == (False, "spc-only", None)
    assert answer["signer"]["spc"] == ["1234"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tn": "12025550101"}, "x5u"),
        ({"x5u": X5U, "chain": "x", "tn": "12025550101"}, "x5u"),
        ({"x5u": X5U}, "tn"),
        ({"x5u": X5U, "tn": "12O25"}, "tn"),
        ({"chain": "é", "tn": "12025550101"}, "chain"),
        ({"x5u": X5U, "tn": "1", "at": "now"}, "at"),
    ],
)
def test_malformed_signer_requests_name_the_field(body, field):
    with pytest.raises(CAError) as caught:
        verify_signer_request(HIERARCHY.context(), body)
    assert caught.value.field == field


# The STI-AS helper (issue 5 item 6).


def test_signed_passports_are_compact_sorted_json_with_a_raw_signature():
    value = HIERARCHY.identity(origid="123e4567-e89b-12d3-a456-426655440000")
    head, payload, signature = value.split(";", 1)[0].split(".")
    assert (
        b64url_decode(head)
        == b'{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://certs.example.net/delegate.pem"}'
    )
    assert b64url_decode(payload) == (
        b'{"attest":"A","dest":{"tn":["12025550199"]},"iat":1795435200,'
        b'"orig":{"tn":"12025550101"},"origid":"123e4567-e89b-12d3-a456-426655440000"}'
    )
    assert len(b64url_decode(signature)) == 64


def test_several_destinations():
    value = sign_identity(
        HIERARCHY.leaf_key, X5U, "12025550101", ["+1 202 555 0199", "12025550198"], iat=1
    )
    payload = json.loads(b64url_decode(value.split(".")[1]))
    assert payload["dest"] == {"tn": ["12025550199", "12025550198"]}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"ppt": "rcd"}, "ppt"),
        ({"attest": "D"}, "attest"),
        ({"attest": None}, "attest"),
        ({"x5u": "ftp://x.example/c.pem"}, "x5u"),
        ({"x5u": "https://u@x.example/c.pem"}, "x5u"),
        ({"orig": "call me"}, "orig"),
        ({"dest": []}, "dest"),
    ],
)
def test_sign_refuses_bad_input(options, field):
    arguments = {"x5u": X5U, "orig": "12025550101", "dest": "12025550199", **options}
    with pytest.raises(CAError) as caught:
        sign_identity(
            HIERARCHY.leaf_key,
            arguments.pop("x5u"),
            arguments.pop("orig"),
            arguments.pop("dest"),
            iat=1,
            **arguments,
        )
    assert caught.value.field == field


def test_sign_refuses_a_p384_key():
    with pytest.raises(CAError, match="P-256"):
        sign_identity(ec.generate_private_key(ec.SECP384R1()), X5U, "12025550101", "12025550199")


@pytest.mark.parametrize("kind", ["p384", "encrypted", "missing"])
def test_load_signing_key_refuses(tmp_path, kind):
    path = tmp_path / "k.pem"
    if kind == "p384":
        path.write_bytes(
            ec.generate_private_key(ec.SECP384R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    elif kind == "encrypted":
        path.write_bytes(
            HIERARCHY.leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            )
        )
    with pytest.raises(CAError) as caught:
        load_signing_key(path)
    assert caught.value.field == "key"
