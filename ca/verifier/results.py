"""What verification answers: per Identity value, per call, per signer check (RFC 8224 §6.2).

Each result carries whether it passed, a stable machine ``reason``, the RFC 8224 status with its
reason phrase, the verstat toward the called party (ATIS-1000074 §5.3.1), the attestation, the
signer and a summary of the chain. ``to_json`` gives the form the CLI and the HTTP API print.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ca.verifier.certs import CertFacts
from ca.verifier.errors import FetchError, VerificationError

PASSED = "TN-Validation-Passed"
FAILED = "TN-Validation-Failed"
NO_VALIDATION = "No-TN-Validation"


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat()


@dataclass(frozen=True)
class CertificateSummary:
    """One certificate of the path, as results show it."""

    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    ca: bool
    tn_auth_list: list[dict[str, Any]] | None

    @classmethod
    def of(cls, facts: CertFacts) -> CertificateSummary:
        scope = facts.tn_auth_list
        return cls(
            subject=facts.cert.subject.rfc4514_string(),
            issuer=facts.cert.issuer.rfc4514_string(),
            serial=format(facts.cert.serial_number, "x"),
            not_before=_iso(facts.not_before),
            not_after=_iso(facts.not_after),
            ca=bool(facts.is_ca),
            tn_auth_list=scope.to_json() if scope is not None else None,
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SignerSummary:
    """Who signed: the leaf's subject, whether it is a delegate (numbers) or an SP (SPC) certificate."""

    subject: str
    kind: str
    spc: tuple[str, ...]
    tn_auth_list: list[dict[str, Any]]
    x5u: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "kind": self.kind,
            "spc": list(self.spc),
            "tn_auth_list": self.tn_auth_list,
            "x5u": self.x5u,
        }


def verstat_for(error: VerificationError) -> str:
    """Decision: a repository that could not be reached means no validation was possible."""
    if isinstance(error, FetchError) and error.transient:
        return NO_VALIDATION
    return FAILED


@dataclass(slots=True)
class IdentityResult:
    """The outcome for one Identity header value."""

    valid: bool
    reason: str
    status: int | None
    reason_phrase: str
    detail: str
    verstat: str
    attest: str | None = None
    ppt: str | None = None
    orig: str | None = None
    iat: int | None = None
    signer: SignerSummary | None = None
    chain: tuple[CertificateSummary, ...] = ()
    warnings: tuple[str, ...] = ()

    @classmethod
    def failure(cls, error: VerificationError, **known: Any) -> IdentityResult:
        return cls(
            valid=False,
            reason=error.reason,
            status=error.status,
            reason_phrase=error.reason_phrase,
            detail=error.detail,
            verstat=verstat_for(error),
            **known,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "status": self.status,
            "reason_phrase": self.reason_phrase,
            "detail": self.detail,
            "verstat": self.verstat,
            "attest": self.attest,
            "ppt": self.ppt,
            "orig": self.orig,
            "iat": self.iat,
            "signer": self.signer.to_json() if self.signer else None,
            "chain": [c.to_json() for c in self.chain],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class CallResult:
    """The outcome for a call: it passes when any Identity value passes (RFC 8224 §6.2)."""

    results: tuple[IdentityResult, ...]

    @property
    def valid(self) -> bool:
        return any(r.valid for r in self.results)

    @property
    def decisive(self) -> IdentityResult | None:
        """The first passing result, else the first failure (the order the headers came in)."""
        return next((r for r in self.results if r.valid), self.results[0] if self.results else None)

    @property
    def status(self) -> int | None:
        """None when the call passes; 428 when it carried no Identity value (RFC 8224 §6.2)."""
        decisive = self.decisive
        return 428 if decisive is None else decisive.status

    @property
    def verstat(self) -> str:
        decisive = self.decisive
        return NO_VALIDATION if decisive is None else decisive.verstat

    @property
    def attest(self) -> str | None:
        decisive = self.decisive
        return decisive.attest if decisive is not None and decisive.valid else None

    def to_json(self) -> dict[str, Any]:
        decisive = self.decisive
        return {
            "valid": self.valid,
            "status": self.status,
            "reason_phrase": "Use Identity Header" if decisive is None else decisive.reason_phrase,
            "verstat": self.verstat,
            "attest": self.attest,
            "results": [r.to_json() for r in self.results],
        }


@dataclass
class SignerDecision:
    """The OSP's signer check: trusted, unrevoked, encompassed and covering ``tn``, with evidence."""

    valid: bool
    reason: str
    status: int | None
    detail: str
    tn: str
    checked_at: float
    covers: bool | None = None
    signer: SignerSummary | None = None
    chain: tuple[CertificateSummary, ...] = ()
    crls: tuple[dict[str, Any], ...] = ()
    policies: dict[str, str] | None = None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "status": self.status,
            "detail": self.detail,
            "tn": self.tn,
            "covers": self.covers,
            "signer": self.signer.to_json() if self.signer else None,
            "evidence": {
                "checked_at": _iso(self.checked_at),
                "chain": [c.to_json() for c in self.chain],
                "crls": list(self.crls),
                "policies": self.policies or {},
            },
            "warnings": list(self.warnings),
        }
