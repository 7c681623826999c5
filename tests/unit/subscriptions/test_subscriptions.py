"""Creating, reading and cancelling subscriptions; who may see which; what bad input gets."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ca.errors import CAError, ErrorKind
from ca.revocation import RevocationReason
from ca.subscriptions import DEFAULT_RENEW_FRACTION, MIN_LIFETIME
from ca.tnauth import TNAuthList
from tests.conftest import make_csr
from tests.unit.registry.parties import DAY, cast, scope
from tests.unit.subscriptions.helpers import (
    actions,
    carried,
    certificate,
    public_key_pem,
    revocation_reason,
    signed_count,
)


@pytest.fixture
def parties(services):
    c = cast(services)
    now = services.clock.now()
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:10"), now + 30 * DAY, actor="tnsp-a"
    )
    services.registry.assign(
        c.tnsp_b.id, c.acme.id, scope("12025550300"), now + 30 * DAY, actor="tnsp-b"
    )
    services.registry.assign(
        c.tnsp_a.id, c.globex.id, scope("12025550500:5"), now + 30 * DAY, actor="tnsp-a"
    )
    return c


def test_create_issues_the_first_certificate_at_once(services, parties):
    key = ec.generate_private_key(ec.SECP256R1())
    view = services.subscriptions.create(
        parties.acme.id,
        public_key=public_key_pem(key),
        scope=scope("12025550100:5"),
        lifetime=dt.timedelta(hours=12),
        actor="acme",
    )
    assert view.id.startswith("sub-")
    assert view.subscription.status == "active"
    assert view.x5u == services.config.certificate_url(view.serial)
    cert = certificate(services, view.serial)
    assert carried(services, view) == scope("12025550100:5")
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert view.not_after == cert.not_valid_after_utc
    assert view.not_after - services.clock.now() == dt.timedelta(hours=12)
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert view.subscription.renew_after == cert.not_valid_before_utc + life * (2 / 3)
    assert view.subscription.renew_fraction == DEFAULT_RENEW_FRACTION

    data = view.to_json()
    assert data["serial"] == view.serial and data["x5u"] == view.x5u
    assert data["not_after"] == cert.not_valid_after_utc.isoformat()
    assert (data["tns"], data["ranges"]) == ([], [{"start": "12025550100", "count": 5}])
    assert data["requested"] == {"tns": [], "ranges": [{"start": "12025550100", "count": 5}]}
    assert data["lifetime"] == "12h"
    assert data["renew_after"] == view.subscription.renew_after.isoformat()
    assert data["certificate_status"] == "valid"
    assert data["organization"] == parties.acme.id
    assert services.subscriptions.get(view.id, acting=parties.acme).to_json() == data
    assert actions(services, view.id) == ["subscription.created"]


def test_without_a_scope_it_asks_for_every_number_the_holder_may_use(services, parties):
    csr, _ = make_csr()
    view = services.subscriptions.create(parties.acme.id, csr=csr, actor="acme")
    assert carried(services, view) == scope("12025550100:10", "12025550300")
    assert view.to_json()["requested"] is None
    assert view.to_json()["tns"] == ["12025550300"]
    assert view.not_after - services.clock.now() == services.config.issuance.default_lifetime


def test_list_shows_an_organizations_own_subscriptions(services, parties):
    mine = services.subscriptions.create(parties.acme.id, public_key=public_key_pem(), actor="a")
    theirs = services.subscriptions.create(
        parties.globex.id, public_key=public_key_pem(), actor="g"
    )
    assert [v.id for v in services.subscriptions.list(parties.acme.id)] == [mine.id]
    assert [v.id for v in services.subscriptions.list(parties.globex.id)] == [theirs.id]
    assert {v.id for v in services.subscriptions.list(None)} == {mine.id, theirs.id}


def test_another_organizations_subscription_is_not_found(services, parties):
    view = services.subscriptions.create(parties.acme.id, public_key=public_key_pem(), actor="a")
    operator = services.organizations.add("operator", "Ops", actor="operator:test")
    for call in (
        lambda: services.subscriptions.get(view.id, acting=parties.globex),
        lambda: services.subscriptions.cancel(view.id, actor="g", acting=parties.globex),
        lambda: services.subscriptions.get("sub-000000000000", acting=parties.acme),
    ):
        with pytest.raises(CAError) as info:
            call()
        assert info.value.kind is ErrorKind.NOT_FOUND and info.value.field == "id"
        assert parties.acme.id not in info.value.detail  # never says whose it is
    # Nothing happened to it, and the operator (or the system) sees it.
    assert services.subscriptions.get(view.id, acting=operator).subscription.status == "active"
    assert services.subscriptions.get(view.id).certificate_status == "valid"


def test_cancel_ends_it_and_revokes_its_certificate(services, parties):
    view = services.subscriptions.create(parties.acme.id, public_key=public_key_pem(), actor="a")
    ended = services.subscriptions.cancel(view.id, actor="acme", acting=parties.acme)
    assert ended.subscription.status == "ended"
    assert ended.subscription.end_reason == "cancelled"
    assert ended.certificate_status == "revoked"
    assert revocation_reason(services, view.serial) == "cessationOfOperation"
    crl = x509.load_der_x509_crl(services.crls.latest(services.issuers.active_sca().id).der)
    assert crl.get_revoked_certificate_by_serial_number(int(view.serial, 16)) is not None
    assert actions(services, view.id) == ["subscription.created", "subscription.ended"]

    services.clock.advance(DAY)
    assert services.subscriptions.renew_due().counts()["renewed"] == 0
    again = services.subscriptions.cancel(view.id, actor="acme", acting=parties.acme)
    assert again.subscription == ended.subscription  # repeating it changes nothing
    assert actions(services, view.id) == ["subscription.created", "subscription.ended"]


def test_cancel_after_the_holder_revoked_the_certificate_itself(services, parties):
    view = services.subscriptions.create(parties.acme.id, public_key=public_key_pem(), actor="a")
    services.ra.revoke(
        view.serial,
        RevocationReason.SUPERSEDED,
        actor="acme",
        operator=False,
        organization_id=parties.acme.id,
    )
    ended = services.subscriptions.cancel(view.id, actor="acme", acting=parties.acme)
    assert ended.subscription.status == "ended"
    assert revocation_reason(services, view.serial) == "superseded"


def _p384_pem() -> bytes:
    return (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _rsa_pem() -> bytes:
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


KEY = public_key_pem()
BAD = {
    "neither key nor csr": ({}, ErrorKind.MALFORMED, "public_key"),
    "both key and csr": (
        {"csr": make_csr()[0], "public_key": public_key_pem()},
        ErrorKind.MALFORMED,
        "csr",
    ),
    "P-384 key": ({"public_key": _p384_pem()}, ErrorKind.BAD_PUBLIC_KEY, "public_key"),
    "RSA key": ({"public_key": _rsa_pem()}, ErrorKind.BAD_PUBLIC_KEY, "public_key"),
    "not a key": (
        {"public_key": b"-----BEGIN PUBLIC KEY-----\nAAAA\n"},
        ErrorKind.BAD_PUBLIC_KEY,
        "public_key",
    ),
    "empty key": ({"public_key": b""}, ErrorKind.BAD_PUBLIC_KEY, "public_key"),
    "oversized key": ({"public_key": b"A" * 20_000}, ErrorKind.BAD_PUBLIC_KEY, "public_key"),
    "garbage csr": ({"csr": b"not a csr"}, ErrorKind.BAD_CSR, "csr"),
    "lifetime above the maximum": (
        {"lifetime": dt.timedelta(days=7, seconds=1), "public_key": KEY},
        ErrorKind.MALFORMED,
        "lifetime",
    ),
    "lifetime too short to renew": (
        {"lifetime": MIN_LIFETIME - dt.timedelta(seconds=1), "public_key": KEY},
        ErrorKind.MALFORMED,
        "lifetime",
    ),
    "negative lifetime": ({"lifetime": -DAY, "public_key": KEY}, ErrorKind.MALFORMED, "lifetime"),
    "numbers not held": (
        {"scope": scope("12025550500"), "public_key": KEY},
        ErrorKind.TN_NOT_AUTHORIZED,
        "tns",
    ),
    "an empty scope": (
        {"scope": TNAuthList.from_intervals([]), "public_key": KEY},
        ErrorKind.MALFORMED,
        "tns",
    ),
    "an SPC": (
        {"scope": TNAuthList.from_user(spcs=["1234"]), "public_key": KEY},
        ErrorKind.MALFORMED,
        "tns",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_names_the_field_and_writes_nothing(sqlite_services, case):
    services = sqlite_services
    c = cast(services)
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:10"), services.clock.now() + 30 * DAY, actor="a"
    )
    kwargs, kind, field = BAD[case]
    before = signed_count(services)
    with pytest.raises(CAError) as info:
        services.subscriptions.create(c.acme.id, actor="acme", **kwargs)
    assert (info.value.kind, info.value.field) == (kind, field), info.value
    assert services.subscriptions.list(None) == []
    assert signed_count(services) == before


def test_only_enterprises_and_bpos_subscribe(services, parties):
    for org_id, kind in (
        (parties.tnsp_a.id, ErrorKind.FORBIDDEN),
        ("org-missing", ErrorKind.NOT_FOUND),
    ):
        with pytest.raises(CAError) as info:
            services.subscriptions.create(
                org_id, public_key=public_key_pem(), scope=scope("12025550100"), actor="x"
            )
        assert info.value.kind is kind
    assert services.subscriptions.list(None) == []
