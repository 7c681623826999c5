"""The OpenAPI 3.1 document served at ``/openapi.json``, and the schemas request bodies obey.

Written once, here: handlers validate bodies against these component schemas (api/body.py), and
the test suite validates the document and runs schemathesis against the live app, so the
description and the implementation stay one thing.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from api.schemas import ID_SCHEMA, SCHEMAS, TN_SCHEMA, ref

DOCUMENT_URI = "urn:delegato:openapi"
VERSION = "1.0.0"

_PROBLEM_CONTENT = {"application/problem+json": {"schema": ref("Problem")}}
_PROBLEMS = {
    "400": "the request breaks a rule (the problem names the field)",
    "401": "no valid API key",
    "403": "the key's role or organization may not do this",
    "404": "no such object (or it belongs to another organization)",
    "409": "conflicts with the current state",
    "413": "the body is larger than the server accepts",
    "415": "the body is not application/json",
}


def _problems(*codes: str) -> dict[str, Any]:
    return {code: {"description": _PROBLEMS[code], "content": _PROBLEM_CONTENT} for code in codes}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def _op(
    summary: str,
    tag: str,
    responses: dict[str, Any],
    *,
    roles: tuple[str, ...] | None,
    body: str | None = None,
    parameters: list[dict[str, Any]] | None = None,
    problems: tuple[str, ...] = (),
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": dict(responses)}
    if roles is not None:
        operation["description"] = "Roles: " + ", ".join(roles)
        operation["security"] = [{"apiKey": []}]
        problems = ("401", "403", *problems)
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(body)}},
        }
        problems = ("400", "413", "415", *problems)
    if parameters:
        operation["parameters"] = parameters
    operation["responses"].update(_problems(*sorted(set(problems))))
    return operation


def _path_param(name: str, description: str, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "pattern": pattern or ID_SCHEMA["pattern"]}
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


_ASSIGNMENT_ID = _path_param("id", "assignment id (asg-...)")
_DELEGATION_ID = _path_param("id", "delegation id (dlg-...)")
_SERIAL = _path_param("serial", "certificate serial, lower-case hex", "^[0-9a-fA-F:]{1,64}$")
_REASON_QUERY = _query("reason", {"type": "string", "minLength": 1, "maxLength": 40})
_PEM_RESPONSE = {
    "description": "PEM certificate chain, leaf first, root omitted",
    "headers": {"Cache-Control": {"schema": {"type": "string"}}},
    "content": {"application/pem-certificate-chain": {"schema": {"type": "string"}}},
}


def _paths() -> dict[str, Any]:
    registry_roles = ("tn_authority", "operator")
    holders = ("enterprise", "bpo", "operator")
    return {
        "/v1/organizations": {
            "post": _op(
                "Onboard an organization",
                "operator",
                {"201": _json("Organization", "created")},
                roles=("operator",),
                body="OrganizationRequest",
            )
        },
        "/v1/organizations/{id}/keys": {
            "post": _op(
                "Create an API key (shown once)",
                "operator",
                {"201": _json("KeyCreated", "created")},
                roles=("operator",),
                body="KeyRequest",
                parameters=[_path_param("id", "organization id")],
                problems=("404",),
            )
        },
        "/v1/assignments": {
            "post": _op(
                "Assign numbers to an enterprise (CTND POST)",
                "registry",
                {"201": _json("Grant", "posted"), "200": _json("Grant", "already posted")},
                roles=registry_roles,
                body="AssignmentRequest",
                problems=("404", "409"),
            )
        },
        "/v1/assignments/transfer": {
            "post": _op(
                "Port numbers between TN authorities (use case 9)",
                "registry",
                {"201": _json("Transfer", "moved")},
                roles=registry_roles,
                body="TransferRequest",
                problems=("404", "409"),
            )
        },
        "/v1/assignments/{id}": {
            "get": _op(
                "One assignment",
                "registry",
                {"200": _json("Grant", "the assignment and its numbers in force")},
                roles=("tn_authority", "enterprise", "operator"),
                parameters=[_ASSIGNMENT_ID],
                problems=("404",),
            ),
            "delete": _op(
                "End an assignment with a reason",
                "registry",
                {"200": _json("Grant", "ended")},
                roles=registry_roles,
                parameters=[_ASSIGNMENT_ID, _REASON_QUERY],
                problems=("400", "404", "409"),
            ),
        },
        "/v1/tn-status": {
            "get": _op(
                "Signed status of a number (CTND GET)",
                "registry",
                {"200": _json("TNStatus", "signed status")},
                roles=("tn_authority", "operator", "verifier"),
                parameters=[
                    _query("tn", TN_SCHEMA, required=True),
                    _query("enterprise", ID_SCHEMA),
                ],
                problems=("400", "404"),
            )
        },
        "/v1/delegations": {
            "post": _op(
                "Delegate numbers to a BPO until a campaign ends (use case 8)",
                "registry",
                {"201": _json("Grant", "posted"), "200": _json("Grant", "already posted")},
                roles=("enterprise", "operator"),
                body="DelegationRequest",
                problems=("404", "409"),
            )
        },
        "/v1/delegations/{id}": {
            "get": _op(
                "One delegation",
                "registry",
                {"200": _json("Grant", "the delegation and its numbers in force")},
                roles=("enterprise", "bpo", "operator"),
                parameters=[_DELEGATION_ID],
                problems=("404",),
            ),
            "delete": _op(
                "End a delegation",
                "registry",
                {"200": _json("Grant", "ended")},
                roles=("enterprise", "operator"),
                parameters=[_DELEGATION_ID, _REASON_QUERY],
                problems=("400", "404", "409"),
            ),
        },
        "/v1/certificates": {
            "post": _op(
                "Issue a delegate certificate for authorized numbers",
                "certificates",
                {"201": _json("Certificate", "issued")},
                roles=holders,
                body="CertificateRequest",
                problems=("404",),
            ),
            "get": _op(
                "The caller's certificates, newest first",
                "certificates",
                {"200": _json("CertificateList", "a page")},
                roles=holders,
                parameters=[
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                    _query("before", {"type": "string", "pattern": "^[0-9a-f]{1,40}$"}),
                    _query("organization", ID_SCHEMA),
                ],
                problems=("400", "404"),
            ),
        },
        "/v1/certificates/{serial}": {
            "get": _op(
                "One certificate",
                "certificates",
                {"200": _json("Certificate", "the certificate")},
                roles=holders,
                parameters=[_SERIAL],
                problems=("400", "404"),
            )
        },
        "/v1/certificates/{serial}/revoke": {
            "post": _op(
                "Revoke a certificate",
                "certificates",
                {"200": _json("Revocation", "revoked; the CRL is republished")},
                roles=holders,
                body="RevokeRequest",
                parameters=[_SERIAL],
                problems=("404", "409"),
            )
        },
        "/v1/subscriptions": {
            "post": _op(
                "Subscribe: fresh certificates while the registry authorizes the numbers",
                "subscriptions",
                {"201": _json("Subscription", "subscribed; the first certificate is issued")},
                roles=("enterprise", "bpo"),
                body="SubscriptionRequest",
                problems=("404",),
            ),
            "get": _op(
                "The caller's subscriptions",
                "subscriptions",
                {"200": _json("SubscriptionList", "all of them")},
                roles=holders,
                parameters=[_query("organization", ID_SCHEMA)],
                problems=("400", "404"),
            ),
        },
        "/v1/subscriptions/{id}": {
            "get": _op(
                "A subscription: the current serial, x5u and notAfter",
                "subscriptions",
                {"200": _json("Subscription", "the subscription")},
                roles=holders,
                parameters=[_path_param("id", "subscription id")],
                problems=("404",),
            ),
            "delete": _op(
                "End a subscription (revokes its current certificate)",
                "subscriptions",
                {"200": _json("Subscription", "ended")},
                roles=holders,
                parameters=[_path_param("id", "subscription id")],
                problems=("404", "409"),
            ),
        },
        "/v1/verify/identity": {
            "post": _op(
                "Verify SIP Identity header values (TSP)",
                "verify",
                {"200": _json("VerifyIdentityResult", "per-header results, RFC 8224 code")},
                roles=None,
                body="VerifyIdentityRequest",
                problems=("401", "403"),
            )
        },
        "/v1/verify/signer": {
            "post": _op(
                "Check a signer's chain and scope for a number (OSP)",
                "verify",
                {"200": _json("VerifySignerResult", "decision with evidence")},
                roles=None,
                body="VerifySignerRequest",
                problems=("401", "403"),
            )
        },
        "/certs/{name}": {
            "get": {
                "summary": "x5u: a certificate chain at its own never-reused URL",
                "tags": ["repository"],
                "parameters": [_path_param("name", "<serial>.pem", "^[0-9a-f]{1,40}\\.pem$")],
                "responses": {"200": _PEM_RESPONSE, **_problems("404")},
            }
        },
        "/crl/{name}": {
            "get": {
                "summary": "An issuer's CRL (DER)",
                "tags": ["repository"],
                "parameters": [_path_param("name", "<issuer>.crl")],
                "responses": {
                    "200": {
                        "description": "DER CRL",
                        "content": {"application/pkix-crl": {"schema": {}}},
                    },
                    **_problems("404"),
                },
            }
        },
        "/ca/{name}": {
            "get": {
                "summary": "An issuer's certificate chain",
                "tags": ["repository"],
                "parameters": [_path_param("name", "<issuer>.pem")],
                "responses": {"200": _PEM_RESPONSE, **_problems("404")},
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness",
                "tags": ["operations"],
                "responses": {"200": _json("Health", "alive")},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: database and issuer keys",
                "tags": ["operations"],
                "responses": {
                    "200": _json("Health", "ready"),
                    "503": _json("Health", "not ready (the checks say why)"),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "tags": ["operations"],
                "responses": {
                    "200": {
                        "description": "text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Delegato",
            "version": VERSION,
            "description": (
                "Delegate-certificate authority for STIR/SHAKEN: TN registry, short-lived "
                "delegate certificates (RFC 9060), subscriptions, x5u repository, verification."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "dlg_<key id>_<secret> from `delegato key create`",
                }
            },
        },
        "paths": _paths(),
    }


def document() -> dict[str, Any]:
    """The document (shared, read-only: callers that change it take a copy)."""
    return _document()


def document_for(public_url: str) -> dict[str, Any]:
    """The document with this deployment's base URL as its server."""
    doc = copy.deepcopy(_document())
    doc["servers"] = [{"url": public_url}]
    return doc
