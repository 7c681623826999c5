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


def _fatal(lint: Lint, exc: Exception) -> LintResult:
    """An exception inside a lint becomes a FATAL result carrying the message."""
    detail = str(exc) or type(exc).__name__
    return LintResult(lint.id, LintStatus.FATAL, f"lint could not run: {detail}")


def run_lints(
    cert: x509.Certificate,
    profile: Profile,
    *,
    issuer: x509.Certificate | None = None,
    now: dt.datetime | None = None,
    der: bytes | None = None,
) -> LintReport:
    """Every lint ``profile`` lists, on ``cert``; ``issuer`` enables the chaining lints.

    ``der`` is ``cert``'s DER when the caller already has it (saves encoding it again).
    """
    parsed = LintInput(cert, issuer=issuer, now=now, der=der)
    results = []
    for lint in _lints_for(profile):
        try:
            results.append(lint.check(parsed, profile))
        except Exception as exc:  # a lint must never take the run down with it
            results.append(_fatal(lint, exc))
    return LintReport(profile.name, tuple(results))
