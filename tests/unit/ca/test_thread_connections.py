"""On SQLite the hot path's units of work run on each thread's own connection: reused by its
thread, never shared with another, replaced after a fork, a dispose or a failure it cannot roll
back, and closed when its thread ends."""

from __future__ import annotations

import gc
import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from ca.storage.engine import Storage
from ca.storage.sqlite import ThreadConnections

CTX = multiprocessing.get_context("fork")


@pytest.fixture
def storage(tmp_path: Path):
    store = Storage(f"sqlite:///{tmp_path / 'own.db'}")
    with store.connection() as unit:
        unit.execute(text("CREATE TABLE events (who TEXT UNIQUE)"))
    yield store
    store.dispose()


def _write(storage: Storage, who: str) -> None:
    with storage.driver_transaction() as unit:
        unit.cursor.execute("INSERT INTO events VALUES (?)", (who,))


def _read(storage: Storage) -> list[str]:
    with storage.driver_read() as unit:
        unit.cursor.execute("SELECT who FROM events ORDER BY who")
        return [who for (who,) in unit.cursor.fetchall()]


def _connection_of(storage: Storage) -> sqlite3.Connection:
    with storage.driver_read() as unit:
        return unit.cursor.connection


def test_a_thread_keeps_its_connection_and_threads_do_not_share(storage):
    mine = _connection_of(storage)
    theirs: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: theirs.append(_connection_of(storage)))
    worker.start()
    worker.join(10)
    assert _connection_of(storage) is mine
    assert theirs and theirs[0] is not mine


def test_reads_and_writes_on_own_connections_see_each_others_commits(storage):
    _write(storage, "main")
    worker = threading.Thread(target=_write, args=(storage, "thread"))
    worker.start()
    worker.join(10)
    assert _read(storage) == ["main", "thread"]
    with storage.read() as session:  # the pooled connections see them too
        assert session.execute(text("SELECT count(*) FROM events")).scalar_one() == 2


def test_after_a_failed_write_the_connection_is_clean_and_the_gate_free(storage):
    _write(storage, "a")
    with pytest.raises(sqlite3.IntegrityError), storage.driver_transaction() as unit:
        unit.cursor.execute("INSERT INTO events VALUES ('b')")
        unit.cursor.execute("INSERT INTO events VALUES ('a')")  # UNIQUE: the unit fails
    assert not _connection_of(storage).in_transaction
    _write(storage, "c")  # the same thread writes again at once
    other = threading.Thread(target=_write, args=(storage, "d"))
    other.start()
    other.join(10)
    assert _read(storage) == ["a", "c", "d"]  # 'b' was rolled back with its unit


def test_a_connection_that_cannot_roll_back_is_replaced(storage, monkeypatch):
    broken = _connection_of(storage)
    own: ThreadConnections = storage._own  # type: ignore[assignment]

    def refuse() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(broken, "rollback", refuse)
    with pytest.raises(RuntimeError), storage.driver_transaction():
        raise RuntimeError("boom")
    monkeypatch.undo()
    assert _connection_of(storage) is not broken
    with pytest.raises(sqlite3.ProgrammingError):
        broken.execute("SELECT 1")  # closed, not left half-open
    assert own is storage._own
    _write(storage, "after")
    assert _read(storage) == ["after"]


def test_dispose_closes_them_and_the_storage_still_works(storage):
    before = _connection_of(storage)
    _write(storage, "before")
    storage.dispose()
    with pytest.raises(sqlite3.ProgrammingError):
        before.execute("SELECT 1")
    _write(storage, "after")
    assert _read(storage) == ["after", "before"]


def test_a_thread_that_ends_closes_its_connection(storage):
    seen: list[sqlite3.Connection] = []

    def work() -> None:
        _write(storage, "worker")
        seen.append(_connection_of(storage))

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(10)
    connection = seen.pop()
    assert connection.in_transaction is False
    own: ThreadConnections = storage._own  # type: ignore[assignment]
    assert connection in set(own._open)
    del connection
    gc.collect()
    assert len(own._open) == 0  # the main thread has not opened one yet
    assert _read(storage) == ["worker"]


def _child_writes(storage: Storage, results) -> None:
    try:
        _write(storage, "child")
        results.put(("ok", _read(storage)))
    except Exception as exc:  # reported to the parent, which asserts
        results.put(("error", repr(exc)))


def test_a_forked_child_opens_its_own_and_the_parent_keeps_its(storage):
    _write(storage, "parent")
    parent_connection = _connection_of(storage)
    results = CTX.Queue()
    child = CTX.Process(target=_child_writes, args=(storage, results))
    child.start()
    outcome = results.get(timeout=20)
    child.join(10)
    assert outcome == ("ok", ["child", "parent"])
    assert _connection_of(storage) is parent_connection
    _write(storage, "parent again")
    assert _read(storage) == ["child", "parent", "parent again"]
