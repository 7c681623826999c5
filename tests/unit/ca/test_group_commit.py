"""Group commit: concurrent writes share a transaction; each caller still hears only its own fate."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest

from ca.storage.group_commit import GroupCommit


class Ledger:
    """A stand-in database: a transaction is a list of writes, kept only when it commits."""

    def __init__(self) -> None:
        self.committed: list[list[str]] = []
        self.refuse_begin: Exception | None = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[list[str]]:
        if self.refuse_begin is not None:
            raise self.refuse_begin
        unit: list[str] = []
        yield unit  # an exception here is a rollback: nothing is kept
        self.committed.append(unit)


def _writer(name: str, fail: bool = False):
    def work(unit: list[str]) -> str:
        if fail:
            raise ValueError(f"{name} refused")
        unit.append(name)
        return f"{name} stored"

    return work


def _queued(group: GroupCommit, count: int) -> None:
    """Wait until ``count`` writes wait in the queue behind the running batch."""
    deadline = time.monotonic() + 10
    while len(group._queue) < count:
        assert time.monotonic() < deadline, "writers never queued"
        time.sleep(0.001)


def _run_behind_a_blocked_leader(
    group: GroupCommit, writers: list
) -> dict[str, object]:
    """The first writer leads and blocks inside its batch until the others have queued."""
    started, release = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def first(unit: list[str]) -> str:
        started.set()  # its batch is taken: whoever queues now waits for the next one
        release.wait(10)
        unit.append("first")
        return "first stored"

    def call(name: str, work) -> None:
        try:
            outcomes[name] = group.run(work)
        except Exception as exc:
            outcomes[name] = exc

    leader = threading.Thread(target=call, args=("first", first))
    leader.start()
    assert started.wait(10)
    others = [threading.Thread(target=call, args=(name, work)) for name, work in writers]
    for thread in others:
        thread.start()
    _queued(group, len(writers))
    release.set()
    for thread in [leader, *others]:
        thread.join(10)
    return outcomes


def test_a_lone_write_commits_and_returns_its_result():
    ledger = Ledger()
    group = GroupCommit(ledger.transaction)
    assert group.run(_writer("a")) == "a stored"
    assert ledger.committed == [["a"]]
    assert (group.writes, group.batches) == (1, 1)


def test_a_lone_write_that_raises_keeps_nothing_and_raises_to_its_caller():
    ledger = Ledger()
    group = GroupCommit(ledger.transaction)
    with pytest.raises(ValueError, match="a refused"):
        group.run(_writer("a", fail=True))
    assert ledger.committed == []
    assert group.run(_writer("b")) == "b stored"  # the group is not left leaderless
    assert ledger.committed == [["b"]]


def test_writes_queued_behind_a_batch_share_the_next_transaction():
    ledger = Ledger()
    group = GroupCommit(ledger.transaction)
    names = ["w1", "w2", "w3", "w4"]
    outcomes = _run_behind_a_blocked_leader(group, [(n, _writer(n)) for n in names])
    assert outcomes == {"first": "first stored", **{n: f"{n} stored" for n in names}}
    assert ledger.committed[0] == ["first"]
    assert sorted(ledger.committed[1]) == names  # one transaction, one commit for all four
    assert (group.writes, group.batches) == (5, 2)


def test_one_failing_write_fails_alone_and_the_rest_of_its_batch_commits():
    ledger = Ledger()
    group = GroupCommit(ledger.transaction)
    writers = [("w1", _writer("w1")), ("bad", _writer("bad", fail=True)), ("w3", _writer("w3"))]
    outcomes = _run_behind_a_blocked_leader(group, writers)
    assert isinstance(outcomes["bad"], ValueError)
    assert outcomes["w1"] == "w1 stored" and outcomes["w3"] == "w3 stored"
    kept = [write for unit in ledger.committed for write in unit]
    assert sorted(kept) == ["first", "w1", "w3"]  # the shared attempt left nothing behind
    assert all(len(unit) == 1 for unit in ledger.committed[1:])  # then each on its own


def test_a_transaction_that_cannot_begin_fails_every_write_queued_for_it():
    ledger = Ledger()
    group = GroupCommit(ledger.transaction)
    ledger.refuse_begin = OSError("database is locked")
    with pytest.raises(OSError, match="locked"):
        group.run(_writer("a"))
    ledger.refuse_begin = None
    assert group.run(_writer("b")) == "b stored"
    assert ledger.committed == [["b"]]


def test_many_threads_all_commit_exactly_once():
    ledger = Ledger()
    group = GroupCommit(ledger.transaction)
    results: list[str] = []

    def call(n: int) -> None:
        for round_ in range(25):
            results.append(group.run(_writer(f"{n}.{round_}")))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    kept = [write for unit in ledger.committed for write in unit]
    assert sorted(kept) == sorted(f"{n}.{r}" for n in range(8) for r in range(25))
    assert len(results) == 200 and group.writes == 200
    assert not group._leading and not group._queue
