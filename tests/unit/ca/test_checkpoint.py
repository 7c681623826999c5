"""WAL checkpoints run in a background thread, not inside the commit of a request."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ca import metrics
from ca.storage import sqlite as gated
from ca.storage.checkpoint import Checkpointer
from ca.storage.engine import Storage

PAGE = 4096


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = Storage(f"sqlite:///{tmp_path / 'delegato.db'}")
    with store.driver_transaction() as unit:
        unit.cursor.execute("CREATE TABLE pages (body BLOB NOT NULL)")
    yield store
    store.dispose()


def _database(storage: Storage) -> str:
    database = storage._database_file
    assert database is not None
    return database


def _use(storage: Storage, checkpointer: Checkpointer) -> Checkpointer:
    """Give the storage's database file this checkpointer (in place of the default one)."""
    gate = gated.gate_for(_database(storage))
    gate.checkpointer.stop()
    gate.checkpointer = checkpointer
    return checkpointer


def _write_pages(storage: Storage, pages: int, per_commit: int = 4) -> None:
    for _ in range(pages // per_commit):
        with storage.driver_transaction() as unit:
            unit.cursor.executemany(
                "INSERT INTO pages (body) VALUES (?)", [(b"x" * (PAGE - 200),)] * per_commit
            )


def _wal_pages(storage: Storage) -> int:
    return Path(_database(storage) + "-wal").stat().st_size // PAGE


def _eventually(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _checkpoint_threads(storage: Storage) -> list[threading.Thread]:
    name = f"delegato-checkpoint {_database(storage)}"
    return [t for t in threading.enumerate() if t.name == name]


def test_commits_leave_the_log_to_the_background(storage: Storage) -> None:
    # With SQLite's default, the commit that passes 1,000 pages checkpoints and the log starts
    # over, so it never grows much past that; here no commit checkpoints on its own.
    _use(storage, Checkpointer(_database(storage), commits=10**9, interval=3600))
    _write_pages(storage, 1600)
    assert _wal_pages(storage) > 1500


def test_the_background_thread_copies_the_log_into_the_database(storage: Storage) -> None:
    checkpointer = _use(storage, Checkpointer(_database(storage), commits=8, interval=0.05))
    database = Path(_database(storage))
    size_before = database.stat().st_size
    done_before = metrics.SQLITE_CHECKPOINTS.labels("done")._value.get()

    _write_pages(storage, 200)

    assert _eventually(lambda: checkpointer.completed >= 1)
    assert _eventually(lambda: database.stat().st_size >= size_before + 150 * PAGE)
    assert metrics.SQLITE_CHECKPOINTS.labels("done")._value.get() > done_before
    # A fresh connection reading the file sees every row, whatever is left in the log.
    with sqlite3.connect(database) as reader:
        assert reader.execute("SELECT count(*) FROM pages").fetchone() == (200,)


def test_sqlite_checkpoints_as_a_backstop_when_the_thread_falls_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gated, "BACKSTOP_PAGES", 100)
    store = Storage(f"sqlite:///{tmp_path / 'delegato.db'}")
    try:
        with store.driver_transaction() as unit:
            unit.cursor.execute("CREATE TABLE pages (body BLOB NOT NULL)")
        _use(store, Checkpointer(_database(store), commits=10**9, interval=3600))
        _write_pages(store, 1000)
        assert _wal_pages(store) < 300
    finally:
        store.dispose()


def test_the_thread_starts_with_the_first_commit_and_ends_with_dispose(
    storage: Storage,
) -> None:
    _use(storage, Checkpointer(_database(storage)))
    assert _checkpoint_threads(storage) == []
    _write_pages(storage, 4)
    assert len(_checkpoint_threads(storage)) == 1
    storage.dispose()
    assert _checkpoint_threads(storage) == []


def test_an_idle_thread_ends_and_the_next_commit_starts_another(storage: Storage) -> None:
    checkpointer = _use(
        storage, Checkpointer(_database(storage), commits=1, interval=0.02, idle=0.1)
    )
    _write_pages(storage, 4)
    assert _eventually(lambda: checkpointer.completed >= 1)
    assert _eventually(lambda: _checkpoint_threads(storage) == [])

    completed = checkpointer.completed
    _write_pages(storage, 4)
    assert len(_checkpoint_threads(storage)) == 1
    assert _eventually(lambda: checkpointer.completed > completed)


def test_a_failed_checkpoint_is_logged_and_counted_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = str(tmp_path / "delegato.db")
    broken = sqlite3.connect(path)
    broken.close()  # any statement on it now raises sqlite3.ProgrammingError
    failed_before = metrics.SQLITE_CHECKPOINTS.labels("failed")._value.get()
    with caplog.at_level("WARNING", logger="delegato.storage"):
        Checkpointer(path)._checkpoint(broken)
    assert metrics.SQLITE_CHECKPOINTS.labels("failed")._value.get() == failed_before + 1
    assert f"checkpoint of {path} failed" in caplog.text



def test_a_thread_that_cannot_open_the_database_reports_and_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = str(tmp_path / "missing" / "delegato.db")  # its directory does not exist
    checkpointer = Checkpointer(path)
    escaped: list[BaseException | None] = []
    previous, threading.excepthook = threading.excepthook, lambda args: escaped.append(args.exc_value)
    failed_before = metrics.SQLITE_CHECKPOINTS.labels("failed")._value.get()
    try:
        with caplog.at_level("WARNING", logger="delegato.storage"):
            checkpointer.committed()
            assert _eventually(lambda: checkpointer._thread is None)
    finally:
        threading.excepthook = previous
    assert escaped == []
    assert metrics.SQLITE_CHECKPOINTS.labels("failed")._value.get() == failed_before + 1
    assert f"checkpoint of {path} failed" in caplog.text


def _write_once(path: str) -> None:
    store = Storage(f"sqlite:///{path}")
    with store.driver_transaction() as unit:
        unit.cursor.execute("INSERT INTO pages (body) VALUES (x'00')")
    store.dispose()


def test_a_process_forked_as_the_thread_starts_can_use_the_database(storage: Storage) -> None:
    # A commit starts the thread, which opens its connection while the committing thread goes
    # on, say to fork a child. A child forked while the thread was inside SQLite could inherit a
    # process-wide SQLite mutex locked and hang at its first connection; forks now wait for the
    # thread to be outside SQLite.
    checkpointer = _use(storage, Checkpointer(_database(storage), commits=1, interval=0.0005))
    context = multiprocessing.get_context("fork")
    exit_codes = []
    for _ in range(20):
        checkpointer.stop()
        _write_pages(storage, 1, per_commit=1)  # starts the thread
        child = context.Process(target=_write_once, args=(_database(storage),))
        child.start()
        child.join(timeout=20)
        if child.exitcode is None:
            child.kill()
        exit_codes.append(child.exitcode)
    assert exit_codes == [0] * 20
    with sqlite3.connect(_database(storage)) as reader:
        assert reader.execute("SELECT count(*) FROM pages").fetchone() == (20 + 20,)
