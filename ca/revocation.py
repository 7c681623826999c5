"""Revocation reasons (RFC 5280 §5.3.1) and who may give them."""

from __future__ import annotations

import enum
import re

from cryptography import x509

from ca.errors import malformed


class RevocationReason(enum.Enum):
    """The CRLReason values Delegato uses; certificateHold is never used (short-lived certificates)."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "keyCompromise"
    CA_COMPROMISE = "cACompromise"
    AFFILIATION_CHANGED = "affiliationChanged"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessationOfOperation"
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn"

    @property
    def flag(self) -> x509.ReasonFlags:
        return _FLAGS[self]

    @classmethod
    def parse(cls, text: str, field: str = "reason") -> RevocationReason:
        """Accept ``keyCompromise``, ``key_compromise`` or ``key-compromise`` (any case)."""
        key = re.sub(r"[_\-\s]", "", str(text)).lower()
        for reason in cls:
            if reason.value.lower() == key:
                return reason
        allowed = ", ".join(reason.value for reason in cls)
        raise malformed(field, f"{text!r} is not a revocation reason; use one of: {allowed}")


_FLAGS = {
    RevocationReason.UNSPECIFIED: x509.ReasonFlags.unspecified,
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.CA_COMPROMISE: x509.ReasonFlags.ca_compromise,
    RevocationReason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
    RevocationReason.PRIVILEGE_WITHDRAWN: x509.ReasonFlags.privilege_withdrawn,
}

#: A holder may say its key leaked or that it stopped using the certificate; withdrawing a
#: privilege or declaring a CA compromise is the operator's word (after boulder's RA rules).
HOLDER_REASONS = frozenset(
    {
        RevocationReason.UNSPECIFIED,
        RevocationReason.KEY_COMPROMISE,
        RevocationReason.SUPERSEDED,
        RevocationReason.CESSATION_OF_OPERATION,
        RevocationReason.AFFILIATION_CHANGED,
    }
)
OPERATOR_REASONS = frozenset(RevocationReason)


def may_use(reason: RevocationReason, *, operator: bool) -> bool:
    return reason in (OPERATOR_REASONS if operator else HOLDER_REASONS)
