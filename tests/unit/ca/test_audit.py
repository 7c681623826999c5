"""`audit verify` notices any change, removal or reordering of events."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ca.storage import audit as audit_store


@pytest.fixture
def populated(services):
    for name in ("A", "B", "C"):
        services.organizations.add("enterprise", name, actor="operator:test")
    return services


def _verify(services):
    with services.storage.read() as session:
        return services.audit.verify(session)


def _sql(services, statement: str, **params) -> None:
    with services.storage.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_intact_chain_verifies(populated):
    result = _verify(populated)
    assert result.ok, result.problems
    with populated.storage.read() as session:
        assert result.events == audit_store.audit_head(session)[0] >= 3


def test_changed_event_is_detected(populated):
    _sql(populated, "update audit_events set actor = 'mallory' where seq = 2")
    result = _verify(populated)
    assert not result.ok and any("event 2 was altered" in p for p in result.problems)


def test_removed_event_is_detected(populated):
    _sql(populated, "delete from audit_events where seq = 2")
    result = _verify(populated)
    assert not result.ok and any("missing" in p for p in result.problems)


def test_reordered_events_are_detected(populated):
    # Swap the content of two events, keeping each one's own hash consistent with itself.
    _sql(populated, "update audit_events set seq = -1 where seq = 2")
    _sql(populated, "update audit_events set seq = 2 where seq = 3")
    _sql(populated, "update audit_events set seq = 3 where seq = -1")
    result = _verify(populated)
    assert not result.ok


def test_truncated_tail_is_detected(populated):
    with populated.storage.read() as session:
        head = audit_store.audit_head(session)[0]
    _sql(populated, "delete from audit_events where seq = :seq", seq=head)
    result = _verify(populated)
    assert not result.ok and any("removed from the end" in p for p in result.problems)


def test_events_of_one_driver_transaction_join_the_chain_in_order_at_commit(populated):
    storage, audit = populated.storage, populated.audit
    with storage.read() as session:
        head_before = audit_store.audit_head(session)[0]
    with storage.driver_transaction() as unit:
        for n in range(3):
            audit.record(unit, actor="t", action=f"step.{n}", object_type="x", object_id="batch")
        with storage.read() as session:  # nothing is visible before the commit
            assert audit_store.audit_head(session)[0] == head_before
    with storage.read() as session:
        events = audit_store.audit_events_for(session, "batch")
        head = audit_store.audit_head(session)
    assert [e.action for e in events] == ["step.0", "step.1", "step.2"]
    assert [e.seq for e in events] == [head_before + 1, head_before + 2, head_before + 3]
    assert head == (events[-1].seq, events[-1].hash)
    assert _verify(populated).ok


def test_a_driver_transaction_that_rolls_back_leaves_the_chain_untouched(populated):
    storage, audit = populated.storage, populated.audit
    with storage.read() as session:
        head_before = audit_store.audit_head(session)
    with pytest.raises(RuntimeError), storage.driver_transaction() as unit:
        audit.record(unit, actor="t", action="lost", object_type="x", object_id="gone")
        raise RuntimeError("rolled back")
    with storage.read() as session:
        assert audit_store.audit_head(session) == head_before
        assert audit_store.audit_events_for(session, "gone") == []
    assert _verify(populated).ok
