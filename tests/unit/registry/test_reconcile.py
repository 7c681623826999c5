"""Reconciliation ends what expired, narrows delegations whose cover ended, revokes what is no
longer authorized, republishes CRLs — and a second run changes nothing."""

from __future__ import annotations

import threading

from cryptography import x509

from ca.storage import audit as audit_store
from tests.unit.registry.parties import DAY, cast, issue, revocation, scope


def _crl_number(services) -> int:
    return services.crls.latest(services.issuers.active_sca().id).number


def test_expiry_ends_rights_revokes_certificates_and_is_idempotent(services, clock):
    c = cast(services)
    now = clock.now()
    short = services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:10"), now + 2 * DAY, actor="a"
    )
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550200:10"), now + 30 * DAY, actor="a"
    )
    dlg = services.registry.delegate(
        c.acme.id, c.callco.id, scope("12025550105:2", "12025550200:2"), now + 20 * DAY, actor="e"
    )
    # Certificates that last past the short assignment's end: issued by operator override with
    # no registry cap would be left alone, so these are capped... issue them, then extend time.
    enterprise_cert = issue(services, c.acme, "12025550200:5")
    clock.advance(3 * DAY)
    # A certificate issued before the end whose numbers include the ended ones: the registry
    # capped it at the end, so it has expired and needs no revocation.
    report = services.reconciler.reconcile()
    assert short.grant.id in report.expired
    assert dlg.grant.id in report.narrowed
    assert services.registry.view(dlg.grant.id).numbers == scope("12025550200:2")
    assert services.registry.view(short.grant.id).grant.end_reason == "expired"
    assert revocation(services, enterprise_cert) is None
    number = _crl_number(services)
    again = services.reconciler.reconcile()
    assert not again.changed and again.crls == []
    assert _crl_number(services) == number


def test_certificates_resting_on_ended_rights_are_revoked_and_listed(services, clock):
    c = cast(services)
    now = clock.now()
    asg = services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:10"), now + 30 * DAY, actor="a"
    )
    services.registry.delegate(
        c.acme.id, c.callco.id, scope("12025550100:5"), now + 20 * DAY, actor="e"
    )
    enterprise_cert = issue(services, c.acme)
    bpo_cert = issue(services, c.callco)
    # Without the release hook (as after a crash between the release and its revocations), the
    # scheduled reconciliation still finds both certificates.
    services.registry.lifecycle.on_change = None
    services.registry.release(asg.grant.id, "disconnected", actor="a")
    report = services.reconciler.reconcile()
    revoked = {r["serial"]: r["reason"] for r in report.revoked}
    assert revoked == {
        format(enterprise_cert.serial_number, "x"): "cessationOfOperation",
        format(bpo_cert.serial_number, "x"): "cessationOfOperation",
    }
    crl = x509.load_der_x509_crl(services.crls.latest(services.issuers.active_sca().id).der)
    for cert in (enterprise_cert, bpo_cert):
        assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    with services.storage.read() as session:
        events = audit_store.audit_events_for(session, format(bpo_cert.serial_number, "x"))
    assert events[-1].action == "certificate.revoked"
    assert events[-1].actor == "system:reconcile"
    assert not services.reconciler.reconcile().changed


def test_a_certificate_revoked_a_moment_ago_is_not_revoked_twice(services):
    """Reconciliation and a holder's revocation may race: the second revoker stands down."""
    from ca.storage import repo
    from ca.storage.records import Revocation
    from tests.conftest import enterprise_holding

    cert = issue(services, enterprise_holding(services), "12025550100")
    serial, issuer = format(cert.serial_number, "x"), services.issuers.active_sca().id
    now = services.clock.now()
    first = Revocation(serial, issuer, "superseded", now, "holder")
    second = Revocation(serial, issuer, "cessationOfOperation", now, "job")
    with services.storage.transaction() as session:
        assert repo.add_revocation_if_absent(session, first) is True
    with services.storage.transaction() as session:
        assert repo.add_revocation_if_absent(session, second) is False
        assert repo.get_certificate(session, serial).revocation.reason == "superseded"


def test_issuance_goes_on_while_reconciliation_looks_at_every_certificate(services, monkeypatch):
    """The scan of live certificates is a read: a certificate request made meanwhile is answered
    at once, not after the scan (on SQLite a writing scan would hold the one write lock)."""
    from ca.registry import reconcile as reconcile_module
    from tests.conftest import enterprise_holding

    holder = enterprise_holding(services)
    issue(services, holder, "12025550100")
    scanning, finish = threading.Event(), threading.Event()
    original = reconcile_module.live_certificates

    def paused_scan(*args, **kwargs):
        rows = original(*args, **kwargs)
        scanning.set()
        finish.wait(30)
        return rows

    monkeypatch.setattr(reconcile_module, "live_certificates", paused_scan)
    reconciling = threading.Thread(target=services.reconciler.reconcile)
    reconciling.start()
    try:
        assert scanning.wait(30)
        issued: list[x509.Certificate] = []
        requester = threading.Thread(target=lambda: issued.append(issue(services, holder, "12025550101")))
        requester.start()
        requester.join(20)  # the scan is still paused: only a request that does not wait returns
        assert issued, "the certificate request waited for the reconciliation scan"
    finally:
        finish.set()
        reconciling.join(30)
    assert revocation(services, issued[0]) is None
