"""Conformance: the certificate path (RFC 5280 §6.1, STANDARDS.md §4) — issue 5 item 9."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ca import oids
from ca.clock import FixedClock
from ca.tnauth import TNAuthList
from ca.verifier import verify_identity
from ca.verifier.results import FAILED, PASSED
from tests.conftest import NOW
from tests.unit.lint.pki import CertSpec, key, key_usage, tn_auth_list_ext
from tests.unit.verifier.pki import X5U, Hierarchy, pem, resign


def check(hierarchy: Hierarchy, resources: dict[str, Any] | None = None, **options: Any):
    identity = hierarchy.identity()
    return verify_identity(hierarchy.context(resources, **options), identity)


def failed(result, reason: str, status: int = 437) -> None:
    assert (result.valid, result.reason, result.status) == (False, reason, status), result.detail
    assert result.verstat == FAILED


def shift(part_spec: CertSpec, **delta: float) -> None:
    moved = dt.timedelta(**delta)
    part_spec.not_before += moved
    part_spec.not_after += moved


def test_a_valid_path_passes_with_its_summary():
    result = check(Hierarchy(intermediate=True))
    assert result.valid and result.verstat == PASSED and result.status is None
    assert [c.subject for c in result.chain][-1] == "CN=Verifier Test ROOT,O=Delegato Test,C=US"
    assert result.signer is not None and result.signer.kind == "delegate"
    assert result.warnings == ()


@pytest.mark.parametrize("part", ["leaf", "sca"])
def test_expired_certificate(part):
    failed(check(Hierarchy({part: lambda s: shift(s, days=-800)})), "certificate-expired")


@pytest.mark.parametrize("part", ["leaf", "sca", "int"])
def test_not_yet_valid_certificate(part):
    hierarchy = Hierarchy({part: lambda s: shift(s, hours=2)}, intermediate=True)
    failed(check(hierarchy), "certificate-not-yet-valid")


def test_expired_intermediate():
    hierarchy = Hierarchy({"int": lambda s: shift(s, days=-800)}, intermediate=True)
    failed(check(hierarchy), "certificate-expired")


def test_missing_intermediate():
    hierarchy = Hierarchy(intermediate=True)
    resources = hierarchy.resources(**{X5U: pem(hierarchy.leaf, hierarchy.sca)})
    failed(check(hierarchy, resources), "issuer-not-found")


def test_intermediates_out_of_order_build_with_a_warning():
    hierarchy = Hierarchy(intermediate=True)
    resources = hierarchy.resources(**{X5U: pem(hierarchy.leaf, hierarchy.int, hierarchy.sca)})
    result = check(hierarchy, resources)
    assert result.valid
    assert any("out of path order" in w for w in result.warnings)


def test_a_chain_that_does_not_start_with_the_signer_fails():
    hierarchy = Hierarchy()
    resources = hierarchy.resources(**{X5U: pem(hierarchy.sca, hierarchy.leaf)})
    failed(check(hierarchy, resources), "basic-constraints")


def test_untrusted_root_omitted_from_the_x5u():
    trusted = Hierarchy()
    other = Hierarchy(root_name="v-other-root")  # same names, another root key
    failed(check(trusted, other.resources()), "issuer-not-found")


def test_untrusted_root_included_in_the_x5u():
    trusted = Hierarchy()
    other = Hierarchy(root_name="v-other-root")
    resources = other.resources(**{X5U: pem(*other.chain, other.root)})
    failed(check(trusted, resources), "untrusted-root")


def test_the_trusted_root_in_the_x5u_is_accepted_without_warning():
    hierarchy = Hierarchy()
    result = check(hierarchy, hierarchy.resources(**{X5U: pem(*hierarchy.chain, hierarchy.root)}))
    assert result.valid and result.warnings == ()


def test_a_forged_link_fails():
    hierarchy = Hierarchy({"leaf": lambda s: setattr(s, "signing_key", key("mallory"))})
    failed(check(hierarchy), "bad-signature")


def test_unknown_critical_extension():
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    hierarchy = Hierarchy({"leaf": lambda s: s.put(unknown, critical=True)})
    failed(check(hierarchy), "unknown-critical-extension")


def test_p384_leaf_key():
    hierarchy = Hierarchy(leaf_curve=ec.SECP384R1())
    # ES256 cannot be made with the leaf's P-384 key: the path must fail before the signature.
    identity = hierarchy.identity(key=key("another P-256 key"))
    failed(verify_identity(hierarchy.context(), identity), "unsupported-key")


def test_a_p384_sca_signing_with_sha384_is_accepted():
    def sha384(s: CertSpec) -> None:
        s.hash_algorithm = hashes.SHA384()

    result = check(Hierarchy({"leaf": sha384}, sca_curve=ec.SECP384R1()))
    assert result.valid, result.detail


def test_leaf_without_digital_signature():
    hierarchy = Hierarchy({"leaf": lambda s: s.put(key_usage("key_agreement"), critical=True)})
    failed(check(hierarchy), "key-usage")


def test_path_length_constraint():
    def zero(s: CertSpec) -> None:
        s.put(x509.BasicConstraints(ca=True, path_length=0), critical=True)

    failed(check(Hierarchy({"int": zero}, intermediate=True)), "path-length")


def test_duplicate_tn_auth_list():
    hierarchy = Hierarchy()

    def duplicate(tbs: asn1_x509.TbsCertificate) -> None:
        extensions = tbs["extensions"]
        tn_auth = next(
            e for e in extensions if e["extn_id"].dotted == oids.TN_AUTH_LIST.dotted_string
        )
        extensions.append(asn1_x509.Extension.load(tn_auth.dump()))

    leaf = resign(hierarchy.leaf, duplicate, hierarchy.sca_key)
    resources = hierarchy.resources(**{X5U: pem(leaf, hierarchy.sca)})
    failed(check(hierarchy, resources), "tn-auth-list-duplicate")


@pytest.mark.parametrize("lenient", [False, True])
def test_tn_auth_list_missing(lenient):
    hierarchy = Hierarchy({"leaf": lambda s: s.drop(oids.TN_AUTH_LIST)})
    failed(check(hierarchy, lenient_tn_auth_list=lenient), "tn-auth-list-missing")


# An SPC as an untagged PrintableString, met in the wild (STANDARDS.md §1).
PRINTABLE_SPC = bytes.fromhex("30061304") + b"1234"


def sp_leaf(der: bytes):
    """An SP certificate (SPC only) under an STI-CA intermediate without a TNAuthList."""

    def no_scope(s: CertSpec) -> None:
        s.drop(oids.TN_AUTH_LIST)

    return Hierarchy({"sca": no_scope, "leaf": lambda s: s.put(tn_auth_list_ext(der))})


def test_malformed_tn_auth_list_strict_fails():
    failed(check(sp_leaf(PRINTABLE_SPC)), "tn-auth-list-malformed")


def test_malformed_tn_auth_list_lenient_recovers_with_a_warning():
    result = check(sp_leaf(PRINTABLE_SPC), lenient_tn_auth_list=True)
    assert result.valid, result.detail
    assert (
        result.signer is not None and result.signer.kind == "sp" and result.signer.spc == ("1234",)
    )
    assert any("PrintableString" in w or "SPC" in w for w in result.warnings)


def test_unrecoverable_tn_auth_list_fails_even_when_lenient():
    failed(check(sp_leaf(b"\x04\x02ab"), lenient_tn_auth_list=True), "tn-auth-list-malformed")


def test_an_spc_only_sp_certificate_is_reported_with_no_number_check():
    result = check(sp_leaf(TNAuthList(["1234"]).to_der()))
    assert result.valid and result.signer is not None
    assert (result.signer.kind, result.signer.spc) == ("sp", ("1234",))


def test_claim_constraints_malformed():
    bad = x509.UnrecognizedExtension(oids.JWT_CLAIM_CONSTRAINTS, b"\x30\x00")
    failed(check(Hierarchy({"leaf": lambda s: s.put(bad)})), "claim-constraints-malformed")


def test_the_clock_decides_validity():
    hierarchy = Hierarchy()
    later = NOW + dt.timedelta(days=2)
    identity = hierarchy.identity(iat=int(later.timestamp()))
    result = verify_identity(hierarchy.context(clock=FixedClock(later)), identity)
    failed(result, "certificate-expired")
