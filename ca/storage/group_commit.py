"""Group commit: concurrent writers of one process share one transaction and one commit.

Issuing a certificate writes twice (the record of intent before the real key signs, the
certificate after), and each write is a short transaction whose fixed costs (a pooled connection,
BEGIN, the commit's WAL or fsync, on SQLite the write gate) outweigh its few statements. When
several requests write at once, the first becomes the leader: it opens a transaction, takes every
write queued by then, runs them one after the other and commits once; the others wait and return
when that commit is done, so each still returns only once its write is durable. Alone, a writer
leads a batch of one: the cost over a plain transaction is one lock and one list.

A batch is all or nothing. When one write in it raises, the batch rolls back and each write runs
again alone, so only the write that failed fails (writes therefore only write through the unit
they are given). A failure to open the transaction at all fails every write of the batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

U = TypeVar("U")
T = TypeVar("T")


class _Write(Generic[U]):
    """One caller's write, and its outcome once its batch has committed (or failed)."""

    __slots__ = ("done", "error", "lead", "result", "work")

    def __init__(self, work: Callable[[U], Any]) -> None:
        self.work = work
        self.done = threading.Event()
        self.lead = False  # this caller runs the next batch
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommit(Generic[U]):
    """Batches the writes of concurrent threads into shared transactions, one batch at a time."""

    def __init__(self, transaction: Callable[[], AbstractContextManager[U]]) -> None:
        self._transaction = transaction
        self._lock = threading.Lock()
        self._queue: list[_Write[U]] = []
        self._leading = False
        #: Writes and batches committed so far.
        self.writes = 0
        self.batches = 0

    def run(self, work: Callable[[U], T]) -> T:
        """Run ``work`` in a shared transaction; its result once that has committed."""
        write: _Write[U] = _Write(work)
        with self._lock:
            self._queue.append(write)
            if not self._leading:
                self._leading = write.lead = True
        if not write.lead:
            write.done.wait()  # committed by a leader, or woken to lead the next batch
        if write.lead:
            self._lead()
        if write.error is not None:
            raise write.error
        return write.result

    def _lead(self) -> None:
        batch: list[_Write[U]] = []
        try:
            batch = self._commit()
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]  # stays queued: it leads its own batch
                    successor.lead = True
                    successor.done.set()
                else:
                    self._leading = False
            for write in batch:
                write.done.set()

    def _take(self) -> list[_Write[U]]:
        with self._lock:
            batch, self._queue = self._queue, []
        return batch

    def _commit(self) -> list[_Write[U]]:
        """Run the queued writes in one transaction; each alone if any of them fails."""
        batch: list[_Write[U]] = []
        try:
            with self._transaction() as unit:
                # Taken once the transaction is open (on SQLite, once the write gate is ours):
                # everything queued while waiting for it joins this batch.
                batch = self._take()
                for write in batch:
                    write.result = write.work(unit)
        except BaseException as exc:
            if not batch:  # the transaction could not begin: nothing ran, all fail alike
                batch = self._take()
                for write in batch:
                    write.error = exc
                return batch
            if len(batch) == 1:
                batch[0].error = exc
                return batch
            self._one_by_one(batch)
            return batch
        self._count(len(batch), 1)
        return batch

    def _one_by_one(self, batch: list[_Write[U]]) -> None:
        for write in batch:
            write.result, write.error = None, None
            try:
                with self._transaction() as unit:
                    write.result = write.work(unit)
            except BaseException as exc:
                write.error = exc
            else:
                self._count(1, 1)

    def _count(self, writes: int, batches: int) -> None:
        with self._lock:
            self.writes += writes
            self.batches += batches
