"""willing_to_issue(): may this holder get a certificate for this scope, and on what evidence?

After smallstep's sign options: authorization yields constraints (the scope, a notAfter cap) and
the evidence the audit trail keeps; the signer enforces them. The TN registry decides every
issuance; an operator may override it with a reason, which the audit trail keeps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ca.errors import CAError, ErrorKind, malformed
from ca.registry import Registry
from ca.storage.records import Organization
from ca.tnauth import TNAuthList

HOLDER_KINDS = frozenset({"enterprise", "bpo"})


@dataclass(frozen=True)
class Evidence:
    """Why the scope is authorized, for the audit trail, and until when at most."""

    basis: str  # "registry", or "operator" for an audited override
    details: dict[str, Any] = field(default_factory=dict)
    not_after_cap: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"basis": self.basis, **self.details}


class Policy:
    """Decides; never signs and never stores."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def willing_to_issue(
        self, holder: Organization, scope: TNAuthList | None, *, operator_reason: str | None
    ) -> tuple[TNAuthList, Evidence]:
        """The scope to certify and the registry's evidence for it now (``scope`` None: every
        number the holder may use), or the operator's audited override for a named scope."""
        if holder.kind not in HOLDER_KINDS:
            raise CAError(
                ErrorKind.FORBIDDEN,
                f"organization {holder.id} is a {holder.kind}; delegate certificates go to "
                "enterprises and BPOs",
                field="organization",
            )
        if scope is not None:
            check_delegate_scope(scope)
        reason = (operator_reason or "").strip()
        if reason and scope is not None:
            return scope, Evidence(basis="operator", details={"reason": reason})
        authorization = self._registry.authorize_holder(holder, scope)
        return authorization.scope, Evidence(
            basis="registry",
            details=authorization.to_json(),
            not_after_cap=authorization.until,
        )


def check_delegate_scope(scope: TNAuthList) -> None:
    """A delegate certificate lists telephone numbers only (STANDARDS.md §4 delegate profile)."""
    if not scope.has_numbers:
        raise malformed("tns", "name at least one telephone number or range")
    if scope.spcs:
        raise malformed("tns", "a delegate certificate carries numbers only, not an SPC")
