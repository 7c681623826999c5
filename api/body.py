"""Request bodies: JSON objects checked against the OpenAPI document's own schemas.

The schema a handler validates with is the one ``/openapi.json`` publishes, so the document and the
implementation cannot drift apart. A violation answers 400 naming the field (a JSON pointer into the
body) and the rule; values are parsed into domain objects (scopes, moments) here, once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from typing import Any

from flask import request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.exceptions import UnsupportedMediaType

from api.openapi import DOCUMENT_URI, document
from ca.durations import parse_duration, parse_when
from ca.errors import CAError, ErrorKind, malformed
from ca.tnauth import TNAuthList

_MAX_RULE = 200


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource(DOCUMENT_URI, resource)
    schema = {"$ref": f"{DOCUMENT_URI}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=registry)


def json_body(schema_name: str) -> dict[str, Any]:
    """The request's JSON object, valid against ``components.schemas[schema_name]``."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise malformed("body", "is not a JSON document (RFC 8259)")
    _refuse_nul(data, [])
    check(schema_name, data)
    assert isinstance(data, dict)
    return data


def _refuse_nul(value: object, path: list[str | int]) -> None:
    """NUL is never part of a valid value, and PostgreSQL cannot even compare text holding one."""
    if isinstance(value, str):
        if "\x00" in value:
            raise malformed(field_name(path), "must not contain a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, [*path, key])
            _refuse_nul(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul(item, [*path, index])


def check(schema_name: str, data: object) -> None:
    """Raise MALFORMED naming the first offending field and its rule."""
    error = best_match(_validator(schema_name).iter_errors(data))
    if error is None:
        return
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.validator_value, list):
        present = set(error.instance) if isinstance(error.instance, dict) else set()
        missing = [name for name in error.validator_value if name not in present]
        path.append(missing[0] if missing else "")
        rule = "is required"
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        path.append(extra[0] if extra else "")
        rule = "is not a field of this request; allowed: " + ", ".join(sorted(allowed))
    else:
        rule = error.message
    raise malformed(field_name(path), rule[:_MAX_RULE])


def field_name(path: list[str | int]) -> str:
    """``["ranges", 0, "count"]`` -> ``ranges[0].count``, as the domain names fields."""
    name = ""
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
        elif part:
            name += f".{part}" if name else str(part)
    return name or "body"


_PLACEHOLDER = re.compile(r"\{(\w+)\}|<(?:\w+:)?(\w+)>")


def _template(path: str) -> tuple[str, list[str]]:
    """``/v1/x/{id}`` and ``/v1/x/<grant_id>`` -> (``/v1/x/<>``, their variable names in order)."""
    names = [a or b for a, b in _PLACEHOLDER.findall(path)]
    return _PLACEHOLDER.sub("<>", path), names


@cache
def _operations() -> dict[str, tuple[list[str], list[dict[str, Any]]]]:
    """Each operation's path variable names and parameters, by (path template, method)."""
    found = {}
    for path, item in document()["paths"].items():
        template, names = _template(path)
        for method, operation in item.items():
            found[template + method.upper()] = (names, operation.get("parameters", []))
    return found


def check_parameters() -> None:
    """Query and path parameters against the operation's declared schemas; unknown ones too."""
    rule = request.url_rule
    found = _operations().get(_template(rule.rule)[0] + request.method) if rule else None
    if rule is None or found is None:
        return
    doc_names, declared = found
    view_args = request.view_args or {}
    # The document's variable names, as Flask's routes name them (positionally).
    flask_names = _template(rule.rule)[1]
    path_values = {d: view_args.get(f) for d, f in zip(doc_names, flask_names, strict=True)}
    allowed = {p["name"] for p in declared if p["in"] == "query"}
    for name in request.args:
        if name not in allowed:
            listed = "; allowed: " + ", ".join(sorted(allowed)) if allowed else ""
            raise malformed(name, "is not a parameter of this request" + listed)
    for parameter in declared:
        name = parameter["name"]
        if parameter["in"] == "path":
            _check_path_value(name, path_values.get(name), parameter["schema"])
        else:
            _check_query_value(name, request.args.getlist(name), parameter)


def _check_path_value(name: str, value: object, schema: dict[str, Any]) -> None:
    # A path that breaks its pattern names nothing: not found, as any unknown URL.
    if not isinstance(value, str) or "\x00" in value or not _valid(value, schema):
        raise CAError(ErrorKind.NOT_FOUND, f"no such {name}", field=name)


def _check_query_value(name: str, values: list[str], parameter: dict[str, Any]) -> None:
    if not values:
        if parameter.get("required"):
            raise malformed(name, "is required")
        return
    if len(values) > 1:
        raise malformed(name, "give it once")
    value: object = values[0]
    _refuse_nul(value, [name])
    schema = parameter["schema"]
    if schema.get("type") == "integer":
        if not (isinstance(value, str) and value.isascii() and value.isdigit()):
            raise malformed(name, "must be a whole number")
        value = int(value)
    error = best_match(_plain_validator(json.dumps(schema, sort_keys=True)).iter_errors(value))
    if error is not None:
        raise malformed(name, error.message[:_MAX_RULE])


def _valid(value: object, schema: dict[str, Any]) -> bool:
    return _plain_validator(json.dumps(schema, sort_keys=True)).is_valid(value)


@cache
def _plain_validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def scope_of(data: dict[str, Any], *, required: bool) -> TNAuthList | None:
    """``tns`` and ``ranges`` (the CLI's --tn and --range) as one TNAuthList, or None if absent."""
    tns = data.get("tns") or []
    ranges = [(r["start"], r["count"]) for r in data.get("ranges") or []]
    if not tns and not ranges:
        if required:
            raise malformed("tns", "name at least one number in tns or ranges")
        return None
    return TNAuthList.from_user(tns=tns, ranges=ranges)


def moment(data: dict[str, Any], name: str, now: dt.datetime) -> dt.datetime | None:
    """An ISO-8601 moment or ``+<n>s|m|h|d`` relative to now, as on the command line."""
    value = data.get(name)
    return None if value is None else parse_when(value, now, name)


def duration(data: dict[str, Any], name: str) -> dt.timedelta | None:
    value = data.get(name)
    return None if value is None else parse_duration(value, name)
