"""Certificate and CRL lints: one rule per class, each citing its source; profiles select them.

``run_lints(cert, profile)`` checks a certificate against a profile (``ca.issuance.profiles``);
``lint_crl(...)`` checks a CRL. ``LINTS`` and ``CRL_LINTS`` hold every rule by id.
"""

from ca.lint import rules_body, rules_extensions, rules_names, rules_policy, rules_stir
from ca.lint.base import LINTS, Lint, LintReport, LintResult, LintStatus
from ca.lint.crl import CRL_LINTS, CRLLint, lint_crl, verify_crl_signature
from ca.lint.files import iter_certificates, lint_paths
from ca.lint.inputs import LintInput
from ca.lint.runner import run_lints

# The rule modules register their lints on import; naming them here keeps that import explicit.
RULE_MODULES = (rules_body, rules_extensions, rules_names, rules_policy, rules_stir)

__all__ = [
    "CRL_LINTS",
    "LINTS",
    "RULE_MODULES",
    "CRLLint",
    "Lint",
    "LintInput",
    "LintReport",
    "LintResult",
    "LintStatus",
    "iter_certificates",
    "lint_crl",
    "lint_paths",
    "run_lints",
    "verify_crl_signature",
]
