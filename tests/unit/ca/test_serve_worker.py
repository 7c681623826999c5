"""The table the gunicorn workers share their connection counts through (ca/serve_worker.py)."""

from __future__ import annotations

import multiprocessing
from types import SimpleNamespace

import pytest

from ca import serve_worker
from ca.serve_worker import ConnectionTable


def test_slots_are_claimed_free_and_given_back():
    table = ConnectionTable(3)
    assert table.claim(set()) == 0
    assert table.claim({0}) == 1
    assert table.least_other(0) == 0  # slot 1 is live with no connections yet
    table.release(1)
    assert table.least_other(0) is None  # nobody else: never ahead, never sheds
    assert table.claim({0}) == 1
    with pytest.raises(RuntimeError, match="more workers"):
        table.claim({0, 1, 2})


def test_least_other_ignores_the_asking_worker_and_dead_slots():
    table = ConnectionTable(4)
    for slot in range(3):
        table.claim(set(range(slot)))
    table.publish(0, 7)
    table.publish(1, 3)
    table.publish(2, 5)
    assert table.least_other(1) == 5
    assert table.least_other(0) == 3
    table.release(1)
    assert table.least_other(0) == 5


def test_a_forked_worker_publishes_where_the_arbiter_reads():
    table = ConnectionTable(2)
    slot = table.claim(set())
    other = table.claim({slot})
    context = multiprocessing.get_context("fork")
    child = context.Process(target=table.publish, args=(other, 9))
    child.start()
    child.join(10)
    assert table.least_other(slot) == 9


def test_the_arbiter_hooks_hand_out_and_take_back_slots(monkeypatch):
    monkeypatch.setattr(serve_worker, "TABLE", ConnectionTable(2))
    first, second = SimpleNamespace(), SimpleNamespace()
    server = SimpleNamespace(WORKERS={})
    serve_worker.assign_slot(server, first)
    server.WORKERS[1] = first
    serve_worker.assign_slot(server, second)
    assert {first.delegato_slot, second.delegato_slot} == {0, 1}
    serve_worker.free_slot(first)
    del server.WORKERS[1]
    replacement = SimpleNamespace()
    serve_worker.assign_slot(server, replacement)
    assert replacement.delegato_slot == first.delegato_slot
