"""The API under test: a Flask app over the initialized CA of each backend, and a cast of callers
each holding a real API key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from ca.services import Services
from ca.storage.records import Organization


@dataclass(frozen=True)
class Caller:
    org: Organization
    key: str

    @property
    def id(self) -> str:
        return self.org.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass(frozen=True)
class Cast:
    operator: Caller
    tnsp: Caller
    other_tnsp: Caller
    enterprise: Caller
    other_enterprise: Caller
    bpo: Caller
    other_bpo: Caller
    verifier: Caller

    def all(self) -> dict[str, Caller]:
        return dict(self.__dict__)


def _caller(services: Services, kind: str, name: str, spid: str | None = None, role: str | None = None) -> Caller:
    org = services.organizations.add(kind, name, spid, actor="operator:test")
    return Caller(org, services.api_keys.create(org.id, role or kind, actor="operator:test").secret)


@pytest.fixture
def cast(services: Services) -> Cast:
    return Cast(
        operator=_caller(services, "operator", "Delegato Ops"),
        tnsp=_caller(services, "tn_authority", "TNSP A", "111A"),
        other_tnsp=_caller(services, "tn_authority", "TNSP B", "222B"),
        enterprise=_caller(services, "enterprise", "Acme Bank"),
        other_enterprise=_caller(services, "enterprise", "Globex"),
        bpo=_caller(services, "bpo", "CallCo"),
        other_bpo=_caller(services, "bpo", "DialCo"),
        verifier=_caller(services, "enterprise", "Checker Inc", role="verifier"),
    )


@pytest.fixture
def app(services: Services) -> Iterator[Flask]:
    yield create_app(services=services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def call(
    client: FlaskClient,
    method: str,
    path: str,
    caller: Caller | None = None,
    body: Any = None,
    **kw: Any,
) -> Any:
    """One request; returns the response (``.json`` is the parsed body)."""
    headers = dict(caller.headers) if caller else {}
    headers.update(kw.pop("headers", {}))
    return client.open(path, method=method, json=body, headers=headers, **kw)
