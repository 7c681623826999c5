"""The companion verifier: PASSporTs, Identity headers, chains to approved STI-CAs, CRLs, RFC 9060.

Everything outside this package imports from here; the modules behind it may move.
"""

from ca.verifier.api import verify_identity_request, verify_signer_request
from ca.verifier.cache import HTTPFetcher
from ca.verifier.context import CRLPolicy, Fetcher, VerificationContext
from ca.verifier.errors import VerificationError
from ca.verifier.fetch import FetchPolicy
from ca.verifier.results import CallResult, IdentityResult, SignerDecision
from ca.verifier.scope import SPCParentPolicy
from ca.verifier.signing import load_signing_key, sign_identity, sign_passport
from ca.verifier.trust import TrustStore
from ca.verifier.verify import verify_call, verify_identity, verify_signer

__all__ = [
    "CRLPolicy",
    "CallResult",
    "FetchPolicy",
    "Fetcher",
    "HTTPFetcher",
    "IdentityResult",
    "SPCParentPolicy",
    "SignerDecision",
    "TrustStore",
    "VerificationContext",
    "VerificationError",
    "load_signing_key",
    "sign_identity",
    "sign_passport",
    "verify_call",
    "verify_identity",
    "verify_identity_request",
    "verify_signer",
    "verify_signer_request",
]
