"""SQLite writers queue on a lock file instead of SQLite's busy handler.

SQLite lets one writer at a time hold a database. A writer that finds it taken is retried by the
busy handler after sleeps of 1, 2, 5, 10 ... 100 ms, so under concurrent issuance the processes of
one server spend most of their waits asleep after the lock is free again, and the thread that
holds it may in turn wait up to a GIL switch interval for its own process. The gate puts writers
in a queue the kernel wakes at once: a thread lock orders the threads of a process, and
``flock(2)`` on ``<database>-write.lock`` orders the processes (every ``delegato`` command and
server on the same file). The kernel drops a dead process's lock, so a crash never leaves the
database locked. Readers never touch the gate (WAL lets them read beside the writer).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from typing import Any

from ca.storage.checkpoint import BACKSTOP_PAGES, Checkpointer

#: How long a writer waits for the other threads of its process before "database is locked".
WAIT_SECONDS = 30.0


class WriteGate:
    """One writing transaction at a time on one database file, across threads and processes.

    It also carries the file's :class:`~ca.storage.checkpoint.Checkpointer` in this process,
    which every commit through the gate notifies.
    """

    def __init__(self, database: str) -> None:
        self._lock_path = database + "-write.lock"
        self.checkpointer = Checkpointer(database)
        self._threads = threading.Lock()
        self._owner: int | None = None
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Wait for the gate; False when this thread already holds it (SQLite decides then)."""
        me = threading.get_ident()
        if self._owner == me:
            return False
        if not self._threads.acquire(timeout=WAIT_SECONDS):
            raise sqlite3.OperationalError("database is locked (waited for the write gate)")
        try:
            if self._fd is None:
                self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._owner = me
        return True

    def release(self) -> None:
        self._owner = None
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


_GATES: dict[tuple[int, str], WriteGate] = {}
_GATES_LOCK = threading.Lock()


def gate_for(database: str) -> WriteGate:
    """The gate of one database file in this process (a forked child makes its own)."""
    key = (os.getpid(), database)
    gate = _GATES.get(key)
    if gate is None:
        with _GATES_LOCK:
            gate = _GATES.setdefault(key, WriteGate(database))
    return gate


class GatedConnection(sqlite3.Connection):
    """A sqlite3 connection whose writing transactions pass the database's write gate.

    ``begin_immediate`` takes the gate, then SQLite's write lock; ``commit``, ``rollback`` and
    ``close`` give the gate back once SQLite has let go of the transaction.
    """

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._path = os.path.abspath(database) if _is_file(database) else None
        self._held: WriteGate | None = None

    def begin_immediate(self) -> None:
        if self._path is not None and self._held is None:
            gate = gate_for(self._path)  # looked up each time: the process may have forked
            if gate.acquire():
                self._held = gate
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._let_go()
            raise

    def commit(self) -> None:
        gate = self._held
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._let_go()
        if gate is not None:
            gate.checkpointer.committed()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._let_go()

    def _let_go(self) -> None:
        gate, self._held = self._held, None
        if gate is not None:
            gate.release()


def _is_file(database: Any) -> bool:
    """A path, not an in-memory database or a ``file:`` URI (Delegato names neither)."""
    text = str(os.fspath(database))
    return text not in ("", ":memory:") and not text.startswith("file:")


def prepare_connection(connection: sqlite3.Connection) -> None:
    """What every Delegato connection to SQLite runs first: WAL, foreign keys, a busy timeout,
    checkpoints left to the background (SQLite's own only as a backstop, see
    ``ca.storage.checkpoint``), and transaction control taken from the sqlite3 module (the caller
    says BEGIN)."""
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class ThreadConnections:
    """Each thread's own connection to one database file, for the issuance hot path.

    Checking a connection out of SQLAlchemy's pool and back (events, the pool's record, the
    reset on return) costs more than the one or few statements of a hot unit of work, and an
    issuance makes four. SQLite connections are cheap and never go stale, so each thread keeps
    one, prepared like the pool's. A thread's connection closes when the thread ends or
    :meth:`close_all` runs; a forked child never touches its parent's, it opens its own; a
    connection that cannot even roll back is closed and replaced.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[GatedConnection] = weakref.WeakSet()
        #: Replaced by close_all and in a forked child: a thread's connection made under another
        #: token is not used again.
        self._token = object()
        _ALL_THREAD_CONNECTIONS.add(self)

    def get(self) -> GatedConnection:
        """This thread's connection, opened on first use (again after a fork or close_all)."""
        local = self._local
        if getattr(local, "token", None) is self._token:
            connection: GatedConnection = local.connection
            return connection
        connection = sqlite3.connect(
            self._path, timeout=30, check_same_thread=False, factory=GatedConnection
        )
        prepare_connection(connection)
        with self._lock:
            self._open.add(connection)
            local.connection, local.token = connection, self._token
        return connection

    def recover(self, connection: GatedConnection) -> None:
        """After a failed unit of work: roll back, or give the connection up if even that fails."""
        try:
            connection.rollback()
        except sqlite3.Error:
            self._local.__dict__.pop("token", None)
            with self._lock:
                self._open.discard(connection)
            connection.close()

    def close_all(self) -> None:
        """Close every thread's connection; each thread opens a new one on next use."""
        with self._lock:
            mine, self._open, self._token = list(self._open), weakref.WeakSet(), object()
        for connection in mine:
            connection.close()

    def _forget_after_fork(self) -> None:
        # The parent's connections stay the parent's: a child must not use them, nor close them
        # (SQLite would tidy the shared WAL as if it were theirs), so they are kept, unused.
        _INHERITED.extend(self._open)
        self._lock = threading.Lock()
        self._open, self._token = weakref.WeakSet(), object()


_ALL_THREAD_CONNECTIONS: weakref.WeakSet[ThreadConnections] = weakref.WeakSet()
_INHERITED: list[GatedConnection] = []


def _after_fork_in_child() -> None:
    for connections in list(_ALL_THREAD_CONNECTIONS):
        connections._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
