"""The component schemas of the OpenAPI document: request bodies (which handlers validate
against, api/body.py) and responses (which schemathesis checks the app against)."""

from __future__ import annotations

from typing import Any

TN_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 32,
    "description": "E.164 digits (separators + ( ) - . and spaces are dropped)",
    "examples": ["12025550100"],
}
_MOMENT = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "description": "ISO-8601 (naive = UTC) or +<n>s|m|h|d from now, as on the command line",
    "examples": ["+30d", "2026-12-31T23:59:59Z"],
}
_DURATION = {
    "type": "string",
    "pattern": "^[0-9]{1,9}[smhd]$",
    "description": "<n>s|m|h|d",
    "examples": ["24h"],
}
ID_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", "description": "an id"}
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_TEXT = {"type": "string", "maxLength": 500}
_PEM = {"type": "string", "minLength": 1, "maxLength": 16384}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(
    properties: dict[str, Any], required: tuple[str, ...] = (), *, closed: bool = True
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


_SCOPE_IN = {
    "tns": {"type": "array", "items": TN_SCHEMA, "maxItems": 10000},
    "ranges": {"type": "array", "items": ref("Range"), "maxItems": 1000},
}
_SCOPE_OUT = {
    "tns": {"type": "array", "items": {"type": "string"}},
    "ranges": {"type": "array", "items": ref("RangeOut")},
    "spcs": {"type": "array", "items": {"type": "string"}},
}

SCHEMAS: dict[str, Any] = {
    "Problem": _obj(
        {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "field": {"type": "string"},
            "request_id": {"type": "string"},
            "errors": {
                "type": "array",
                "items": _obj(
                    {
                        "detail": {"type": "string"},
                        "field": {"type": "string"},
                        "value": {"type": "string"},
                    }
                ),
            },
        },
        ("type", "title", "status", "detail"),
    ),
    "Range": _obj(
        {"start": TN_SCHEMA, "count": {"type": "integer", "minimum": 1, "maximum": 10**15}},
        ("start", "count"),
    ),
    "RangeOut": _obj(
        {"start": {"type": "string"}, "count": {"type": "integer"}}, ("start", "count")
    ),
    "OrganizationRequest": _obj(
        {
            "kind": {"enum": ["enterprise", "bpo", "tn_authority", "operator"]},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "spid": {"type": "string", "minLength": 1, "maxLength": 16},
        },
        ("kind", "name"),
    ),
    "Organization": _obj(
        {
            "id": {"type": "string"},
            "kind": {"type": "string"},
            "name": {"type": "string"},
            "spid": {"type": ["string", "null"]},
            "created_at": _TIME,
        },
        ("id", "kind", "name"),
        closed=False,
    ),
    "KeyRequest": _obj(
        {"role": {"enum": ["enterprise", "bpo", "tn_authority", "operator", "verifier"]}},
        ("role",),
    ),
    "KeyCreated": _obj(
        {
            "id": {"type": "string"},
            "key": {"type": "string", "description": "shown once; Delegato keeps only a hash"},
            "organization": {"type": "string"},
            "role": {"type": "string"},
            "created_at": _TIME,
        },
        ("id", "key", "organization", "role"),
    ),
    "AssignmentRequest": _obj(
        {
            "enterprise": ID_SCHEMA,
            "authority": {**ID_SCHEMA, "description": "operators only: the posting TN authority"},
            **_SCOPE_IN,
            "expires_at": _MOMENT,
            "valid_from": _MOMENT,
            "evidence": _TEXT,
        },
        ("enterprise", "expires_at"),
    ),
    "TransferRequest": _obj(
        {
            "assignment": ID_SCHEMA,
            "to_authority": ID_SCHEMA,
            "to_enterprise": {**ID_SCHEMA, "description": "a move to another enterprise ends the right"},
            **_SCOPE_IN,
            "evidence": _TEXT,
        },
        ("assignment", "to_authority"),
    ),
    "DelegationRequest": _obj(
        {
            "bpo": ID_SCHEMA,
            "enterprise": {**ID_SCHEMA, "description": "operators only: the delegating enterprise"},
            **_SCOPE_IN,
            "expires_at": _MOMENT,
            "valid_from": _MOMENT,
            "evidence": _TEXT,
        },
        ("bpo", "expires_at"),
    ),
    "EndRequest": _obj({"reason": {"type": "string", "minLength": 1, "maxLength": 40}}),
    "Grant": _obj(
        {
            "id": {"type": "string"},
            "kind": {"enum": ["assignment", "delegation"]},
            "authority": {"type": "string"},
            "enterprise": {"type": "string"},
            "bpo": {"type": "string"},
            **_SCOPE_OUT,
            "valid_from": _TIME,
            "expires_at": _TIME,
            "evidence": {"type": "string"},
            "ended_at": _NULLABLE_TIME,
            "end_reason": {"type": ["string", "null"]},
            "outcome": {"type": "string"},
            "transferred_from": {"type": "string"},
        },
        ("id", "kind", "tns", "ranges", "valid_from", "expires_at"),
    ),
    "Transfer": _obj(
        {
            "from": ref("Grant"),
            "to": ref("Grant"),
            **_SCOPE_OUT,
            "whole": {"type": "boolean"},
        },
        ("from", "to", "whole"),
    ),
    "TNStatus": _obj(
        {
            "jws": {"type": "string", "description": "compact JWS, ES256, typ tn-status+jwt"},
            "status": {"type": "object"},
        },
        ("jws", "status"),
    ),
    "CertificateRequest": _obj(
        {
            "csr": {**_PEM, "description": "PEM PKCS#10 with a P-256 key"},
            **_SCOPE_IN,
            "lifetime": _DURATION,
            "organization": {**ID_SCHEMA, "description": "operators only: the holder"},
            "operator_reason": {**_TEXT, "description": "operators only: audited override"},
        },
        ("csr",),
    ),
    "Certificate": _obj(
        {
            "serial": {"type": "string"},
            "x5u": {"type": "string"},
            "issuer": {"type": "string"},
            "organization": {"type": ["string", "null"]},
            "not_before": _TIME,
            "not_after": _TIME,
            **_SCOPE_OUT,
            "chain": {"type": "string", "description": "PEM, leaf first, root omitted"},
            "status": {"enum": ["valid", "expired", "revoked"]},
            "revocation": {
                "type": ["object", "null"],
                "properties": {
                    "reason": {"type": "string"},
                    "revoked_at": _TIME,
                },
            },
        },
        ("serial", "x5u", "not_before", "not_after", "chain"),
    ),
    "CertificateList": _obj(
        {
            "certificates": {"type": "array", "items": ref("Certificate")},
            "next": {"type": ["string", "null"]},
        },
        ("certificates",),
    ),
    "RevokeRequest": _obj(
        {
            "reason": {"type": "string", "minLength": 1, "maxLength": 40},
            "comment": _TEXT,
        },
        ("reason",),
    ),
    "Revocation": _obj(
        {
            "serial": {"type": "string"},
            "reason": {"type": "string"},
            "revoked_at": _TIME,
            "issuer": {"type": "string"},
        },
        ("serial", "reason", "revoked_at"),
    ),
    "SubscriptionRequest": _obj(
        {
            "csr": {**_PEM, "description": "PEM PKCS#10 (proof of possession)"},
            "public_key": {**_PEM, "description": "PEM SubjectPublicKeyInfo, P-256"},
            **_SCOPE_IN,
            "lifetime": _DURATION,
        }
    ),
    "Subscription": _obj(
        {
            "id": {"type": "string"},
            "organization": {"type": "string"},
            "status": {"enum": ["active", "ended"]},
            "serial": {"type": ["string", "null"]},
            "x5u": {"type": ["string", "null"]},
            "not_after": _NULLABLE_TIME,
            "requested": {
                "type": ["object", "null"],
                "description": "the numbers asked for; null = all the holder may use",
            },
            **_SCOPE_OUT,
            "lifetime": {"type": "string"},
            "renew_after": _NULLABLE_TIME,
            "created_at": _TIME,
            "ended_at": _NULLABLE_TIME,
            "end_reason": {"type": ["string", "null"]},
        },
        ("id", "status", "serial", "x5u", "not_after"),
        closed=False,
    ),
    "SubscriptionList": _obj(
        {"subscriptions": {"type": "array", "items": ref("Subscription")}}, ("subscriptions",)
    ),
    "VerifyIdentityRequest": _obj(
        {
            "identity": {
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ]
            },
            "from": {"type": "string"},
            "to": {"type": "string"},
            "date": {"type": "string"},
        },
        ("identity",),
    ),
    "VerifyIdentityResult": _obj(
        {
            "valid": {"type": "boolean"},
            "verstat": {"type": "string"},
            "status": {"type": ["integer", "null"]},
            "results": {"type": "array", "items": {"type": "object"}},
        },
        ("valid", "verstat", "results"),
        closed=False,
    ),
    "VerifySignerRequest": _obj(
        {"tn": TN_SCHEMA, "x5u": {"type": "string", "maxLength": 2048}, "chain": _PEM},
        ("tn",),
    ),
    "VerifySignerResult": _obj(
        {"valid": {"type": "boolean"}, "tn": {"type": "string"}}, ("valid",), closed=False
    ),
    "Health": _obj({"status": {"type": "string"}, "checks": {"type": "object"}}, ("status",)),
}
