"""Shared helpers for the lint tests: lint a kind of test certificate, with one thing changed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509

from ca.issuance.profiles import load_profile
from ca.lint import LintReport, run_lints
from tests.unit.lint.pki import KINDS, NOW, CertSpec, build

Tweak = Callable[[CertSpec], object]


def make(kind: str, tweak: Tweak | None = None) -> x509.Certificate:
    """A certificate of ``kind``, valid unless ``tweak`` changes its spec."""
    spec = KINDS[kind].make_spec()
    if tweak is not None:
        tweak(spec)
    return build(spec)


def lint(
    kind: str,
    cert: x509.Certificate | None = None,
    *,
    issuer: x509.Certificate | str | None = "default",
) -> LintReport:
    """Run the profile of ``kind`` over ``cert`` (default: the valid one) with its usual issuer."""
    chosen = KINDS[kind].issuer() if issuer == "default" else issuer
    assert not isinstance(chosen, str)
    return run_lints(cert or make(kind), load_profile(KINDS[kind].profile), issuer=chosen, now=NOW)


@pytest.fixture
def lint_kind() -> Callable[..., LintReport]:
    return lint
