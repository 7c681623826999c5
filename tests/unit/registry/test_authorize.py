"""authorize(): evidence per part, exactly the uncovered numbers, the notAfter cap, overrides."""

from __future__ import annotations

import pytest

from ca.errors import CAError, ErrorKind
from ca.storage import registry_queries as store
from tests.unit.registry.parties import DAY, cast, issue, numbers, scope


def test_evidence_names_the_assignment_covering_each_part(services):
    c = cast(services)
    now = services.clock.now()
    a = services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:50"), now + 5 * DAY, actor="a"
    )
    b = services.registry.assign(
        c.tnsp_b.id, c.acme.id, scope("12025550150:50"), now + 9 * DAY, actor="b"
    )
    answer = services.registry.authorize(c.acme.id, scope("12025550140:20"))
    parts = {e.assignment_id: e.numbers for e in answer.evidence}
    assert parts == {a.grant.id: scope("12025550140:10"), b.grant.id: scope("12025550150:10")}
    assert answer.until == now + 5 * DAY
    assert {e["assignment"] for e in answer.to_json()["evidence"]} == {a.grant.id, b.grant.id}


def test_refusal_lists_exactly_the_uncovered_numbers(services):
    c = cast(services)
    until = services.clock.now() + DAY
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:100", "12025550300"), until, actor="a"
    )
    with pytest.raises(CAError) as info:
        services.registry.authorize(
            c.acme.id, scope("12025550090:20", "12025550300:3", "12025550500", "13035550100")
        )
    assert info.value.kind is ErrorKind.TN_NOT_AUTHORIZED
    assert [s.value for s in info.value.subproblems] == [
        "12025550090:10",
        "12025550301:2",
        "12025550500",
        "13035550100",
    ]


def test_certificate_never_outlives_its_evidence(services):
    c = cast(services)
    now = services.clock.now()
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:10"), now + 2 * DAY, actor="a"
    )
    cert = issue(services, c.acme, lifetime=7 * DAY)
    assert cert.not_valid_after_utc == now + 2 * DAY


def test_a_bpo_is_authorized_only_where_delegation_and_enterprise_right_meet(services, clock):
    c = cast(services)
    now = clock.now()
    asg = services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:100"), now + 3 * DAY, actor="a"
    )
    dlg = services.registry.delegate(
        c.acme.id, c.callco.id, scope("12025550100:10"), now + 9 * DAY, actor="e"
    )
    answer = services.registry.authorize(c.callco.id, scope("12025550100:10"))
    (item,) = answer.evidence
    assert (item.assignment_id, item.delegation_id) == (asg.grant.id, dlg.grant.id)
    assert answer.until == now + 3 * DAY  # the delegation never outlives its cover
    status = services.registry.status("12025550105").status
    assert status["holders"][0]["delegations"][0]["expires_at"] == (now + 3 * DAY).isoformat()
    # A BPO is no enterprise: another enterprise's numbers are not its to use.
    with pytest.raises(CAError):
        services.registry.authorize(c.dialco.id, scope("12025550100"))


def test_a_request_without_numbers_gets_everything_authorized_now(services):
    c = cast(services)
    until = services.clock.now() + DAY
    services.registry.assign(c.tnsp_a.id, c.acme.id, scope("12025550100:10"), until, actor="a")
    services.registry.assign(c.resporg.id, c.acme.id, scope("18885550100"), until, actor="r")
    assert numbers(issue(services, c.acme)) == scope("12025550100:10", "18885550100")
    with pytest.raises(CAError) as info:
        issue(services, c.globex)
    assert info.value.kind is ErrorKind.TN_NOT_AUTHORIZED


def test_operator_override_is_recorded_and_left_alone_by_reconciliation(services):
    c = cast(services)
    with pytest.raises(CAError):
        issue(services, c.globex, "12025550100")
    cert = issue(services, c.globex, "12025550100", operator_reason="court order 12/7")
    serial = format(cert.serial_number, "x")
    with services.storage.read() as session:
        (live,) = [
            x for x in store.live_certificates(session, services.clock.now()) if x.serial == serial
        ]
    assert live.basis == "operator"
    assert services.reconciler.reconcile().revoked == []
    from ca.storage import audit as audit_store

    with services.storage.read() as session:
        events = audit_store.audit_events_for(session, serial)
    assert events[0].details["evidence"] == {"basis": "operator", "reason": "court order 12/7"}


def test_spc_scope_is_what_the_authority_with_that_spid_vouches_for_now(services, clock):
    """The verifier's `registry` SPC-parent policy asks this (STANDARDS.md §3)."""
    c = cast(services)
    now = clock.now()
    services.registry.assign(c.tnsp_a.id, c.acme.id, scope("12025550100:10"), now + DAY, actor="a")
    services.registry.assign(
        c.tnsp_a.id, c.globex.id, scope("12025550300"), now + 9 * DAY, actor="a"
    )
    services.registry.assign(c.tnsp_b.id, c.globex.id, scope("12025550400"), now + DAY, actor="b")
    assert services.registry.spc_scope("111a") == scope("12025550100:10", "12025550300")
    assert services.registry.spc_scope("9999") is None
    clock.advance(2 * DAY)
    assert services.registry.spc_scope("111A") == scope("12025550300")
