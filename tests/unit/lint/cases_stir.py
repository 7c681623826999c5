"""Failing vectors for the policy, CRL distribution point and STIR lints: each breaks exactly the rule it names."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from ca import oids
from ca.tnauth import TelephoneNumber
from tests.unit.lint.pki import STI_PA, crl_points, policies
from tests.unit.lint.vectors import (
    WARN,
    Case,
    ejwt,
    jwt,
    one_point,
    put,
    spcs,
    tn,
    tweak,
)

CASES = [
    # -- policies and CRL distribution points ----------------------------------------------------
    Case(
        "delegate_ee",
        "e_certificate_policies",
        tweak(lambda s: s.drop(ExtensionOID.CERTIFICATE_POLICIES)),
        "absent",
    ),
    Case(
        "delegate_ee",
        "e_certificate_policies",
        tweak(put(policies("2.16.840.1.114569.1.1.3"))),
        "requires exactly",
    ),
    Case(
        "delegate_ee",
        "e_certificate_policies",
        tweak(lambda s: s.critical(ExtensionOID.CERTIFICATE_POLICIES)),
        "critical",
    ),
    Case(
        "shaken_sp",
        "e_certificate_policies",
        tweak(put(policies("2.16.840.1.114569.1.1.3"))),
        "tolerated",
        WARN,
    ),
    Case(
        "test_root",
        "e_certificate_policies",
        tweak(put(policies("2.16.840.1.114569.1.1.4"))),
        "carry no",
    ),
    Case(
        "delegate_ee",
        "e_crl_distribution_points_present",
        tweak(lambda s: s.drop(ExtensionOID.CRL_DISTRIBUTION_POINTS)),
        "absent",
    ),
    Case(
        "test_root",
        "e_crl_distribution_points_absent",
        tweak(put(crl_points("http://x.example/crl"))),
        "carry no",
    ),
    Case(
        "delegate_ee",
        "e_crl_distribution_points_structure",
        tweak(
            lambda s: s.put(
                x509.CRLDistributionPoints(
                    list(crl_points("http://a.example/1.crl"))
                    + list(crl_points("http://a.example/2.crl"))
                )
            )
        ),
        "2 distribution points",
    ),
    Case(
        "delegate_ee",
        "e_crl_distribution_points_structure",
        tweak(one_point(full_name=[x509.UniformResourceIdentifier("ldap://dir.example/cn=crl")])),
        "not an http(s) URL",
    ),
    Case(
        "delegate_ee",
        "e_crl_distribution_points_structure",
        tweak(one_point(reasons=frozenset({x509.ReasonFlags.key_compromise}))),
        "limits reasons",
    ),
    Case(
        "delegate_ee",
        "e_crl_distribution_points_structure",
        tweak(one_point(full_name=None, crl_issuer=[x509.DirectoryName(STI_PA)])),
        "no fullName",
    ),
    Case(
        "delegate_ee",
        "e_crl_distribution_points_structure",
        tweak(lambda s: s.critical(ExtensionOID.CRL_DISTRIBUTION_POINTS)),
        "critical",
    ),
    Case(
        "shaken_sp",
        "e_crl_distribution_points_crl_issuer",
        tweak(put(crl_points("https://sti-pa.example/crl"))),
        "no cRLIssuer",
    ),
    Case(
        "shaken_sp",
        "e_crl_distribution_points_crl_issuer",
        tweak(one_point(crl_issuer=[x509.UniformResourceIdentifier("https://sti-pa.example")])),
        "no directoryName",
    ),
    # -- STIR ----------------------------------------------------------------------------------
    Case(
        "delegate_ee",
        "e_tn_auth_list_present",
        tweak(lambda s: s.drop(oids.TN_AUTH_LIST)),
        "absent",
    ),
    Case("crl_signer", "e_tn_auth_list_absent", tweak(tn(spcs("1234"))), "carry no TNAuthList"),
    Case(
        "delegate_ee",
        "e_tn_auth_list_not_critical",
        tweak(tn(spcs(TelephoneNumber("12125551824")), critical=True)),
        "critical",
    ),
    Case(
        "delegate_ee",
        "e_tn_auth_list_strict_der",
        tweak(tn(bytes.fromhex("3006130431323334"))),
        "malformed",
    ),
    Case(
        "shaken_sp",
        "e_tn_auth_list_strict_der",
        tweak(tn(bytes.fromhex("3007a00516043132"))),
        "malformed",
    ),
    Case(
        "delegate_ee",
        "e_tn_auth_list_numbers_only",
        tweak(tn(spcs("1234", TelephoneNumber("12125551824")))),
        "holds SPC 1234",
    ),
    Case(
        "shaken_sp",
        "e_tn_auth_list_single_spc",
        tweak(tn(spcs("1234", "5678"))),
        "one SPC is required",
    ),
    Case(
        "shaken_sp",
        "e_tn_auth_list_single_spc",
        tweak(tn(spcs(TelephoneNumber("12125551824")))),
        "one SPC is required",
    ),
    Case("shaken_sp", "e_tn_auth_list_single_spc", tweak(tn(spcs("12ab"))), "upper-case"),
    Case(
        "delegate_ee",
        "e_tn_auth_list_encompassed",
        tweak(tn(spcs(TelephoneNumber("12125551824"), TelephoneNumber("13105550000")))),
        "one 13105550000",
    ),
    Case(
        "delegate_ee",
        "e_claim_constraints_single",
        tweak(put(jwt(), ejwt())),
        "2 claim-constraints",
    ),
    Case(
        "shaken_sp",
        "e_claim_constraints_allowed",
        tweak(put(jwt())),
        "carry no claim constraints",
    ),
    Case(
        "delegate_ee",
        "e_jwt_claim_constraints_der",
        tweak(put(x509.UnrecognizedExtension(oids.JWT_CLAIM_CONSTRAINTS, b"\x30\x00"))),
        "malformed",
    ),
    Case(
        "delegate_ee",
        "e_enhanced_jwt_claim_constraints_der",
        tweak(
            put(
                x509.UnrecognizedExtension(
                    oids.ENHANCED_JWT_CLAIM_CONSTRAINTS, b"\x30\x03\x02\x01\x00"
                )
            )
        ),
        "malformed",
    ),
    Case(
        "delegate_ee",
        "w_enhanced_jwt_claim_constraints_ignored",
        tweak(put(ejwt("orig"))),
        "ignore",
        WARN,
    ),
]
