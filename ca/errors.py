"""The one error type that upper layers branch on.

After letsencrypt/boulder ``errors/errors.go``: the domain raises ``CAError`` with a closed
``ErrorKind``; only ``api/problems.py`` turns kinds into HTTP statuses, and only the CLI turns them
into exit codes. ``detail`` is safe to show to the caller: it never carries secrets.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class ErrorKind(enum.Enum):
    """Closed set of failure kinds; the value is the stable problem-type slug."""

    MALFORMED = "malformed"  # input fails a syntax or value rule
    BAD_CSR = "bad-csr"  # CSR unparsable, bad signature, or wrong key type
    BAD_PUBLIC_KEY = "bad-public-key"  # key type or curve not allowed
    TN_NOT_AUTHORIZED = "tn-not-authorized"  # registry does not authorize part of the scope
    OUT_OF_ISSUER_SCOPE = "out-of-issuer-scope"  # scope not encompassed by issuer (RFC 9060)
    NOT_FOUND = "not-found"
    CONFLICT = "conflict"  # state conflict (already revoked, overlapping holder, ...)
    UNAUTHORIZED = "unauthorized"  # no or bad credentials
    FORBIDDEN = "forbidden"  # credentials fine, action not allowed for this role/owner
    LINT_FAILED = "lint-failed"  # the lint copy failed a rule: nothing was signed
    CONFIGURATION = "configuration"  # configuration or home directory is unusable
    KEY_UNAVAILABLE = "key-unavailable"  # key cannot be loaded or does not match
    INTERNAL = "internal"  # a bug or an invariant violation; details stay in the logs


@dataclass(frozen=True)
class SubProblem:
    """One part of a compound error, e.g. one uncovered range (RFC 9457 style sub-problem)."""

    detail: str
    field: str | None = None
    value: str | None = None


class CAError(Exception):
    """A domain failure with a kind, a caller-safe detail and optionally the offending field."""

    def __init__(
        self,
        kind: ErrorKind,
        detail: str,
        *,
        field: str | None = None,
        subproblems: Iterable[SubProblem] = (),
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.field = field
        self.subproblems = tuple(subproblems)

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else self.detail

    def __repr__(self) -> str:
        return f"CAError({self.kind.name}, {self.detail!r}, field={self.field!r})"


def malformed(field: str, detail: str) -> CAError:
    """Shorthand for the commonest error: ``field`` breaks ``detail``'s rule."""
    return CAError(ErrorKind.MALFORMED, detail, field=field)
