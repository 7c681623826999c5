"""WAL checkpoints off the request path: a background thread copies the log into the database.

In WAL mode SQLite appends each commit to ``<database>-wal`` and later copies those pages back into
the database file (a checkpoint). By default the commit that takes the log past 1,000 pages runs
the checkpoint itself, fsyncs included, before it returns: on Delegato that is a certificate
request stalled for milliseconds while it still holds the write gate (``ca.storage.sqlite``), so
every writer of every process waits behind it, about once per fifty certificates.

Instead each process that writes a database file keeps one thread that runs a PASSIVE checkpoint on
its own connection after a few dozen commits or a second, whichever comes first. A passive
checkpoint never waits for and never blocks readers or writers; when another process is already
checkpointing it steps aside, and the next run picks up what is left. Connections keep SQLite's own
checkpoint as a backstop at :data:`BACKSTOP_PAGES`: the log starts over only after a checkpoint no
writer interleaves with, which that one provides under the write gate (by then the thread has copied
nearly every page, so it costs little more than its fsyncs); it also bounds the log if the thread falls
behind or a process writes without one. The thread starts with the first commit and ends after a
while without any, or when the storage is disposed.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref

from ca import metrics

#: SQLite's own checkpoint, run by the commit that passes this many pages in the log (4 KiB each).
BACKSTOP_PAGES = 4_000
#: A checkpoint once this many commits have been noted ...
COMMITS_PER_CHECKPOINT = 64
#: ... or this long after the first commit noted since the last one.
INTERVAL_SECONDS = 1.0
#: The thread ends after this long without a commit; the next commit starts it again.
IDLE_SECONDS = 30.0

log = logging.getLogger("delegato.storage")


class Checkpointer:
    """Checkpoints one database file from a background thread of this process."""

    def __init__(
        self,
        path: str,
        *,
        commits: int = COMMITS_PER_CHECKPOINT,
        interval: float = INTERVAL_SECONDS,
        idle: float = IDLE_SECONDS,
    ) -> None:
        self._path = path
        self._commits = commits
        self._interval = interval
        self._idle = idle
        self._lock = threading.Lock()
        #: Held by the thread for every SQLite call, and by a fork (see _hold_for_fork): a child
        #: forked while the thread was inside SQLite could inherit one of SQLite's process-wide
        #: mutexes locked, with no thread left to unlock it, and hang at its first connection.
        self._in_sqlite = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._wake = threading.Event()
        self._pending = 0  # commits noted since the last checkpoint (approximate under threads)
        self._thread: threading.Thread | None = None
        self._stopping = False
        #: Checkpoints this process completed (PASSIVE runs that were not turned away as busy).
        self.completed = 0
        _ALL.add(self)

    def committed(self) -> None:
        """Note one commit; the hot path's whole share of checkpointing."""
        self._pending += 1
        if self._thread is None:
            self._start()
        elif self._pending >= self._commits:
            self._wake.set()

    def stop(self) -> None:
        """End the thread, after one last checkpoint of the commits still pending; the next commit
        starts another."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping = thread is not None
        if thread is not None:
            self._wake.set()
            thread.join()
        with self._lock:
            self._stopping = False

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopping:
                return
            self._wake.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"delegato-checkpoint {self._path}", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        me = threading.current_thread()
        try:
            with self._in_sqlite:
                try:
                    connection = self._connection = sqlite3.connect(
                        self._path, timeout=30, isolation_level=None
                    )
                    # The checkpoint's fsyncs follow the connection's setting: as durable as the
                    # writers'.
                    connection.execute("PRAGMA synchronous=NORMAL")
                except sqlite3.Error as exc:
                    self._failed(exc)  # the backstop still checkpoints; the next commit retries
                    return
            idle_since = time.monotonic()
            while self._thread is me:
                self._wake.wait(self._interval)
                self._wake.clear()
                if self._pending == 0:
                    if time.monotonic() - idle_since > self._idle:
                        break
                    continue
                self._pending = 0
                idle_since = time.monotonic()
                with self._in_sqlite:
                    self._checkpoint(connection)
        finally:
            with self._in_sqlite:
                if self._connection is not None:
                    self._connection.close()
                    self._connection = None
            with self._lock:
                if self._thread is me:
                    self._thread = None

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        started = time.perf_counter()
        try:
            busy, _log_pages, _copied = connection.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
        except sqlite3.Error as exc:
            # Nothing is lost: the pages stay in the log, and the next run or the backstop copies them.
            self._failed(exc)
            return
        outcome = "busy" if busy else "done"
        if not busy:
            self.completed += 1
            metrics.SQLITE_CHECKPOINT_SECONDS.observe(time.perf_counter() - started)
        metrics.SQLITE_CHECKPOINTS.labels(outcome).inc()

    def _failed(self, exc: sqlite3.Error) -> None:
        log.warning("checkpoint of %s failed: %s", self._path, exc)
        metrics.SQLITE_CHECKPOINTS.labels("failed").inc()


_ALL: weakref.WeakSet[Checkpointer] = weakref.WeakSet()
_HELD: list[Checkpointer] = []
#: Connections a forked child inherited from its parent's threads: never used, never closed (closing
#: one would let SQLite tidy the shared log as if it were the child's).
_INHERITED: list[sqlite3.Connection] = []


def _hold_for_fork() -> None:
    _HELD[:] = list(_ALL)
    for checkpointer in _HELD:
        checkpointer._in_sqlite.acquire()


def _release_in_parent() -> None:
    for checkpointer in _HELD:
        checkpointer._in_sqlite.release()
    _HELD.clear()


def _reset_in_child() -> None:
    # The thread did not come along; the next commit through a gate of this process starts one
    # (the write gates are per process, so that is a new checkpointer anyway).
    for checkpointer in _HELD:
        if checkpointer._connection is not None:
            _INHERITED.append(checkpointer._connection)
        checkpointer._connection = None
        checkpointer._in_sqlite = threading.Lock()
        checkpointer._lock = threading.Lock()
        checkpointer._wake = threading.Event()
        checkpointer._thread = None
        checkpointer._stopping = False
    _HELD.clear()


os.register_at_fork(
    before=_hold_for_fork, after_in_parent=_release_in_parent, after_in_child=_reset_in_child
)
