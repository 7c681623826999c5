"""Scheduled jobs: `jobs --once`, CRL refresh at half-life, one leader per database;
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from ca import jobs
from ca.jobs import LEASE_TTL, Leader, refresh_crls, run_all_once, run_if_leader
from ca.services import build_services
from tests.conftest import make_config
from tests.unit.registry.parties import DAY, cast, scope

SECOND = dt.timedelta(seconds=1)


def _published(services) -> list[str]:
    """The root and SCA ids: the issuers that publish CRLs."""
    return [i.id for i in services.issuers.all() if i.record.role in ("root", "sca")]


def _numbers(services) -> dict[str, int]:
    return {i: services.crls.latest(i).number for i in _published(services)}


def test_run_all_once_reconciles_then_refreshes_crls(services):
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

    first = run_all_once(services)
    assert set(first) == {"reconcile", "refresh_crls"}
    assert first["reconcile"] == {"expired": [], "narrowed": [], "revoked": [], "crls": []}
    assert first["refresh_crls"] == {"refreshed": []}  # the CRLs of `init` are fresh

    services.clock.advance(2 * DAY)
    second = run_all_once(services)
    assert second["reconcile"]["expired"] == [short.grant.id]
    assert second["reconcile"]["narrowed"] == [campaign.grant.id]  # its cover is gone
    assert sorted(second["refresh_crls"]["refreshed"]) == sorted(_published(services))
    assert services.registry.view(short.grant.id).grant.end_reason == "expired"
    status = services.registry.status("12025550100").status
    assert status["assigned"] is False
    assert services.registry.status("12025550200").status["assigned"] is True

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
