"""A readable page of the API, rendered from the OpenAPI document itself (no outside assets)."""

from __future__ import annotations

import html
import json
from typing import Any

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ddd;margin-top:2.5rem} code,pre{font:13px ui-monospace,monospace}
.op{margin:1.2rem 0;padding:.6rem 1rem;border-left:4px solid #4a7} .m{font-weight:bold;width:4rem;
display:inline-block} pre{background:#f6f6f6;padding:.6rem;overflow:auto} .roles{color:#666}
"""


def _schema_name(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


def _fields(doc: dict[str, Any], name: str) -> str:
    schema = doc["components"]["schemas"].get(name, {})
    required = set(schema.get("required", []))
    rows = []
    for field, spec in schema.get("properties", {}).items():
        kind = spec.get("type") or _schema_name(spec) or "one of " + json.dumps(spec.get("enum"))
        note = spec.get("description", "")
        mark = " (required)" if field in required else ""
        rows.append(f"<li><code>{html.escape(field)}</code>: {html.escape(str(kind))}{mark}"
                    f"{' — ' + html.escape(note) if note else ''}</li>")
    return "<ul>" + "".join(rows) + "</ul>" if rows else ""


def _operation(doc: dict[str, Any], path: str, method: str, op: dict[str, Any]) -> str:
    parts = [
        f'<div class="op"><span class="m">{method.upper()}</span><code>{html.escape(path)}</code>'
        f" — {html.escape(op.get('summary', ''))}"
    ]
    if "description" in op:
        parts.append(f'<div class="roles">{html.escape(op["description"])}</div>')
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    if body:
        parts.append("<div>Body:</div>" + _fields(doc, _schema_name(body["schema"])))
    codes = ", ".join(
        f"{code} {html.escape(resp.get('description', ''))}"
        for code, resp in op.get("responses", {}).items()
    )
    parts.append(f"<div>Responses: {codes}</div></div>")
    return "".join(parts)


def render_docs(doc: dict[str, Any]) -> str:
    info = doc["info"]
    sections: dict[str, list[str]] = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            sections.setdefault(op.get("tags", ["other"])[0], []).append(
                _operation(doc, path, method, op)
            )
    body = "".join(
        f"<h2>{html.escape(tag)}</h2>{''.join(ops)}" for tag, ops in sections.items()
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(info['title'])} API"
        f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(info['title'])} API "
        f"{html.escape(info['version'])}</h1><p>{html.escape(info['description'])}</p>"
        "<p>Authenticate with <code>Authorization: Bearer dlg_…</code> (a key from "
        "<code>delegato key create</code>). Errors are <code>application/problem+json</code> "
        "naming the <code>field</code> and the rule. The machine-readable document is "
        "<a href='/openapi.json'>/openapi.json</a>.</p>"
        f"{body}</body></html>"
    )
