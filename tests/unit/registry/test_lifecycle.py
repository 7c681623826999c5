"""Releases and transfers: what ends, what continues, what gets revoked and why."""

from __future__ import annotations

import pytest
from cryptography import x509

from ca.errors import CAError, ErrorKind
from tests.unit.registry.parties import DAY, cast, issue, revocation, scope


@pytest.fixture
def held(services):
    c = cast(services)
    grant = services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:100"), services.clock.now() + 30 * DAY, actor="a"
    )
    return c, grant


@pytest.mark.parametrize(
    ("reason", "crl_reason"),
    [
        ("released", "cessationOfOperation"),
        ("disconnected", "cessationOfOperation"),
        ("ported_away", "affiliationChanged"),
        ("fraud", "privilegeWithdrawn"),
    ],
)
def test_release_revokes_dependent_certificates_with_a_fitting_reason(
    services, held, reason, crl_reason
):
    c, grant = held
    cert = issue(services, c.acme, "12025550150")
    ended = services.registry.release(grant.grant.id, reason, actor="a")
    assert ended.grant.end_reason == reason and ended.grant.ended_at == services.clock.now()
    assert revocation(services, cert) == crl_reason
    crl = x509.load_der_x509_crl(services.crls.latest(services.issuers.active_sca().id).der)
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None


def test_releasing_part_keeps_the_rest_and_spares_certificates_outside_it(services, held):
    c, grant = held
    inside = issue(services, c.acme, "12025550190")
    outside = issue(services, c.acme, "12025550110")
    narrowed = services.registry.release(
        grant.grant.id, "released", actor="a", part=scope("12025550180:20")
    )
    assert narrowed.outcome == "narrowed"
    assert narrowed.numbers == scope("12025550100:80")
    assert revocation(services, inside) == "cessationOfOperation"
    assert revocation(services, outside) is None


def test_release_rules(services, held):
    _c, grant = held
    with pytest.raises(CAError) as info:
        services.registry.release(grant.grant.id, "bored", actor="a")
    assert (info.value.kind, info.value.field) == (ErrorKind.MALFORMED, "reason")
    with pytest.raises(CAError) as info:
        services.registry.release(grant.grant.id, "released", actor="a", part=scope("12025550300"))
    assert info.value.kind is ErrorKind.CONFLICT and "12025550300" in info.value.detail
    services.registry.release(grant.grant.id, "released", actor="a")
    with pytest.raises(CAError) as info:
        services.registry.release(grant.grant.id, "released", actor="a")
    assert info.value.kind is ErrorKind.CONFLICT and "already ended" in info.value.detail
    with pytest.raises(CAError) as info:
        services.registry.release("asg-000000000000", "released", actor="a")
    assert info.value.kind is ErrorKind.NOT_FOUND


def test_partial_transfer_moves_only_those_numbers(services, held):
    c, grant = held
    moved = services.registry.transfer(
        grant.grant.id, c.tnsp_b.id, actor="b", part=scope("12025550150:50")
    )
    assert not moved.whole
    assert services.registry.view(grant.grant.id).numbers == scope("12025550100:50")
    assert services.registry.view(moved.new.id).numbers == scope("12025550150:50")
    evidence = services.registry.authorize(c.acme.id, scope("12025550100:100")).evidence
    assert {e.assignment_id for e in evidence} == {grant.grant.id, moved.new.id}


def test_transfer_to_another_enterprise_ends_the_old_right(services, held):
    c, grant = held
    cert = issue(services, c.acme, "12025550120")
    moved = services.registry.transfer(
        grant.grant.id, c.tnsp_b.id, actor="b", to_enterprise_id=c.globex.id
    )
    assert services.registry.view(grant.grant.id).grant.end_reason == "ported_away"
    assert revocation(services, cert) == "affiliationChanged"
    assert issue(services, c.globex, "12025550120").serial_number
    with pytest.raises(CAError):
        issue(services, c.acme, "12025550120")
    assert moved.new.holder_id == c.globex.id


def test_who_may_transfer(services, held):
    c, grant = held
    with pytest.raises(CAError) as info:
        services.registry.transfer(grant.grant.id, c.tnsp_b.id, actor="x", acting=c.resporg)
    assert info.value.kind is ErrorKind.FORBIDDEN
    with pytest.raises(CAError) as info:
        services.registry.transfer(grant.grant.id, c.tnsp_a.id, actor="a")
    assert info.value.kind is ErrorKind.CONFLICT
    with pytest.raises(CAError) as info:
        services.registry.transfer(grant.grant.id, c.acme.id, actor="a")
    assert (info.value.kind, info.value.field) == (ErrorKind.MALFORMED, "to_authority")
    # The gaining TNSP, holding the port order, may move the numbers to itself.
    moved = services.registry.transfer(grant.grant.id, c.tnsp_b.id, actor="b", acting=c.tnsp_b)
    assert moved.whole
