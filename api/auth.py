"""Bearer API keys: who is calling, with which role, acting for which organization.

Keys are checked on every request against their SHA-256 (ca/apikeys.py); the token itself is
never logged or echoed. A route names the roles it admits; ownership of the object is checked by
the domain, which is given the caller's organization.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from ca.apikeys import Principal
from ca.errors import CAError, ErrorKind
from ca.services import Services

F = TypeVar("F", bound=Callable[..., Any])

OPERATOR = "operator"


def services() -> Services:
    return current_app.extensions["delegato"]


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CAError(
            ErrorKind.UNAUTHORIZED,
            "send an API key as 'Authorization: Bearer dlg_...'",
            field="authorization",
        )
    return token.strip()


def principal() -> Principal:
    """The authenticated caller of this request (authenticating on first use)."""
    found = g.get("principal")
    if found is None:
        found = services().api_keys.authenticate(_bearer())
        g.principal = found
    return found


def optional_principal() -> Principal | None:
    """The caller if it sent a key (which must then be valid), else None."""
    if "Authorization" not in request.headers:
        return None
    return principal()


def requires(*roles: str) -> Callable[[F], F]:
    """Admit keys with one of ``roles``; operators are admitted wherever they are listed."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            caller = principal()
            if caller.role not in roles:
                raise CAError(
                    ErrorKind.FORBIDDEN,
                    f"a {caller.role} key may not call this endpoint; it takes "
                    + " or ".join(roles),
                    field="authorization",
                )
            return view(*args, **kwargs)

        guarded.roles = roles  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def actor() -> str:
    """Who is acting, for the audit trail: the organization and the key (never the secret)."""
    caller = principal()
    return f"{caller.organization.id}/{caller.key.id}"


def acting_for(requested: str | None, field: str) -> str:
    """The organization a request acts for: the caller's own, or any one an operator names."""
    caller = principal()
    if caller.is_operator:
        if not requested:
            raise CAError(
                ErrorKind.MALFORMED, "an operator names the organization it acts for", field=field
            )
        return requested
    if requested and requested != caller.organization.id:
        raise CAError(
            ErrorKind.FORBIDDEN,
            f"a {caller.role} key acts only for its own organization {caller.organization.id}",
            field=field,
        )
    return caller.organization.id
