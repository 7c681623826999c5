"""What the lints share: one walk of the TBS, the issuer's facts, the caller's DER, a fast TNAuthList read.

Sharing must never change a verdict: each test builds a certificate where a shortcut would be wrong
if it were taken blindly, and checks the lints still judge the certificate's own bytes.
"""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from ca.issuance.profiles import load_profile
from ca.lint import LintStatus, run_lints
from ca.tnauth import TNAuthList
from ca.tnauth.codec import _parse_list, _plain_entries
from tests.unit.lint.cases_certificate import CASES as CERTIFICATE_CASES
from tests.unit.lint.cases_stir import CASES as STIR_CASES
from tests.unit.lint.conftest import lint, make
from tests.unit.lint.pki import KINDS, NOW, sca
from tests.unit.tnauth.strategies import tn_auth_lists

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")


def _results(report):
    return [(r.lint_id, r.status, r.detail) for r in report.results]


def test_an_issuer_dn_equal_to_the_issuers_subject_but_encoded_otherwise_is_read_as_encoded():
    subject = sca().subject
    # The same names (RFC 5280 §7.1 compares values), but the CN is a TeletexString here.
    issuer_name = x509.Name(
        [
            attribute
            if attribute.oid != NameOID.COMMON_NAME
            else x509.NameAttribute(NameOID.COMMON_NAME, attribute.value, _ASN1Type.T61String)
            for attribute in subject
        ]
    )
    cert = make("delegate_ee", lambda spec: setattr(spec, "issuer_name", issuer_name))
    report = lint("delegate_ee", cert)
    assert report.result("e_issuer_dn_matches_issuer_subject").status is LintStatus.PASS
    encoding = report.result("e_issuer_dn_encoding")
    assert encoding.status is LintStatus.ERROR and "TeletexString" in encoding.detail


def test_the_callers_der_changes_no_verdict():
    for case in CERTIFICATE_CASES + STIR_CASES:
        cert = case.produce(case.kind)
        profile = load_profile(KINDS[case.kind].profile)
        issuer = KINDS[case.kind].issuer()
        without = run_lints(cert, profile, issuer=issuer, now=NOW)
        with_der = run_lints(
            cert, profile, issuer=issuer, now=NOW, der=cert.public_bytes(Encoding.DER)
        )
        assert _results(with_der) == _results(without), case


@given(tn_auth_lists(min_size=1), st.integers(min_value=0, max_value=40), st.binary(max_size=3))
def test_the_fast_tn_auth_list_read_agrees_with_the_full_parser(tn_auth_list, cut, noise):
    der = tn_auth_list.to_der()
    for data in (der, der[:cut] + noise + der[cut:], der[:cut] + der[cut + 1 :]):
        plain = _plain_entries(data)
        if plain is not None:  # whatever the fast path accepts, the full parser accepts as equal
            assert TNAuthList(plain).entries == TNAuthList(_parse_list(data)).entries
