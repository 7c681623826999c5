"""Verification over HTTP: signer checks for OSPs (flow 6), PASSporTs for TSPs (flow 7).

Open by default; ``[verifier] require_key = true`` admits only callers with a valid API key.
The verification context (trust anchors, fetch cache, verified-path cache) is built once per
process and shared by every request, so a warm x5u costs one signature check.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, current_app

from api.auth import optional_principal, principal, services
from api.body import json_body
from ca.verifier import VerificationContext
from ca.verifier.api import verify_identity_request, verify_signer_request

verify = Blueprint("verify", __name__, url_prefix="/v1/verify")
_EXTENSION = "delegato.verification"
_lock = threading.Lock()


def context() -> VerificationContext:
    found = current_app.extensions.get(_EXTENSION)
    if found is None:
        with _lock:
            found = current_app.extensions.get(_EXTENSION)
            if found is None:
                found = _build_context()
                current_app.extensions[_EXTENSION] = found
    return found


def _build_context() -> VerificationContext:
    svc = services()
    settings = svc.config.verifier
    return VerificationContext.from_files(
        svc.config.trust_path,
        allow_hosts=svc.config.verifier_allow_hosts,
        trust_list_key=(
            svc.config.home / settings.trust_list_key if settings.trust_list_key else None
        ),
        clock=svc.clock,
        crl_policy=settings.crl_policy,
        spc_parent_policy=settings.spc_parent_policy,
        spc_registry=svc.registry.spc_scope if settings.spc_parent_policy == "registry" else None,
    )


def _admit() -> None:
    if services().config.verifier.require_key:
        principal()
    else:
        optional_principal()  # a key that is sent must still be valid


@verify.post("/identity")
def identity() -> Any:
    _admit()
    return verify_identity_request(context(), json_body("VerifyIdentityRequest"))


@verify.post("/signer")
def signer() -> Any:
    _admit()
    return verify_signer_request(context(), json_body("VerifySignerRequest"))
