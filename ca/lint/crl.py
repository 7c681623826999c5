"""Lint a CRL (RFC 5280 §5) before it is signed with the real key, and after.

The pipeline lints a CRL signed by a throwaway key, so signature verification is a separate rule,
:func:`verify_crl_signature`, that ``lint_crl`` runs only when asked (``verify_signature=True``).
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import SignatureAlgorithmOID

from ca.lint import crl_rules
from ca.lint.base import LintReport, LintResult, LintStatus
from ca.lint.crl_input import CRL_LINTS, CRLInput, CRLLint

SIGNATURE_LINT_ID = "e_crl_signature_valid"
_SIGNATURE_BY_CURVE = {
    "secp256r1": SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    "secp384r1": SignatureAlgorithmOID.ECDSA_WITH_SHA384,
}


def verify_crl_signature(
    crl: x509.CertificateRevocationList, issuer_certificate: x509.Certificate
) -> LintResult:
    """``e_crl_signature_valid``: the signature verifies under the issuer's key (RFC 5280 §5.1.1.3)."""

    def result(status: LintStatus, detail: str = "") -> LintResult:
        return LintResult(SIGNATURE_LINT_ID, status, detail)

    try:
        key = issuer_certificate.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return result(LintStatus.ERROR, "the issuer's key is not an EC key")
        if crl.signature_algorithm_oid != _SIGNATURE_BY_CURVE.get(key.curve.name):
            return result(
                LintStatus.ERROR, f"signature algorithm does not fit a {key.curve.name} key"
            )
        if crl.is_signature_valid(key):
            return result(LintStatus.PASS)
        return result(LintStatus.ERROR, "the signature does not verify under the issuer's key")
    except Exception as exc:  # the report must come back whatever the bytes hold
        return result(LintStatus.FATAL, f"lint could not run: {exc}")


def lint_crl(
    crl: x509.CertificateRevocationList,
    *,
    issuer_certificate: x509.Certificate,
    expected_idp_url: str,
    indirect: bool,
    max_next_update: dt.timedelta,
    now: dt.datetime,
    verify_signature: bool = False,
) -> LintReport:
    """Every CRL lint on ``crl``; the signature is checked only with ``verify_signature``."""
    parsed = CRLInput(
        crl,
        issuer_certificate=issuer_certificate,
        expected_idp_url=expected_idp_url,
        indirect=indirect,
        max_next_update=max_next_update,
        now=now,
    )
    results = []
    for lint in CRL_LINTS.values():
        try:
            results.append(lint.check(parsed))
        except Exception as exc:  # a lint must never take the run down with it
            detail = str(exc) or type(exc).__name__
            results.append(LintResult(lint.id, LintStatus.FATAL, f"lint could not run: {detail}"))
    if verify_signature:
        results.append(verify_crl_signature(crl, issuer_certificate))
    return LintReport("indirect_crl" if indirect else "crl", tuple(results))


__all__ = [
    "CRL_LINTS",
    "SIGNATURE_LINT_ID",
    "CRLLint",
    "crl_rules",
    "lint_crl",
    "verify_crl_signature",
]
