"""Request bodies: JSON objects checked against the OpenAPI document's own schemas.

The schema a handler validates with is the one ``/openapi.json`` publishes, so the document and the
implementation cannot drift apart. A violation answers 400 naming the field (a JSON pointer into the
body) and the rule; values are parsed into domain objects (scopes, moments) here, once.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Any, NamedTuple

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
    """A validator of the published component schema itself, not of a ``$ref`` to it: looking
    the reference up again on every request cost more than the validation. The component's own
    references (``#/components/...``) are made absolute so they still resolve in the document."""
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource(DOCUMENT_URI, resource)
    schema = _absolute_refs(document()["components"]["schemas"][schema_name])
    return Draft202012Validator(schema, registry=registry)


def _absolute_refs(node: Any) -> Any:
    """A copy of ``node`` whose document-local ``$ref``s name the document's URI."""
    if isinstance(node, dict):
        return {
            key: f"{DOCUMENT_URI}{value}"
            if key == "$ref" and isinstance(value, str) and value.startswith("#")
            else _absolute_refs(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(item) for item in node]
    return node


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


class _Parameter(NamedTuple):
    """A declared parameter with its schema compiled once."""

    name: str
    location: str  # query | path
    required: bool
    integer: bool
    validator: Draft202012Validator


@cache
def _operations() -> dict[str, tuple[list[str], list[_Parameter]]]:
    """Each operation's path variable names and parameters, by path template + method."""
    found = {}
    for path, item in document()["paths"].items():
        template, names = _template(path)
        for method, operation in item.items():
            parameters = [
                _Parameter(
                    p["name"],
                    p["in"],
                    bool(p.get("required")),
                    p["schema"].get("type") == "integer",
                    Draft202012Validator(p["schema"]),
                )
                for p in operation.get("parameters", [])
            ]
            found[template + method.upper()] = (names, parameters)
    return found


def check_parameters() -> None:
    """Query and path parameters against the operation's declared schemas; unknown ones too."""
    rule = request.url_rule
    if rule is None:
        return
    template, flask_names = _template(rule.rule)
    found = _operations().get(template + request.method)
    if found is None:
        return
    doc_names, declared = found
    view_args = request.view_args or {}
    # The document's variable names, as Flask's routes name them (positionally).
    path_values = {d: view_args.get(f) for d, f in zip(doc_names, flask_names, strict=True)}
    allowed = {p.name for p in declared if p.location == "query"}
    for name in request.args:
        if name not in allowed:
            listed = "; allowed: " + ", ".join(sorted(allowed)) if allowed else ""
            raise malformed(name, "is not a parameter of this request" + listed)
    for parameter in declared:
        if parameter.location == "path":
            _check_path_value(parameter, path_values.get(parameter.name))
        else:
            _check_query_value(parameter, request.args.getlist(parameter.name))


def _check_path_value(parameter: _Parameter, value: object) -> None:
    # A path that breaks its pattern names nothing: not found, as any unknown URL.
    valid = isinstance(value, str) and "\x00" not in value and parameter.validator.is_valid(value)
    if not valid:
        raise CAError(ErrorKind.NOT_FOUND, f"no such {parameter.name}", field=parameter.name)


def _check_query_value(parameter: _Parameter, values: list[str]) -> None:
    name = parameter.name
    if not values:
        if parameter.required:
            raise malformed(name, "is required")
        return
    if len(values) > 1:
        raise malformed(name, "give it once")
    value: object = values[0]
    _refuse_nul(value, [name])
    if parameter.integer:
        if not (isinstance(value, str) and value.isascii() and value.isdigit()):
            raise malformed(name, "must be a whole number")
        value = int(value)
    error = best_match(parameter.validator.iter_errors(value))
    if error is not None:
        raise malformed(name, error.message[:_MAX_RULE])


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
