"""The TN registry: assignments, delegations, transfers, status, authorize() (ATIS-1000089 §5).

The authoritative record of who may use which numbers until when; the policy asks it before
every issuance, and reconciliation revokes what it no longer authorizes.
"""

from ca.registry.authorize import Authorization, EvidenceItem
from ca.registry.posts import GrantRequest, PostResult
from ca.registry.reconcile import Reconciler, ReconcileReport
from ca.registry.service import GrantView, Registry

__all__ = [
    "Authorization",
    "EvidenceItem",
    "GrantRequest",
    "GrantView",
    "PostResult",
    "ReconcileReport",
    "Reconciler",
    "Registry",
]
