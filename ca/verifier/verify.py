"""Verifying Identity header values and signers (RFC 8224 §6.2, RFC 8588, RFC 9060).

The per-call work, in order: parse the Identity value and the PASSporT, check the header against
the Identity parameters, check freshness (cheap failures before any fetch), check the claims
against the SIP From/To, get the verified path for the x5u (cached), verify the ES256 signature
over the received bytes, enforce the leaf's claim constraints, and check that the leaf's
TNAuthList covers ``orig`` — or report an SPC-only SP certificate as such.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.exceptions import InvalidSignature

from ca.errors import CAError, malformed
from ca.tnauth import normalize_tn
from ca.verifier.context import VerificationContext
from ca.verifier.errors import IdentityHeaderError, PassportError, VerificationError
from ca.verifier.identity import parse_identity, sip_tn
from ca.verifier.jws import ES256, der_signature
from ca.verifier.passport import (
    PPTS,
    check_claims,
    check_date,
    check_freshness,
    parse_passport,
)
from ca.verifier.paths import path_for_chain, path_for_x5u
from ca.verifier.results import PASSED, CallResult, IdentityResult, SignerDecision


def _sip(value: str, what: str) -> str:
    tn = sip_tn(value)
    if tn is None:
        raise PassportError(f"{what}-mismatch", f"the SIP {what} holds no telephone number")
    return tn


def verify_identity(
    context: VerificationContext,
    value: str,
    *,
    orig: str | None = None,
    dest: str | None = None,
    date: str | None = None,
) -> IdentityResult:
    """Verify one Identity header value; never raises for bad input, returns the failure."""
    moment = context.now()
    # What is known so far goes into a failure result; plain locals keep the warm path lean.
    ppt = attest = orig_tn = iat = path = None
    try:
        header = parse_identity(value)
        passport = parse_passport(header.jws)
        claims, fields, params = passport.claims, passport.header, header.params
        ppt, attest = fields.ppt, claims.get("attest")
        if params.info != fields.x5u or params.ppt != ppt or params.alg not in (None, "ES256"):
            _check_parameters(params.info, params.alg, params.ppt, fields.x5u, ppt)
        iat = check_freshness(claims.get("iat"), moment, context.window)
        if date is not None:
            check_date(date, moment, context.window)
        from_tn = (
            orig if orig is None or (orig.isascii() and orig.isdigit() and len(orig) <= 15) else _sip(orig, "from")
        )
        to_tn = dest if dest is None or (dest.isascii() and dest.isdigit() and len(dest) <= 15) else _sip(dest, "to")
        orig_tn = check_claims(claims, ppt, from_tn, to_tn)
        path = path_for_x5u(context, fields.x5u, moment)
        try:
            path.key.verify(der_signature(passport.signature), passport.signing_input, ES256)
        except InvalidSignature:
            raise PassportError("bad-signature", "the PASSporT signature does not verify") from None
        if path.constraints is not None:
            try:
                path.constraints.check(claims)
            except CAError as error:
                raise PassportError("claim-constraints", error.detail) from None
        if path.kind != "sp" and not path.covers(orig_tn):
            raise PassportError(
                "orig-not-in-scope", f"the signer's TNAuthList does not cover orig {orig_tn}"
            )
    except VerificationError as error:
        return IdentityResult.failure(
            error,
            attest=attest if type(attest) is str else None,
            ppt=ppt,
            orig=orig_tn,
            iat=iat,
            signer=path.signer if path is not None else None,
            chain=path.chain if path is not None else (),
        )
    return IdentityResult(
        True, "ok", None, "", "verified", PASSED, attest, ppt, orig_tn, iat,
        path.signer, path.chain, path.warnings,
    )  # fmt: skip


def _check_parameters(
    info: str | None, alg: str | None, param_ppt: str | None, x5u: str, ppt: str | None
) -> None:
    """The Identity parameters agree with the PASSporT header (RFC 8224 §4.1, RFC 8588 §5)."""
    if info is None:
        raise IdentityHeaderError("info-missing", "the Identity value has no info", status=436)
    if info != x5u:
        raise IdentityHeaderError(
            "info-mismatch", f"info <{info}> is not the PASSporT's x5u {x5u}", status=436
        )
    if alg is not None and alg != "ES256":
        raise IdentityHeaderError("unsupported-alg", f"alg={alg} is not ES256", status=437)
    if param_ppt != ppt:
        if param_ppt is not None and param_ppt not in PPTS:
            raise PassportError("unsupported-ppt", f"ppt={param_ppt} is not supported", status=428)
        raise IdentityHeaderError(
            "ppt-mismatch", f"the Identity ppt {param_ppt!r} is not the PASSporT's {ppt!r}"
        )


def verify_call(
    context: VerificationContext,
    values: Iterable[str],
    *,
    orig: str | None = None,
    dest: str | None = None,
    date: str | None = None,
) -> CallResult:
    """Every Identity value of one call; the call passes if any passes (RFC 8224 §6.2)."""
    return CallResult(
        tuple(verify_identity(context, v, orig=orig, dest=dest, date=date) for v in values)
    )


def verify_signer(
    context: VerificationContext,
    tn: str,
    *,
    x5u: str | None = None,
    chain: bytes | None = None,
) -> SignerDecision:
    """The OSP's question before attesting A: may this signer present ``tn`` now? (flow 6)."""
    moment = context.now()
    number = normalize_tn(tn, "tn")
    policies = {
        "crl": context.crl_policy.value,
        "spc_parent": context.spc_parent_policy.value,
        "lenient_tn_auth_list": str(context.lenient_tn_auth_list).lower(),
    }
    if (x5u is None) == (chain is None):
        raise malformed("x5u", "give either an x5u or a chain, not both")
    try:
        if x5u is not None:
            path = path_for_x5u(context, x5u, moment)
        else:
            path = path_for_chain(context, chain or b"", moment)
    except VerificationError as error:
        return SignerDecision(
            False, error.reason, error.status, error.detail, number, moment, policies=policies
        )
    covers = path.scope.covers(number) if path.kind == "delegate" else None
    if covers:
        reason, detail = "ok", f"the signer may present {number}"
    elif covers is None:
        reason, detail = "spc-only", "an SP certificate (SPC only) shows no numbers to check"
    else:
        reason, detail = "tn-not-covered", f"the signer's TNAuthList does not cover {number}"
    return SignerDecision(
        valid=bool(covers),
        reason=reason,
        status=None if covers else 438,
        detail=detail,
        tn=number,
        checked_at=moment,
        covers=covers,
        signer=path.signer,
        chain=path.chain,
        crls=tuple(c.to_json() for c in path.crls),
        policies=policies,
        warnings=path.warnings,
    )
