"""Verified paths: x5u bytes -> a checked signer, cached until something about it can change.

The cold path, step by step: parse the PEM chain, build and check the path to an anchor (RFC 5280
§6.1), check validity now, check the CRLs under the CRL policy (RFC 5280 §6.3), check TNAuthList
encompassment under the SPC-parent policy (RFC 9060 §4). The result is cached by x5u (or chain
bytes) until the earliest notAfter or CRL nextUpdate and while the anchors stay the same, so a
warm verification costs one dictionary look-up before the signature check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from ca.tnauth import TNAuthList
from ca.verifier.certs import Constraints
from ca.verifier.chain import build_path, check_validity, parse_chain
from ca.verifier.context import CRLPolicy, VerificationContext
from ca.verifier.crl import CRL_REFRESH, CheckedCRL
from ca.verifier.errors import CRLError, FetchError
from ca.verifier.results import CertificateSummary, SignerSummary
from ca.verifier.scope import SPCParentPolicy, check_path_scope
from ca.verifier.trust import Anchors

#: Registry answers change; a path judged with them is checked again after this many seconds.
REGISTRY_RECHECK = 300.0
#: Verified paths kept per context.
MAX_PATHS = 20_000


@dataclass(frozen=True, slots=True)
class VerifiedPath:
    """A signer whose path checked out, and the window in which that answer holds."""

    body: bytes
    key: ec.EllipticCurvePublicKey
    scope: TNAuthList
    kind: str
    constraints: Constraints | None
    signer: SignerSummary
    chain: tuple[CertificateSummary, ...]
    crls: tuple[CheckedCRL, ...]
    warnings: tuple[str, ...]
    valid_from: float
    valid_until: float
    not_after: float
    generation: int
    #: orig -> covered, remembered: the same callers present the same numbers again and again.
    covered: dict[str | None, bool] = field(default_factory=dict)

    def covers(self, orig_tn: str | None) -> bool:
        """The leaf's TNAuthList covers orig, or its SPC vouches for it (RFC 8226 §9)."""
        answer = self.covered.get(orig_tn)
        if answer is None:
            answer = orig_tn is not None and self.scope.covers(orig_tn)
            # A leaf with an SPC besides its numbers vouches for the SP's other numbers too.
            answer = answer or bool(self.scope.spcs)
            if len(self.covered) >= 4096:
                self.covered.clear()
            self.covered[orig_tn] = answer
        return answer


def path_for_x5u(context: VerificationContext, x5u: str, moment: float) -> VerifiedPath:
    """The verified path behind ``x5u`` at ``moment``; raises VerificationError subclasses."""
    body = context.fetcher.fetch(x5u, "x5u")
    anchors = context.trust.snapshot()
    cached = context.paths.get(x5u)
    if (
        type(cached) is VerifiedPath
        and (cached.body is body or cached.body == body)
        and cached.generation == anchors.generation
        and cached.valid_from <= moment <= cached.valid_until
    ):
        return cached
    verified = validate_chain(context, body, anchors, moment, x5u)
    _remember(context, x5u, verified, moment)
    # ATIS-1000074 §5.3.1: the x5u stays cached at least 24 h, but never past the notAfter.
    context.limit(x5u, verified.not_after)
    return verified


def path_for_chain(context: VerificationContext, body: bytes, moment: float) -> VerifiedPath:
    """The verified path of a chain given directly (the signer check), cached by its bytes."""
    anchors = context.trust.snapshot()
    cached = context.paths.get(body)
    if (
        type(cached) is VerifiedPath
        and cached.generation == anchors.generation
        and cached.valid_from <= moment <= cached.valid_until
    ):
        return cached
    verified = validate_chain(context, body, anchors, moment, None)
    _remember(context, body, verified, moment)
    return verified


def _remember(context: VerificationContext, key: object, path: VerifiedPath, moment: float) -> None:
    """Cache a verified path; short-lived certificates mean many x5u, so the cache is bounded."""
    with context.lock:
        paths = context.paths
        if len(paths) >= MAX_PATHS:
            for stale in [k for k, p in paths.items() if p.valid_until < moment]:
                del paths[stale]
            if len(paths) >= MAX_PATHS:
                paths.clear()
        paths[key] = path


def validate_chain(
    context: VerificationContext, body: bytes, anchors: Anchors, moment: float, x5u: str | None
) -> VerifiedPath:
    """The cold path: every check on the chain, in RFC 5280 §6.1 order, then RFC 9060 §4."""
    # 1. Parse the chain, build the path to an anchor and check each link and certificate.
    path = build_path(parse_chain(body), anchors, lenient=context.lenient_tn_auth_list)
    # 2. Every certificate is valid now.
    check_validity(path, moment)
    warnings = [w for facts in path.certs for w in facts.warnings] + list(path.warnings)
    valid_from, valid_until = path.valid_from, min(path.valid_until, moment + CRL_REFRESH)
    # 3. Revocation, under the CRL policy; a revoked certificate fails under every policy.
    crls: tuple[CheckedCRL, ...] = ()
    if context.crl_policy is not CRLPolicy.OFF:
        try:
            crls = tuple(context.crls.check(path, anchors, moment))
        except (CRLError, FetchError) as error:
            if context.crl_policy is CRLPolicy.REQUIRE:
                if isinstance(error, FetchError):
                    raise CRLError("crl-unavailable", f"CRL: {error.detail}") from None
                raise
            warnings.append(f"revocation not checked (CRL policy best-effort): {error.detail}")
            valid_until = min(valid_until, moment + context.retry_after)
        for crl in crls:
            valid_from = max(valid_from, crl.this_update)
            valid_until = min(valid_until, crl.next_update)
    # 4. TNAuthList encompassment along the path, under the SPC-parent policy.
    report = check_path_scope(path, context.spc_parent_policy, context.spc_registry)
    warnings.extend(report.warnings)
    if context.spc_parent_policy is SPCParentPolicy.REGISTRY:
        valid_until = min(valid_until, moment + REGISTRY_RECHECK)
    leaf = path.leaf
    key = leaf.cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)  # inspect() admits P-256 leaves only
    chain = tuple(CertificateSummary.of(c) for c in (*path.certs, path.anchor))
    signer = SignerSummary(
        subject=leaf.cert.subject.rfc4514_string(),
        kind=report.kind,
        spc=tuple(sorted(report.leaf.spcs)),
        tn_auth_list=report.leaf.to_json(),
        x5u=x5u,
    )
    return VerifiedPath(
        body=body,
        key=key,
        scope=report.leaf,
        kind=report.kind,
        constraints=leaf.constraints,
        signer=signer,
        chain=chain,
        crls=crls,
        warnings=tuple(warnings),
        valid_from=valid_from,
        valid_until=valid_until,
        not_after=leaf.not_after,
        generation=anchors.generation,
    )
