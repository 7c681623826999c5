"""Scheduled jobs: `jobs --once`, CRL refresh at half-life, one leader per database;
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from cryptography import x509
from sqlalchemy import text

from ca import jobs
from ca.errors import CAError
from ca.jobs import (
    LEASE_TTL,
    SUBSCRIPTION_RETENTION,
    Leader,
    purge,
    refresh_crls,
    run_all_once,
    run_if_leader,
)
from ca.services import build_services
from ca.storage import audit as audit_store
from ca.storage import repo
from ca.storage.records import Intent
from tests.conftest import make_config
from tests.unit.registry.parties import DAY, cast, issue, scope
from tests.unit.subscriptions.helpers import carried, public_key_pem

SECOND = dt.timedelta(seconds=1)


def _published(services) -> list[str]:
    """The root and SCA ids: the issuers that publish CRLs."""
    return [i.id for i in services.issuers.all() if i.record.role in ("root", "sca")]


def _numbers(services) -> dict[str, int]:
    return {i: services.crls.latest(i).number for i in _published(services)}


def test_run_all_once_reconciles_renews_refreshes_crls_and_purges(services):
    c = cast(services)
    now = services.clock.now()
    short = services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:10"), now + 2 * DAY, actor="tnsp-a"
    )
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550200"), now + 30 * DAY, actor="tnsp-a"
    )
    campaign = services.registry.delegate(
        c.acme.id, c.callco.id, scope("12025550100:5"), now + 10 * DAY, actor="acme"
    )
    mine = services.subscriptions.create(c.acme.id, public_key=public_key_pem(), actor="acme")
    theirs = services.subscriptions.create(c.callco.id, public_key=public_key_pem(), actor="bpo")

    first = run_all_once(services)
    assert list(first) == ["reconcile", "renew_subscriptions", "refresh_crls", "purge"]
    assert first["reconcile"] == {"expired": [], "narrowed": [], "revoked": [], "crls": []}
    assert first["renew_subscriptions"] == {
        "renewed": [],
        "ended": [],
        "deferred": [],
        "failed": [],
    }
    assert first["refresh_crls"] == {"refreshed": []}  # the CRLs of `init` are fresh
    assert first["purge"] == {"crls": 0, "leases": 0, "intents": 0, "subscriptions": 0}

    services.clock.advance(2 * DAY)
    second = run_all_once(services)
    assert second["reconcile"]["expired"] == [short.grant.id]
    assert second["reconcile"]["narrowed"] == [campaign.grant.id]  # its cover is gone
    assert sorted(second["refresh_crls"]["refreshed"]) == sorted(_published(services))
    assert services.registry.view(short.grant.id).grant.end_reason == "expired"
    status = services.registry.status("12025550100").status
    assert status["assigned"] is False
    assert services.registry.status("12025550200").status["assigned"] is True
    # Acme's certificate ran out: the next carries what is left; CallCo has nothing left.
    assert [r["subscription"] for r in second["renew_subscriptions"]["renewed"]] == [mine.id]
    assert carried(services, services.subscriptions.get(mine.id)) == scope("12025550200")
    assert second["renew_subscriptions"]["ended"] == [
        {"subscription": theirs.id, "reason": "unauthorized"}
    ]

    third = run_all_once(services)  # idempotent
    assert third == first


def test_refresh_crls_waits_for_half_the_validity(services):
    half = services.config.crl.validity / 2
    before = _numbers(services)
    assert refresh_crls(services) == {"refreshed": []}

    services.clock.advance(half - SECOND)
    assert refresh_crls(services) == {"refreshed": []}
    assert _numbers(services) == before

    services.clock.advance(SECOND)
    assert refresh_crls(services) == {"refreshed": _published(services)}
    after = _numbers(services)
    assert after == {i: n + 1 for i, n in before.items()}
    for issuer in _published(services):
        latest = services.crls.latest(issuer)
        assert latest.this_update == services.clock.now()
        assert latest.next_update == services.clock.now() + services.config.crl.validity

    assert refresh_crls(services) == {"refreshed": []}  # fresh again
    services.clock.advance(half - SECOND)
    assert refresh_crls(services) == {"refreshed": []}
    assert _numbers(services) == after


def test_an_issuer_whose_crl_was_just_regenerated_is_left_alone(services):
    root, sca = (i.id for i in services.issuers.all() if i.record.role in ("root", "sca"))
    services.clock.advance(services.config.crl.validity / 2)
    services.crls.generate(sca, actor="operator:test")
    assert refresh_crls(services) == {"refreshed": [root]}


@pytest.fixture
def second_process(services, database_url, clock, tmp_path):
    """Another Delegato process on the same database (and the same fixed clock)."""
    other = build_services(make_config(tmp_path / "home", database_url), clock=clock)
    yield other
    other.close()


def test_one_leader_until_its_lease_runs_out(services, second_process):
    first, second = Leader(services, "host-a:1"), Leader(second_process, "host-b:2")
    assert first.acquire()
    assert not second.acquire()
    services.clock.advance(LEASE_TTL / 2)
    assert first.acquire()  # renewed: runs until now + TTL
    services.clock.advance(LEASE_TTL - SECOND)
    assert not second.acquire()
    services.clock.advance(SECOND)  # the renewed lease has run out
    assert second.acquire()
    assert not first.acquire()
    first.release()  # not its lease: nothing happens
    assert not first.acquire()
    second.release()
    assert first.acquire()


def test_default_holders_differ_between_processes(services, second_process):
    a, b = Leader(services), Leader(second_process)
    assert a.holder != b.holder
    assert a.acquire() and not b.acquire()


def test_run_if_leader_runs_only_on_the_leader(services, second_process, monkeypatch):
    calls: list[str] = []

    def probe(s):
        calls.append(s.storage.engine.url.render_as_string())
        return {"ran": len(calls)}

    monkeypatch.setitem(jobs.JOBS, "probe", (probe, dt.timedelta(minutes=1)))
    leader, follower = Leader(services, "a"), Leader(second_process, "b")
    assert run_if_leader(services, leader, "probe") == {"ran": 1}
    assert run_if_leader(second_process, follower, "probe") is None
    assert len(calls) == 1
    assert run_if_leader(services, leader, "probe") == {"ran": 2}


def test_a_failing_job_is_logged_and_the_schedule_goes_on(services, monkeypatch, caplog):
    def boom(_services):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(jobs.JOBS, "boom", (boom, dt.timedelta(minutes=1)))
    leader = Leader(services, "a")
    with caplog.at_level(logging.INFO, logger="delegato.jobs"):
        assert run_if_leader(services, leader, "boom") is None
        assert run_if_leader(services, leader, "refresh_crls") == {"refreshed": []}
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failed] == ["job boom failed"]
    assert failed[0].exc_info is not None and "disk on fire" in str(failed[0].exc_info[1])
    assert any(r.getMessage() == "job refresh_crls ran" for r in caplog.records)


def _rows(services, table: str) -> int:
    with services.storage.read() as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_purge_removes_only_what_is_long_dead(services, clock):
    c = cast(services)
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:10"), clock.now() + 300 * DAY, actor="a"
    )
    issued = issue(services, c.acme, "12025550100:2")
    cancelled = services.subscriptions.create(c.acme.id, public_key=public_key_pem(), actor="a")
    services.subscriptions.cancel(cancelled.id, actor="acme")
    kept = services.subscriptions.create(c.acme.id, public_key=public_key_pem(), actor="a")
    # A crash between storing the intent and the certificate leaves an intent alone.
    sca = services.issuers.active_sca().id
    with services.storage.driver_transaction() as unit:
        repo.reserve_serials(unit, ["0abc"], sca, clock.now())
        repo.add_intent(
            unit, Intent("0abc", sca, c.acme.id, "delegate_ee", b"x", "0" * 64, clock.now())
        )
    assert Leader(services, "gone:1").acquire()
    crls_before = _rows(services, "crls")  # one per issuer, and one more after the revocation
    certificates = _rows(services, "certificates")

    # Within their retention the CRL, the intent and the subscription stay; the lease is gone.
    clock.advance(services.config.issuance.max_lifetime)
    assert purge(services) == {"crls": 0, "leases": 1, "intents": 0, "subscriptions": 0}

    clock.advance(SUBSCRIPTION_RETENTION)
    result = purge(services)
    assert result == {
        "crls": crls_before - len(_published(services)),
        "leases": 0,
        "intents": 1,
        "subscriptions": 1,
    }
    assert purge(services) == {"crls": 0, "leases": 0, "intents": 0, "subscriptions": 0}
    # The newest CRL of each issuer, every certificate and the audit chain stay.
    assert _rows(services, "crls") == len(_published(services))
    for issuer in _published(services):
        assert services.crls.latest(issuer) is not None
    assert _rows(services, "certificates") == certificates
    assert services.ra.certificate(format(issued.serial_number, "x")) is not None
    assert services.subscriptions.get(kept.id).subscription.status == "active"
    with pytest.raises(CAError):
        services.subscriptions.get(cancelled.id)
    with services.storage.read() as session:
        assert services.audit.verify(session).ok
        purged = [e for e in audit_store.iter_audit_events(session) if e.action == "data.purged"]
    assert [e.details for e in purged] == [
        {"crls": 0, "leases": 1, "intents": 0, "subscriptions": 0},
        result,
    ]


def test_scheduled_runs_are_reported_to_observers(services, second_process, monkeypatch):
    runs: list[jobs.JobRun] = []
    monkeypatch.setattr(jobs, "OBSERVERS", [runs.append, _broken_observer])

    def boom(_services):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(jobs.JOBS, "boom", (boom, dt.timedelta(minutes=1)))
    leader, follower = Leader(services, "a"), Leader(second_process, "b")
    assert run_if_leader(services, leader, "refresh_crls") == {"refreshed": []}
    assert run_if_leader(services, leader, "boom") is None
    assert run_if_leader(second_process, follower, "refresh_crls") is None
    assert [(r.name, r.outcome) for r in runs] == [
        ("refresh_crls", "ok"),
        ("boom", "failed"),
        ("refresh_crls", "skipped"),
    ]
    assert runs[0].result == {"refreshed": []} and runs[0].seconds >= 0
    assert runs[1].error == "RuntimeError" and runs[1].result is None


def _broken_observer(_run):
    raise ValueError("a broken observer never stops a job")


def test_a_moved_public_url_gets_fresh_crls_at_once(services, database_url, clock, tmp_path):
    """The CRLs named the old URL in their issuing distribution point; verifiers would refuse
    them, so the next refresh regenerates them without waiting for half their validity."""
    moved = build_services(
        make_config(tmp_path / "home", database_url, public_url="https://sti-cr.example.net"),
        clock=clock,
    )
    try:
        assert sorted(refresh_crls(moved)["refreshed"]) == sorted(_published(services))
        for issuer in _published(moved):
            crl = x509.load_der_x509_crl(moved.crls.latest(issuer).der)
            idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
            assert idp.full_name[0].value == f"https://sti-cr.example.net/crl/{issuer}.crl"
        assert refresh_crls(moved) == {"refreshed": []}
    finally:
        moved.close()


def test_jobs_started_together_on_threads_all_find_their_process_leads(services):
    """APScheduler starts every job at once on threads of one process; on a fresh database they
    race for the first lease row, and every one of them must see that its process holds it."""
    import threading

    leader = Leader(services)
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def acquire() -> None:
        barrier.wait()
        results.append(leader.acquire())

    threads = [threading.Thread(target=acquire) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 6
    assert not Leader(services, holder="another process").acquire()
