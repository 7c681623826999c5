"""API keys: shown once, stored only as a SHA-256, bound to one organization and role, revocable;
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select, text

from ca.apikeys import ApiKeys
from ca.errors import CAError, ErrorKind
from ca.storage import audit as audit_store
from ca.storage.models import ApiKeyRow
from tests.conftest import NOW

TOKEN = re.compile(r"dlg_(key-[0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@pytest.fixture
def keys(services) -> ApiKeys:
    return services.api_keys


@pytest.fixture
def acme(services):
    return services.organizations.add("enterprise", "Acme Bank", actor="operator:test")


def _refused(keys: ApiKeys, token: str) -> CAError:
    with pytest.raises(CAError) as raised:
        keys.authenticate(token)
    assert raised.value.kind is ErrorKind.UNAUTHORIZED
    return raised.value


def _events(services, action: str):
    with services.storage.read() as session:
        return [e for e in audit_store.iter_audit_events(session) if e.action == action]


def test_a_new_key_is_a_dlg_token_naming_its_key_id(keys, acme):
    new = keys.create(acme.id, "enterprise", actor="operator:alice")
    match = TOKEN.fullmatch(new.secret)
    assert match is not None, new.secret
    assert match.group(1) == new.key.id
    assert (new.key.organization_id, new.key.role) == (acme.id, "enterprise")
    assert (new.key.created_at, new.key.created_by, new.key.revoked_at) == (
        NOW,
        "operator:alice",
        None,
    )
    other = keys.create(acme.id, "enterprise", actor="operator:alice")
    assert other.key.id != new.key.id
    assert TOKEN.fullmatch(other.secret).group(2) != match.group(2)  # type: ignore[union-attr]


def test_only_the_sha256_of_the_secret_is_stored(services, keys, acme):
    new = keys.create(acme.id, "verifier", actor="operator:test")
    secret = TOKEN.fullmatch(new.secret).group(2)  # type: ignore[union-attr]
    with services.storage.read() as session:
        rows = session.execute(select(ApiKeyRow.__table__)).mappings().all()
        audit = session.execute(text("select * from audit_events")).all()
    assert len(rows) == 1
    row = dict(rows[0])
    assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    for column, value in row.items():
        assert secret not in str(value), f"column {column} holds the secret"
    for event in audit:
        assert secret not in str(tuple(event)), "the audit trail holds the secret"
    assert keys.list(acme.id) == [new.key]


def test_authenticate_returns_the_key_and_its_organization(keys, acme):
    new = keys.create(acme.id, "enterprise", actor="operator:test")
    principal = keys.authenticate(new.secret)
    assert principal.key == new.key
    assert principal.organization == acme
    assert principal.role == "enterprise" and not principal.is_operator


def test_every_refusal_is_the_same_answer(keys, acme, services):
    new = keys.create(acme.id, "enterprise", actor="operator:test")
    key_id, secret = TOKEN.fullmatch(new.secret).groups()  # type: ignore[union-attr]
    other_secret = ("A" if secret[0] != "A" else "B") + secret[1:]
    spare = keys.create(acme.id, "verifier", actor="operator:test")
    keys.revoke(spare.key.id, actor="operator:test")
    refusals = [
        _refused(keys, f"dlg_{key_id}_{other_secret}"),  # wrong secret
        _refused(keys, f"dlg_key-{'0' * 12}_{secret}"),  # unknown id
        _refused(keys, spare.secret),  # revoked
        _refused(keys, ""),
        _refused(keys, "dlg_"),
        _refused(keys, new.secret[:-1]),  # one character short
        _refused(keys, new.secret + "A"),
        _refused(keys, new.secret + "\n"),
        _refused(keys, " " + new.secret),
        _refused(keys, f"Bearer {new.secret}"),
        _refused(keys, new.secret.replace("dlg_", "DLG_")),
        _refused(keys, f"dlg_{key_id.upper()}_{secret}"),
        _refused(keys, f"dlg_{key_id}_{secret[:-1]}é"),
        _refused(keys, None),  # type: ignore[arg-type]
    ]
    assert {(str(e), e.field) for e in refusals} == {
        ("authorization: invalid or revoked API key", "authorization")
    }
    assert keys.authenticate(new.secret).key.id == key_id  # the good key still works


def test_a_revoked_key_stops_working_at_once(services, keys, acme):
    new = keys.create(acme.id, "enterprise", actor="operator:test")
    keys.authenticate(new.secret)
    services.clock.advance(dt.timedelta(hours=1))
    keys.revoke(new.key.id, actor="operator:bob")
    _refused(keys, new.secret)
    (listed,) = keys.list(acme.id)
    assert listed.revoked_at == services.clock.now()
    with pytest.raises(CAError) as raised:
        keys.revoke(new.key.id, actor="operator:bob")
    assert raised.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(CAError) as raised:
        keys.revoke("key-000000000000", actor="operator:bob")
    assert raised.value.kind is ErrorKind.NOT_FOUND


@pytest.mark.parametrize(
    ("kind", "allowed", "refused"),
    [
        ("enterprise", ["enterprise", "verifier"], ["bpo", "tn_authority", "operator", "admin"]),
        ("bpo", ["bpo", "verifier"], ["enterprise", "operator"]),
        ("tn_authority", ["tn_authority", "verifier"], ["enterprise", "operator"]),
        ("operator", ["operator", "verifier"], ["enterprise", "tn_authority"]),
    ],
)
def test_a_role_is_the_organizations_kind_or_verifier(services, keys, kind, allowed, refused):
    org = services.organizations.add(kind, f"A {kind}", actor="operator:test")
    for role in allowed:
        new = keys.create(org.id, role, actor="operator:test")
        principal = keys.authenticate(new.secret)
        assert principal.role == role
        assert principal.is_operator == (role == "operator")
    for role in refused:
        with pytest.raises(CAError) as raised:
            keys.create(org.id, role, actor="operator:test")
        assert raised.value.kind is ErrorKind.MALFORMED and raised.value.field == "role"
        assert f"is a {kind}" in raised.value.detail
    assert sorted(k.role for k in keys.list(org.id)) == sorted(allowed)


def test_a_key_for_an_unknown_organization_is_refused(keys, services):
    with pytest.raises(CAError) as raised:
        keys.create("org-000000000000", "verifier", actor="operator:test")
    assert raised.value.kind is ErrorKind.NOT_FOUND
    with services.storage.read() as session:
        assert session.execute(text("select count(*) from api_keys")).scalar_one() == 0


def test_creating_and_revoking_are_audited(services, keys, acme):
    new = keys.create(acme.id, "enterprise", actor="operator:alice")
    keys.revoke(new.key.id, actor="operator:bob")
    (created,) = _events(services, "api_key.created")
    assert (created.actor, created.object_type, created.object_id) == (
        "operator:alice",
        "api_key",
        new.key.id,
    )
    assert created.details == {"organization": acme.id, "role": "enterprise"}
    (revoked,) = _events(services, "api_key.revoked")
    assert (revoked.actor, revoked.object_id) == ("operator:bob", new.key.id)
    with services.storage.read() as session:
        assert services.audit.verify(session).ok


def test_a_revoked_key_stops_working_at_once_even_just_after_use(services):
    """Authenticated keys are remembered for a few seconds; revocation forgets them."""
    org = services.organizations.add("enterprise", "Cached Corp", actor="operator:test")
    new = services.api_keys.create(org.id, "enterprise", actor="operator:test")
    assert services.api_keys.authenticate(new.secret).organization.id == org.id
    assert services.api_keys.authenticate(new.secret).organization.id == org.id  # remembered
    services.api_keys.revoke(new.key.id, actor="operator:test")
    with pytest.raises(CAError) as raised:
        services.api_keys.authenticate(new.secret)
    assert raised.value.kind is ErrorKind.UNAUTHORIZED
