"""Failing vectors for the body, name and RFC 5280 extension lints: each breaks exactly the rule it names."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtensionOID, NameOID

from ca.tnauth import TelephoneNumber, TNAuthList
from tests.unit.lint.pki import NOW, STI_PA, key, key_usage, name, rsa_key
from tests.unit.lint.vectors import (
    C_US,
    CN_ACME,
    NOTICE,
    O_ACME,
    PLACEHOLDER,
    Case,
    assign,
    duplicate_placeholder,
    expired,
    other_aki,
    printable_subject,
    put,
    serial,
    swap_validity,
    tbs,
    tweak,
    version_1,
    with_subject,
)

CASES = [
    # -- body ----------------------------------------------------------------------------------
    Case("delegate_ee", "e_version_v3", tbs(version_1), "v1"),
    Case("delegate_ee", "e_serial_number_positive", tbs(serial(-5)), "not positive"),
    Case("delegate_ee", "e_serial_number_positive", tbs(serial(0)), "not positive"),
    Case("delegate_ee", "e_serial_number_too_long", tbs(serial(2**165)), "21 octets"),
    Case(
        "delegate_ee",
        "e_serial_number_entropy",
        tweak(assign("serial", 0x0123456789ABCD)),
        "7 octets",
    ),
    Case(
        "delegate_ee",
        "e_signature_algorithm",
        tweak(assign("hash_algorithm", hashes.SHA512())),
        "SHA512",
    ),
    Case(
        "test_root",
        "e_signature_algorithm",
        tweak(assign("hash_algorithm", hashes.SHA384())),
        "SHA384",
    ),
    Case("delegate_ee", "e_signature_algorithm", tweak(assign("signing_key", rsa_key())), "RSA"),
    Case(
        "delegate_ee",
        "e_subject_public_key_curve",
        tweak(assign("public_key", key("p384", ec.SECP384R1()).public_key())),
        "secp384r1",
    ),
    Case(
        "delegate_ee",
        "e_subject_public_key_curve",
        tweak(assign("public_key", rsa_key().public_key())),
        "rsaEncryption",
    ),
    Case("delegate_ee", "e_validity_order", tbs(swap_validity), "after notAfter"),
    Case(
        "delegate_ee",
        "e_validity_max",
        tweak(assign("not_after", NOW + dt.timedelta(days=31))),
        "exceeds 30 days",
    ),
    Case(
        "delegate_ee",
        "e_validity_within_issuer",
        tweak(assign("not_after", NOW + dt.timedelta(days=900))),
        "past the issuer",
    ),
    Case("delegate_ee", "n_certificate_expired", tweak(expired), "expired", NOTICE),
    # -- names ---------------------------------------------------------------------------------
    Case(
        "delegate_ee",
        "e_subject_required_attributes",
        tweak(with_subject(C_US, CN_ACME)),
        "lacks O",
    ),
    Case(
        "delegate_ee",
        "e_subject_cn_contains",
        tweak(assign("subject", name("Acme delegate"))),
        "SHAKEN",
    ),
    Case(
        "test_root",
        "e_subject_cn_contains",
        tweak(assign("subject", name("Delegato SHAKEN Anchor"))),
        "ROOT",
    ),
    Case(
        "shaken_sp",
        "e_subject_cn_shaken_spc",
        tweak(assign("subject", name("SHAKEN 9999"))),
        "SHAKEN 1234",
    ),
    Case(
        "delegate_ee",
        "e_issuer_dn_matches_issuer_subject",
        tweak(assign("issuer_name", name("Other SHAKEN CA"))),
        "differs",
    ),
    Case(
        "delegate_ee",
        "e_subject_dn_encoding",
        tweak(
            with_subject(
                x509.NameAttribute(NameOID.COUNTRY_NAME, "US", _ASN1Type.UTF8String),
                O_ACME,
                CN_ACME,
            )
        ),
        "C is a UTF8String",
    ),
    Case(
        "delegate_ee",
        "e_subject_dn_encoding",
        tweak(with_subject(x509.NameAttribute(NameOID.COUNTRY_NAME, "us"), O_ACME, CN_ACME)),
        "upper-case",
    ),
    Case(
        "delegate_ee",
        "e_subject_dn_encoding",
        tweak(
            with_subject(
                C_US,
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme", _ASN1Type.BMPString),
                CN_ACME,
            )
        ),
        "BMPString",
    ),
    Case("delegate_ee", "e_subject_dn_encoding", tbs(printable_subject("  ")), "is empty"),
    Case(
        "delegate_ee",
        "e_issuer_dn_encoding",
        tweak(
            assign(
                "issuer_name",
                x509.Name(
                    [C_US, x509.NameAttribute(NameOID.COMMON_NAME, "SCA", _ASN1Type.T61String)]
                ),
            )
        ),
        "TeletexString",
    ),
    # -- extensions ----------------------------------------------------------------------------
    Case(
        "delegate_ee",
        "e_basic_constraints_present_critical",
        tweak(lambda s: s.critical(ExtensionOID.BASIC_CONSTRAINTS, False)),
        "not critical",
    ),
    Case(
        "delegate_ee",
        "e_basic_constraints_present_critical",
        tweak(lambda s: s.drop(ExtensionOID.BASIC_CONSTRAINTS)),
        "absent",
    ),
    Case(
        "delegate_ee",
        "e_basic_constraints_ca",
        tweak(lambda s: s.put(x509.BasicConstraints(True, None), True)),
        "cA is True",
    ),
    Case(
        "sca",
        "e_basic_constraints_ca",
        tweak(lambda s: s.put(x509.BasicConstraints(False, None), True)),
        "cA is False",
    ),
    Case(
        "sca",
        "e_basic_constraints_path_len",
        tweak(lambda s: s.put(x509.BasicConstraints(True, 1), True)),
        "is 1",
    ),
    Case(
        "sca",
        "e_basic_constraints_path_len",
        tweak(lambda s: s.put(x509.BasicConstraints(True, None), True)),
        "is absent",
    ),
    Case(
        "delegate_ee",
        "e_key_usage_present_critical",
        tweak(lambda s: s.critical(ExtensionOID.KEY_USAGE, False)),
        "not critical",
    ),
    Case(
        "delegate_ee",
        "e_key_usage_present_critical",
        tweak(lambda s: s.drop(ExtensionOID.KEY_USAGE)),
        "absent",
    ),
    Case(
        "delegate_ee",
        "e_key_usage_bits",
        tweak(lambda s: s.put(key_usage("digital_signature", "key_encipherment"), True)),
        "asserts key_encipherment",
    ),
    Case(
        "sca",
        "e_key_usage_bits",
        tweak(lambda s: s.put(key_usage("crl_sign"), True)),
        "lacks key_cert_sign",
    ),
    Case(
        "delegate_ee",
        "e_extensions_critical",
        tweak(lambda s: s.critical(ExtensionOID.CERTIFICATE_POLICIES)),
        "2.5.29.32",
    ),
    Case(
        "delegate_ee",
        "e_extensions_allowed",
        tweak(put(x509.SubjectAlternativeName([x509.DNSName("acme.example")]))),
        "2.5.29.17",
    ),
    Case(
        "delegate_ee",
        "e_extensions_unique",
        tbs(
            duplicate_placeholder,
            put(
                x509.UnrecognizedExtension(
                    PLACEHOLDER, TNAuthList([TelephoneNumber("12125551824")]).to_der()
                )
            ),
        ),
        "1.3.6.1.5.5.7.1.26",
    ),
    Case(
        "delegate_ee",
        "e_subject_key_identifier_present",
        tweak(lambda s: s.drop(ExtensionOID.SUBJECT_KEY_IDENTIFIER)),
        "absent",
    ),
    Case(
        "delegate_ee",
        "e_subject_key_identifier_present",
        tweak(lambda s: s.critical(ExtensionOID.SUBJECT_KEY_IDENTIFIER)),
        "critical",
    ),
    Case(
        "delegate_ee",
        "e_subject_key_identifier_method_1",
        tweak(put(x509.SubjectKeyIdentifier(b"\x01" * 20))),
        "not the SHA-1",
    ),
    Case(
        "delegate_ee",
        "e_subject_key_identifier_method_1",
        tweak(put(x509.SubjectKeyIdentifier(b"\x01" * 8))),
        "8 bytes",
    ),
    Case(
        "delegate_ee",
        "e_authority_key_identifier_present",
        tweak(lambda s: s.drop(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)),
        "absent",
    ),
    Case(
        "delegate_ee",
        "e_authority_key_identifier_present",
        tweak(put(x509.AuthorityKeyIdentifier(None, [x509.DirectoryName(STI_PA)], 5))),
        "no keyIdentifier",
    ),
    Case(
        "delegate_ee",
        "e_authority_key_identifier_present",
        tweak(lambda s: s.critical(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)),
        "critical",
    ),
    Case(
        "delegate_ee",
        "e_authority_key_identifier_matches_issuer",
        tweak(other_aki),
        "differs from the issuer's SKI",
    ),
]
