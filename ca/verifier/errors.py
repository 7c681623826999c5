"""Why a verification failed: a precise error per stage, each with its RFC 8224 status.

After pyhanko-certvalidator ``errors.py``: verification raises, and only the result layer turns an
error into the public answer (status, verstat). ``reason`` is a stable machine slug; ``detail`` is
safe to show to the caller. Statuses follow RFC 8224 §6.2 and STANDARDS.md §6.
"""

from __future__ import annotations

from typing import ClassVar

#: RFC 8224 §13.2 reason phrases (428 also has RFC 8224 §6.2.4's "Use Supported PASSporT Format").
REASON_PHRASES = {
    403: "Stale Date",
    428: "Use Identity Header",
    436: "Bad Identity Info",
    437: "Unsupported Credential",
    438: "Invalid Identity Header",
}


class VerificationError(Exception):
    """A verification failure: ``reason`` (slug), ``detail`` (text), ``status`` (RFC 8224)."""

    status: ClassVar[int] = 438

    def __init__(self, reason: str, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        if status is not None:
            self.status = status  # type: ignore[misc]

    @property
    def reason_phrase(self) -> str:
        if self.status == 428 and self.reason == "unsupported-ppt":
            return "Use Supported PASSporT Format"
        return REASON_PHRASES.get(self.status, "")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, {self.detail!r}, status={self.status})"


class IdentityHeaderError(VerificationError):
    """The Identity header value is unusable (RFC 8224 §4.1): syntax 438, info problems 436."""

    status = 438


class FetchError(VerificationError):
    """The x5u or a CRL could not be fetched under the repository rules (STANDARDS.md §5)."""

    status = 436

    def __init__(self, reason: str, detail: str, *, transient: bool = True) -> None:
        super().__init__(reason, detail)
        #: True for network failures (time-outs, refused connections) that may heal by themselves.
        self.transient = transient


class PassportError(VerificationError):
    """The PASSporT breaks RFC 8225 / RFC 8588 or does not match the SIP request: 438."""

    status = 438


class StaleError(VerificationError):
    """``iat`` or the SIP Date lies outside the freshness window (RFC 8224 §6.2.2): 403."""

    status = 403


class CredentialError(VerificationError):
    """The signer's certificate path cannot be trusted (RFC 8224 §6.2.2): 437."""

    status = 437


class PathError(CredentialError):
    """A certificate or link of the path breaks RFC 5280 §6.1 or the SHAKEN profile."""


class RevokedError(CredentialError):
    """A certificate of the path is on its issuer's CRL (RFC 5280 §6.3)."""


class CRLError(CredentialError):
    """A CRL needed under the CRL policy is unavailable, stale or invalid (RFC 5280 §6.3)."""


class ScopeError(CredentialError):
    """A TNAuthList is missing, malformed or not encompassed by its parent's (RFC 9060 §4)."""


class ChainFormatError(VerificationError):
    """The x5u resource is not a PEM certificate chain (RFC 9060 §7): 436 Bad Identity Info."""

    status = 436
