"""gunicorn's gthread worker, plus an even share of persistent connections between workers.

gthread workers take connections from one listening socket, and a keep-alive connection then
stays with the worker that accepted it. Clients that hold a few persistent connections (an OSP's
SIP proxy pool, a load balancer's upstream pool, a benchmark) connect in a burst, and the first
worker to wake often accepts them all: one worker (one core, one GIL) serves every request while
the other sits idle, and capacity halves. Here the workers publish how many connections each
holds in a table in shared memory; a worker holding more than the least-loaded one stops
accepting, and one holding two or more than it answers its next request with
``Connection: close`` so that the client's reconnection lands on the other worker. At an even
share nothing is closed: keep-alive costs nothing extra in the steady state.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import threading
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

UNUSED = -1


class ConnectionTable:
    """Connections held by each worker slot, in memory the forked workers share."""

    def __init__(self, slots: int) -> None:
        self._counts = multiprocessing.RawArray(ctypes.c_long, [UNUSED] * slots)

    def claim(self, taken: set[int]) -> int:
        """A free slot for a worker about to be forked (the arbiter's single thread calls this)."""
        for slot in range(len(self._counts)):
            if slot not in taken:
                self._counts[slot] = 0
                return slot
        raise RuntimeError("more workers than connection-table slots")

    def publish(self, slot: int, connections: int) -> None:
        self._counts[slot] = connections

    def release(self, slot: int) -> None:
        self._counts[slot] = UNUSED

    def least_other(self, slot: int) -> int | None:
        """The fewest connections any other live worker holds (None: no other worker)."""
        others = [
            count for index, count in enumerate(self._counts) if index != slot and count != UNUSED
        ]
        return min(others) if others else None


#: Set by `delegato serve` in the arbiter before any worker forks; None in a plain gunicorn.
TABLE: ConnectionTable | None = None
#: Set by `delegato serve` from ``[server] pin_cpus``.
PIN_CPUS = False


def assign_slot(server: Any, worker: Any) -> None:
    """gunicorn ``pre_fork`` hook: give the new worker a table slot no live worker holds."""
    if TABLE is not None:
        taken = {getattr(w, "delegato_slot", None) for w in server.WORKERS.values()}
        worker.delegato_slot = TABLE.claim({slot for slot in taken if slot is not None})


def free_slot(worker: Any) -> None:
    """From gunicorn's ``child_exit`` hook: a dead worker's connections are gone."""
    slot = getattr(worker, "delegato_slot", None)
    if TABLE is not None and slot is not None:
        TABLE.release(slot)


class BalancedThreadWorker(ThreadWorker):
    """gthread that keeps its share of connections even with its siblings'."""

    #: A worker this many connections ahead of the least-loaded sheds one per response.
    SHED_AHEAD = 2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections told to close whose close the main loop has not counted yet: without them,
        # the pool threads answering at the same moment would all shed and overshoot.
        self._shedding = 0
        self._shed_lock = threading.Lock()

    def _ahead(self) -> int:
        slot = getattr(self, "delegato_slot", None)
        if TABLE is None or slot is None:
            return 0
        least = TABLE.least_other(slot)
        return 0 if least is None else self.nr_conns - self._shedding - least

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        super().wait_for_and_dispatch_events(timeout)
        slot = getattr(self, "delegato_slot", None)
        if TABLE is not None and slot is not None:
            TABLE.publish(slot, self.nr_conns)

    def set_accept_enabled(self, enabled: bool) -> None:
        # Called by the run loop whenever its own wish (room for connections) differs from the
        # current state, i.e. every turn while this refuses: the refusal is re-decided each turn.
        super().set_accept_enabled(enabled and self._ahead() <= 0)

    def handle_request(self, req: Any, conn: Any) -> Any:
        with self._shed_lock:
            if self._ahead() >= self.SHED_AHEAD:
                self._shedding += 1
                conn.delegato_shed = True
                req.must_close = True  # gunicorn answers "Connection: close" and closes after it
        return super().handle_request(req, conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        super().finish_request(conn, fs)  # closes the connection (and counts it) when it ends
        if getattr(conn, "delegato_shed", False):
            with self._shed_lock:
                self._shedding -= 1

    def init_process(self) -> None:
        pin_to_cpu(getattr(self, "delegato_slot", None))
        super().init_process()


def pin_to_cpu(slot: int | None) -> None:
    """Keep this worker on one of the CPUs the server may use, chosen by its slot.

    A gthread worker's threads take turns at the GIL at every database call. Across two cores
    each handover is a cross-core wake-up and a cold cache (measured: 2.4 ms of CPU per
    certificate with four threads unpinned, 1.8 ms pinned, 1.7 ms with one thread). Workers
    share connections evenly (above), so one worker per CPU keeps the cores evenly busy.
    """
    if not PIN_CPUS or slot is None or not hasattr(os, "sched_setaffinity"):
        return
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) > 1:
        os.sched_setaffinity(0, {allowed[slot % len(allowed)]})
