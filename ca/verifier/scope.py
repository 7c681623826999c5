"""TNAuthList encompassment along the whole path (RFC 9060 §4, STANDARDS.md §3).

Each certificate that carries a TNAuthList must be encompassed by its issuer's, up to the first CA
that carries none: that CA is an STI-CA, whose authority is not limited to numbers. A parent that
holds an SPC cannot show which numbers it covers, so the numbers its child holds beyond the
parent's own are judged by the SPC-parent policy: ``strict`` refuses them, ``registry`` asks the TN
registry which numbers the SPC holds, ``lenient`` accepts them with a warning.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from ca.tnauth import TNAuthList
from ca.verifier.chain import CertificatePath
from ca.verifier.errors import ScopeError

#: The TN registry's answer for an SPC: the numbers it holds, or None when it knows none.
SPCRegistry = Callable[[str], TNAuthList | None]


class SPCParentPolicy(enum.Enum):
    """How a child's numbers under a parent that holds an SPC are judged (STANDARDS.md §3)."""

    STRICT = "strict"
    REGISTRY = "registry"
    LENIENT = "lenient"


@dataclass(frozen=True)
class ScopeReport:
    """The outcome: the leaf's scope, what kind of signer it is, and the warnings met."""

    leaf: TNAuthList
    kind: str  # "delegate" (numbers) or "sp" (an SPC and no numbers)
    warnings: tuple[str, ...]


def check_path_scope(
    path: CertificatePath, policy: SPCParentPolicy, registry: SPCRegistry | None = None
) -> ScopeReport:
    """Raise ScopeError when a step is not encompassed; return the leaf's scope and kind."""
    certs = (*path.certs, path.anchor)
    warnings: list[str] = []
    for child, parent in itertools.pairwise(certs):
        if child.tn_auth_list is None or parent.tn_auth_list is None:
            break
        outside = _outside(child.tn_auth_list, parent.tn_auth_list, policy, registry)
        if outside is None:
            continue
        if outside:
            raise ScopeError(
                "not-encompassed",
                f"{child.label}'s TNAuthList is not encompassed by {parent.label}'s "
                f"(RFC 9060 §4): {outside}",
            )
        warnings.append(
            f"{child.label}'s numbers are accepted under {parent.label}'s SPC "
            f"({', '.join(sorted(parent.tn_auth_list.spcs))}) by the lenient SPC-parent policy"
        )
    leaf = path.leaf.tn_auth_list
    assert leaf is not None  # inspect() refuses a leaf without one
    return ScopeReport(leaf, "delegate" if leaf.has_numbers else "sp", tuple(warnings))


def _outside(
    child: TNAuthList,
    parent: TNAuthList,
    policy: SPCParentPolicy,
    registry: SPCRegistry | None,
) -> str | None:
    """None when encompassed; "" when accepted with a warning; else what lies outside."""
    if parent.encompasses(child):
        return None
    rest = child.difference(parent)
    if rest.spcs or not parent.spcs:
        return _describe(rest)
    if policy is SPCParentPolicy.STRICT:
        return _describe(rest) + " (the parent's SPC shows no numbers; SPC-parent policy strict)"
    if policy is SPCParentPolicy.LENIENT:
        return ""
    if registry is None:
        return _describe(rest) + " (no TN registry is configured)"
    held = TNAuthList([])
    for spc in sorted(parent.spcs):
        numbers = registry(spc)
        if numbers is not None:
            held = held.union(numbers)
    if held.encompasses(rest):
        return None
    return _describe(rest.difference(held)) + " (not held by the parent's SPC in the TN registry)"


def _describe(scope: TNAuthList, limit: int = 5) -> str:
    parts = scope.describe()
    more = len(parts) - limit
    parts = parts[:limit]
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")
