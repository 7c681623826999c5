"""The table the gunicorn workers share their connection counts through (ca/serve_worker.py)."""

from __future__ import annotations

import multiprocessing
import os
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


def _affinity_after_pin(pin: bool, slot: int | None) -> set[int]:
    """The CPUs a forked child may use after pin_to_cpu (the test process itself stays free)."""
    context = multiprocessing.get_context("fork")
    answer = context.SimpleQueue()

    def child() -> None:
        serve_worker.PIN_CPUS = pin
        serve_worker.pin_to_cpu(slot)
        answer.put(os.sched_getaffinity(0))

    process = context.Process(target=child)
    process.start()
    process.join(10)
    return answer.get()


def test_each_worker_keeps_to_the_cpu_its_slot_names():
    allowed = sorted(os.sched_getaffinity(0))
    for slot in range(3):
        expected = {allowed[slot % len(allowed)]} if len(allowed) > 1 else set(allowed)
        assert _affinity_after_pin(True, slot) == expected


def test_pinning_off_or_outside_serve_leaves_the_cpus_alone():
    allowed = os.sched_getaffinity(0)
    assert _affinity_after_pin(False, 1) == allowed
    assert _affinity_after_pin(True, None) == allowed  # a plain gunicorn: no slot
