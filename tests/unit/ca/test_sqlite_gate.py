"""SQLite writers queue on the write gate: one writing transaction at a time across threads and
processes, released by commit, rollback, close or the death of the process that held it, and never
taken by readers."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from ca.storage.engine import Storage
from ca.storage.sqlite import gate_for

CTX = multiprocessing.get_context("fork")


@pytest.fixture
def storage(tmp_path: Path):
    store = Storage(f"sqlite:///{tmp_path / 'gate.db'}")
    with store.connection() as unit:
        unit.execute(text("CREATE TABLE events (who TEXT, at REAL)"))
    yield store
    store.dispose()


def _rows(storage: Storage) -> list[tuple[str, float]]:
    with storage.read_connection() as unit:
        return [tuple(row) for row in unit.execute(text("SELECT who, at FROM events ORDER BY at"))]


def _write_in_background(storage: Storage, who: str) -> threading.Event:
    """One writing transaction on another thread; the event is set once it has committed."""
    done = threading.Event()

    def writer() -> None:
        with storage.driver_transaction() as unit:
            unit.cursor.execute("INSERT INTO events VALUES (?, 1)", (who,))
        done.set()

    threading.Thread(target=writer, daemon=True).start()
    return done


def test_the_lock_file_sits_beside_the_database(storage, tmp_path):
    with storage.driver_transaction() as unit:
        unit.cursor.execute("INSERT INTO events VALUES ('a', 0)")
    assert (tmp_path / "gate.db-write.lock").exists()
    assert oct((tmp_path / "gate.db-write.lock").stat().st_mode & 0o777) == "0o600"


def test_a_second_thread_writes_only_after_the_first_commits(storage):
    inside = threading.Event()
    finished_at: list[float] = []
    began_at: list[float] = []

    def first() -> None:
        with storage.driver_transaction() as unit:
            unit.cursor.execute("INSERT INTO events VALUES ('first', 1)")
            inside.set()
            time.sleep(0.3)
        finished_at.append(time.monotonic())

    def second() -> None:
        inside.wait()
        with storage.transaction() as session:  # the ORM path passes the same gate
            session.execute(text("INSERT INTO events VALUES ('second', 2)"))
            began_at.append(time.monotonic())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert began_at[0] >= finished_at[0] - 0.01
    assert [who for who, _ in _rows(storage)] == ["first", "second"]


def test_readers_are_not_held_up_by_a_writer(storage):
    with storage.driver_transaction() as unit:
        unit.cursor.execute("INSERT INTO events VALUES ('old', 0)")
    with storage.driver_transaction() as unit:
        unit.cursor.execute("INSERT INTO events VALUES ('new', 1)")
        started = time.monotonic()
        seen = _rows(storage)  # another connection, while this one holds the gate
        assert time.monotonic() - started < 5
        assert [who for who, _ in seen] == ["old"]


@pytest.mark.parametrize("ending", ["raise", "rollback"])
def test_a_transaction_that_fails_gives_the_gate_back(storage, ending):
    if ending == "raise":
        with pytest.raises(RuntimeError), storage.driver_transaction() as unit:
            unit.cursor.execute("INSERT INTO events VALUES ('lost', 0)")
            raise RuntimeError("boom")
    else:
        with storage.engine.connect() as connection, connection.begin() as transaction:
            connection.execute(text("INSERT INTO events VALUES ('lost', 0)"))
            transaction.rollback()
    done = _write_in_background(storage, "kept")
    assert done.wait(10), "the gate stayed taken after the failed transaction"
    assert [who for who, _ in _rows(storage)] == ["kept"]


def _hold_gate(url: str, ready, seconds: float) -> None:
    store = Storage(url)
    with store.driver_transaction() as unit:
        unit.cursor.execute("INSERT INTO events VALUES ('child', 0)")
        ready.set()
        time.sleep(seconds)


def test_another_process_waits_in_the_queue_then_writes(storage):
    ready = CTX.Event()
    child = CTX.Process(target=_hold_gate, args=(storage.url, ready, 0.5))
    child.start()
    assert ready.wait(10)
    started = time.monotonic()
    with storage.driver_transaction() as unit:
        waited = time.monotonic() - started
        unit.cursor.execute("INSERT INTO events VALUES ('parent', 1)")
    child.join(10)
    assert child.exitcode == 0
    assert waited > 0.2  # it queued behind the child's transaction...
    assert [who for who, _ in _rows(storage)] == ["child", "parent"]  # ...and both landed


def test_a_process_killed_inside_a_transaction_leaves_the_database_writable(storage):
    ready = CTX.Event()
    child = CTX.Process(target=_hold_gate, args=(storage.url, ready, 60))
    child.start()
    assert ready.wait(10)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    with storage.driver_transaction() as unit:
        unit.cursor.execute("INSERT INTO events VALUES ('after', 1)")
    assert [who for who, _ in _rows(storage)] == ["after"]  # the child's write never committed


def test_a_forked_process_makes_its_own_gate(tmp_path):
    path = str(tmp_path / "x.db")
    parent_gate = gate_for(path)
    reader, writer = CTX.Pipe()

    def child() -> None:
        writer.send(gate_for(path) is parent_gate)

    process = CTX.Process(target=child)
    process.start()
    process.join(10)
    assert reader.recv() is False
    assert gate_for(path) is parent_gate


def test_in_memory_databases_have_no_gate():
    store = Storage("sqlite://")
    with store.connection() as unit:
        unit.execute(text("CREATE TABLE t (x INTEGER)"))
        unit.execute(text("INSERT INTO t VALUES (1)"))
    with store.connection() as unit:
        assert unit.execute(text("SELECT count(*) FROM t")).scalar() == 1
    store.dispose()


def test_writers_wait_for_whoever_holds_the_lock_file(storage, tmp_path):
    """Another program (or a `delegato` command) holding the lock file holds off every writer,
    though SQLite itself is free: the queue is the file, not SQLite's busy handler."""

    storage.ping()
    holder = os.open(tmp_path / "gate.db-write.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    done = _write_in_background(storage, "w")
    assert not done.wait(0.5)
    assert _rows(storage) == []  # a reader meanwhile sees nothing and is not held up
    fcntl.flock(holder, fcntl.LOCK_UN)
    os.close(holder)
    assert done.wait(10)
    assert [who for who, _ in _rows(storage)] == ["w"]
