"""Run a profile's lints over one certificate; never raises, whatever the certificate holds."""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from ca.issuance.profiles import Profile
from ca.lint.base import LINTS, Lint, LintReport, LintResult, LintStatus
from ca.lint.inputs import LintInput

# Lint objects per profile lint list, resolved once: profiles are immutable and few.
_RESOLVED: dict[tuple[str, ...], tuple[Lint, ...]] = {}


def _lints_for(profile: Profile) -> tuple[Lint, ...]:
    lints = _RESOLVED.get(profile.lints)
    if lints is None:
        lints = _RESOLVED[profile.lints] = tuple(LINTS[lint_id] for lint_id in profile.lints)
    return lints


def run_lint(lint: Lint, parsed: LintInput, profile: Profile) -> LintResult:
    """One lint; an exception inside it becomes a FATAL result carrying the message."""
    try:
        return lint.check(parsed, profile)
    except Exception as exc:  # a lint must never take the run down with it
        detail = str(exc) or type(exc).__name__
        return LintResult(lint.id, LintStatus.FATAL, f"lint could not run: {detail}")


def run_lints(
    cert: x509.Certificate,
    profile: Profile,
    *,
    issuer: x509.Certificate | None = None,
    now: dt.datetime | None = None,
) -> LintReport:
    """Every lint ``profile`` lists, on ``cert``; ``issuer`` enables the chaining lints."""
    parsed = LintInput(cert, issuer=issuer, now=now)
    return LintReport(
        profile.name, tuple(run_lint(lint, parsed, profile) for lint in _lints_for(profile))
    )
