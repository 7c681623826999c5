"""Subscriptions over HTTP (flow 4, after RFC 8739 STAR): fresh certificates while authorized."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.auth import actor, principal, requires, services
from api.body import duration, json_body, scope_of
from api.certificates import HOLDERS, owner_filter

subscriptions = Blueprint("subscriptions", __name__, url_prefix="/v1/subscriptions")


@subscriptions.post("")
@requires("enterprise", "bpo")
def subscribe() -> Any:
    data = json_body("SubscriptionRequest")
    view = services().subscriptions.create(
        principal().organization.id,
        csr=data["csr"].encode("utf-8") if "csr" in data else None,
        public_key=data["public_key"].encode("utf-8") if "public_key" in data else None,
        scope=scope_of(data, required=False),
        lifetime=duration(data, "lifetime"),
        actor=actor(),
    )
    return view.to_json(), 201


@subscriptions.get("")
@requires(*HOLDERS)
def list_subscriptions() -> Any:
    views = services().subscriptions.list(owner_filter())
    return {"subscriptions": [view.to_json() for view in views]}


@subscriptions.get("/<subscription_id>")
@requires(*HOLDERS)
def get_subscription(subscription_id: str) -> Any:
    return services().subscriptions.get(subscription_id, acting=principal().organization).to_json()


@subscriptions.delete("/<subscription_id>")
@requires(*HOLDERS)
def cancel_subscription(subscription_id: str) -> Any:
    view = services().subscriptions.cancel(subscription_id, actor=actor(), acting=principal().organization)
    return view.to_json()
