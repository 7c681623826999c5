"""Renewal: at two thirds of the certificate's life, with what the registry still authorizes,
at once when a registry change revoked the certificate; ending when nothing is left."""

from __future__ import annotations

import datetime as dt

import pytest

from ca.jobs import renew_subscriptions, run_all_once
from ca.revocation import RevocationReason
from ca.storage import audit as audit_store
from tests.unit.registry.parties import DAY, cast, scope
from tests.unit.subscriptions.helpers import (
    actions,
    carried,
    public_key_pem,
    revocation_reason,
    signed_count,
)

SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def parties(services):
    c = cast(services)
    now = services.clock.now()
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:10"), now + 30 * DAY, actor="tnsp-a"
    )
    return c


def test_renewal_at_two_thirds_of_the_life_moves_to_a_new_serial(services, parties, clock):
    view = services.subscriptions.create(parties.acme.id, public_key=public_key_pem(), actor="a")
    first = view.serial
    life = view.certificate.not_after - view.certificate.not_before
    renew_after = view.certificate.not_before + life * 2 / 3
    assert view.subscription.renew_after == renew_after

    clock.set(renew_after - SECOND)
    assert services.subscriptions.renew_due().counts() == {
        "renewed": 0,
        "ended": 0,
        "deferred": 0,
        "failed": 0,
    }
    assert services.subscriptions.get(view.id).serial == first

    clock.set(renew_after)
    report = services.subscriptions.renew_due()
    renewed = services.subscriptions.get(view.id)
    assert report.renewed == [
        {"subscription": view.id, "serial": renewed.serial, "previous": first, "why": "due"}
    ]
    assert renewed.serial != first
    assert renewed.x5u == services.config.certificate_url(renewed.serial)
    assert renewed.certificate.not_before <= clock.now() < renewed.certificate.not_after
    assert renewed.subscription.renew_after > clock.now()
    assert carried(services, renewed) == carried(services, view)
    assert renewed.certificate.der != view.certificate.der
    assert revocation_reason(services, first) is None  # it simply runs out
    assert actions(services, view.id) == ["subscription.created", "subscription.renewed"]

    assert services.subscriptions.renew_due().counts()["renewed"] == 0  # nothing due now


def test_a_certificate_that_expired_unrenewed_is_replaced(services, parties, clock):
    view = services.subscriptions.create(parties.acme.id, public_key=public_key_pem(), actor="a")
    clock.set(view.not_after + DAY)  # the jobs did not run for a day
    report = services.subscriptions.renew_due()
    assert [r["why"] for r in report.renewed] == ["expired"]
    assert services.subscriptions.get(view.id).certificate_status == "valid"


def test_part_of_a_delegation_ends_the_certificate_is_replaced_at_once(services, parties):
    c = parties
    campaign = services.registry.delegate(
        c.acme.id, c.callco.id, scope("12025550100:6"), services.clock.now() + 20 * DAY, actor="e"
    )
    view = services.subscriptions.create(c.callco.id, public_key=public_key_pem(), actor="bpo")
    assert carried(services, view) == scope("12025550100:6")

    services.registry.release(
        campaign.grant.id, "campaign_ended", actor="acme", part=scope("12025550100:2")
    )
    # No job ran: the registry's change hook revoked and renewed.
    assert revocation_reason(services, view.serial) is not None
    now = services.subscriptions.get(view.id, acting=c.callco)
    assert now.serial != view.serial and now.certificate_status == "valid"
    assert carried(services, now) == scope("12025550102:4")
    assert now.to_json()["ranges"] == [{"start": "12025550102", "count": 4}]
    with services.storage.read() as session:
        renewed = audit_store.audit_events_for(session, view.id)[-1]
    assert renewed.action == "subscription.renewed"
    assert renewed.details["why"] == "revoked"
    assert renewed.details["dropped"] == scope("12025550100:2").to_json()
    assert services.subscriptions.renew_due().counts()["renewed"] == 0


def test_a_scope_asked_for_shrinks_to_what_is_left(services, parties):
    c = parties
    asg = services.registry.assign(
        c.tnsp_b.id, c.acme.id, scope("12025550300:3"), services.clock.now() + 30 * DAY, actor="b"
    )
    view = services.subscriptions.create(
        c.acme.id,
        public_key=public_key_pem(),
        scope=scope("12025550105:2", "12025550300:3"),
        actor="acme",
    )
    services.registry.release(asg.grant.id, "ported_away", actor="b")
    now = services.subscriptions.get(view.id)
    assert revocation_reason(services, view.serial) == "affiliationChanged"
    assert carried(services, now) == scope("12025550105:2")  # never more than was asked
    assert now.to_json()["requested"] == scope("12025550105:2", "12025550300:3").to_scope_json()


def test_when_nothing_is_left_the_subscription_ends_and_nothing_is_issued(services, parties):
    c = parties
    campaign = services.registry.delegate(
        c.acme.id, c.callco.id, scope("12025550100:6"), services.clock.now() + 20 * DAY, actor="e"
    )
    view = services.subscriptions.create(c.callco.id, public_key=public_key_pem(), actor="bpo")
    signed = signed_count(services)
    services.registry.release(campaign.grant.id, "campaign_ended", actor="acme")
    ended = services.subscriptions.get(view.id)
    assert ended.subscription.status == "ended"
    assert ended.subscription.end_reason == "unauthorized"
    assert ended.serial == view.serial and ended.certificate_status == "revoked"
    assert signed_count(services) == signed
    assert actions(services, view.id)[-1] == "subscription.ended"
    services.clock.advance(2 * DAY)
    assert services.subscriptions.renew_due().counts() == {
        "renewed": 0,
        "ended": 0,
        "deferred": 0,
        "failed": 0,
    }


def test_the_end_of_an_assignment_ends_the_subscription_through_the_jobs(services, clock):
    c = cast(services)
    end = clock.now() + 2 * DAY
    services.registry.assign(c.tnsp_a.id, c.acme.id, scope("12025550100:10"), end, actor="a")
    view = services.subscriptions.create(c.acme.id, public_key=public_key_pem(), actor="acme")
    serials = [view.serial]
    deferred = 0
    while clock.now() < end:
        clock.advance(dt.timedelta(minutes=30))
        result = renew_subscriptions(services)
        serials += [r["serial"] for r in result["renewed"]]
        deferred += len(result["deferred"])
        assert result["failed"] == []
    # Renewed at two thirds of each life; once a new certificate would end with the evidence
    # (the assignment's expiry) like the current one, none is issued.
    current = services.subscriptions.get(view.id)
    assert len(serials) == 3 and deferred >= 1
    assert current.subscription.status == "ended"
    assert current.subscription.end_reason == "unauthorized"
    assert current.certificate.not_after == end  # capped by the assignment's expiry
    assert run_all_once(services)["renew_subscriptions"]["renewed"] == []


def test_a_key_revoked_as_compromised_is_never_certified_again(services, parties):
    view = services.subscriptions.create(parties.acme.id, public_key=public_key_pem(), actor="a")
    services.ra.revoke(
        view.serial,
        RevocationReason.KEY_COMPROMISE,
        actor="acme",
        operator=False,
        organization_id=parties.acme.id,
    )
    signed = signed_count(services)
    report = services.subscriptions.renew_due()
    assert report.ended == [{"subscription": view.id, "reason": "key_compromise"}]
    assert signed_count(services) == signed


def test_a_revocation_for_another_reason_is_replaced_by_the_next_run(services, parties):
    view = services.subscriptions.create(parties.acme.id, public_key=public_key_pem(), actor="a")
    services.ra.revoke(view.serial, RevocationReason.SUPERSEDED, actor="op", operator=True)
    report = services.subscriptions.renew_due()
    assert [r["why"] for r in report.renewed] == ["revoked"]


def test_one_failing_subscription_does_not_stop_the_others(services, parties, clock):
    c = parties
    services.registry.assign(
        c.tnsp_b.id, c.globex.id, scope("12025550500:5"), clock.now() + 30 * DAY, actor="b"
    )
    good = services.subscriptions.create(c.acme.id, public_key=public_key_pem(), actor="a")
    bad = services.subscriptions.create(c.globex.id, public_key=public_key_pem(), actor="g")
    # Globex later gets numbers outside the issuer's TNAuthList: its next certificate, which
    # asks for everything it holds, cannot be issued (RFC 9060 encompassment).
    services.registry.assign(
        c.tnsp_b.id, c.globex.id, scope("13035550100"), clock.now() + 30 * DAY, actor="b"
    )
    seen = []
    services.subscriptions.observers.append(seen.append)
    clock.set(max(good.subscription.renew_after, bad.subscription.renew_after))
    report = services.subscriptions.renew_due()
    assert [r["subscription"] for r in report.renewed] == [good.id]
    assert [f["subscription"] for f in report.failed] == [bad.id]
    assert report.failed[0]["error"].startswith("out-of-issuer-scope")
    assert seen == [report]
    # It stays active and is tried again on the next run.
    assert services.subscriptions.get(bad.id).subscription.status == "active"
    assert services.subscriptions.renew_due().counts()["failed"] == 1


def test_of_two_concurrent_renewals_one_wins_and_the_other_certificate_is_revoked(
    services, parties, clock, monkeypatch
):
    view = services.subscriptions.create(parties.acme.id, public_key=public_key_pem(), actor="a")
    clock.set(view.subscription.renew_after)
    issue = services.ra.request_certificate
    inner: list = []

    def racing(request):
        # While this renewal is signing, another process (the registry hook) renews first.
        if not inner:
            inner.append(None)
            inner[0] = services.subscriptions.renew_due()
        return issue(request)

    monkeypatch.setattr(services.ra, "request_certificate", racing)
    outer = services.subscriptions.renew_due()
    winner = inner[0].renewed[0]["serial"]
    assert services.subscriptions.get(view.id).serial == winner
    assert [f["subscription"] for f in outer.failed] == [view.id]
    assert outer.failed[0]["error"].startswith("conflict")
    loser = [e.object_id for e in _events(services, "certificate.revoked")]
    assert len(loser) == 1 and loser[0] != winner
    assert revocation_reason(services, loser[0]) == "superseded"
    assert actions(services, view.id) == ["subscription.created", "subscription.renewed"]


def _events(services, action: str) -> list:
    with services.storage.read() as session:
        return [e for e in audit_store.iter_audit_events(session) if e.action == action]
