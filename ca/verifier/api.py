"""JSON in, JSON out: what ``POST /v1/verify/identity`` and ``POST /v1/verify/signer`` will call.

A malformed request raises ``CAError(MALFORMED)`` naming the field (the API turns it into a
problem document); a request that is well formed but fails verification returns a result with
``valid: false``. ARCHITECTURE.md "Interfaces".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ca.errors import malformed
from ca.verifier.context import VerificationContext
from ca.verifier.identity import MAX_LENGTH
from ca.verifier.verify import verify_call, verify_signer

#: A SIP request carries a handful of Identity headers; a batch is capped to keep calls bounded.
MAX_IDENTITIES = 20
_IDENTITY_FIELDS = frozenset({"identity", "from", "to", "date"})
_SIGNER_FIELDS = frozenset({"x5u", "chain", "tn"})


def _check_body(request: object, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(request, Mapping):
        raise malformed("body", "the request body must be a JSON object")
    unknown = sorted(set(request) - allowed)
    if unknown:
        raise malformed(unknown[0], f"unknown field; expected {', '.join(sorted(allowed))}")
    return request


def _optional_text(request: Mapping[str, Any], name: str, limit: int = 2048) -> str | None:
    value = request.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise malformed(name, f"must be a non-empty string of at most {limit} characters")
    return value


def verify_identity_request(context: VerificationContext, request: object) -> dict[str, Any]:
    """``{"identity": str | [str], "from"?, "to"?, "date"?}`` -> ``{"valid", "results", ...}``."""
    body = _check_body(request, _IDENTITY_FIELDS)
    identities = body.get("identity")
    if isinstance(identities, str):
        identities = [identities]
    if not isinstance(identities, list) or len(identities) > MAX_IDENTITIES:
        raise malformed("identity", f"an Identity value or a list of at most {MAX_IDENTITIES}")
    for index, value in enumerate(identities):
        if not isinstance(value, str) or len(value) > MAX_LENGTH:
            raise malformed(f"identity[{index}]", f"a string of at most {MAX_LENGTH} characters")
    result = verify_call(
        context,
        identities,
        orig=_optional_text(body, "from"),
        dest=_optional_text(body, "to"),
        date=_optional_text(body, "date"),
    )
    return result.to_json()


def verify_signer_request(context: VerificationContext, request: object) -> dict[str, Any]:
    """``{"x5u": url | "chain": pem, "tn": number}`` -> decision with evidence (flow 6)."""
    body = _check_body(request, _SIGNER_FIELDS)
    tn = _optional_text(body, "tn", 64)
    if tn is None:
        raise malformed("tn", "the number to check is required")
    x5u = _optional_text(body, "x5u")
    chain = _optional_text(body, "chain", 64 * 1024)
    if (x5u is None) == (chain is None):
        raise malformed("x5u", "give exactly one of x5u and chain")
    chain_bytes = None
    if chain is not None:
        if not chain.isascii():
            raise malformed("chain", "a PEM chain is ASCII text")
        chain_bytes = chain.encode("ascii")
    return verify_signer(context, tn, x5u=x5u, chain=chain_bytes).to_json()
