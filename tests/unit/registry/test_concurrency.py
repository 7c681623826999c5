"""Eight writers post overlapping geographic assignments at once on PostgreSQL: exactly one holder
per number, no duplicate rows, and every loser is told which assignment holds its numbers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ca.errors import CAError, ErrorKind
from ca.storage.models import AssignmentRow, AssignmentSpanRow
from tests.conftest import make_services
from tests.support import pgcluster
from tests.unit.registry.parties import DAY, scope

WORKERS = 8


@pytest.fixture
def pg_services(tmp_path: Path, postgres_cluster, clock):
    url = pgcluster.create_database(postgres_cluster, f"conc_{tmp_path.name[-20:]}".lower())
    built = make_services(tmp_path / "home", url, clock)
    yield built
    built.close()


def _race(services, authority, enterprises, ranges):
    barrier = threading.Barrier(len(enterprises))
    outcomes: dict[int, object] = {}

    def post(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = services.registry.assign(
                authority.id,
                enterprises[i].id,
                scope(ranges[i]),
                services.clock.now() + 30 * DAY,
                actor=f"worker-{i}",
            )
        except CAError as error:
            outcomes[i] = error

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(enterprises))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
def test_eight_writers_one_number_one_holder(pg_services):
    services = pg_services
    tnsp = services.organizations.add("tn_authority", "TNSP", actor="t")
    enterprises = [
        services.organizations.add("enterprise", f"E{i}", actor="t") for i in range(WORKERS)
    ]

    # Everyone wants the same block: exactly one wins, seven are told who holds it.
    outcomes = _race(services, tnsp, enterprises, ["12025551000:100"] * WORKERS)
    winners = [o for o in outcomes.values() if not isinstance(o, CAError)]
    losers = [o for o in outcomes.values() if isinstance(o, CAError)]
    assert len(winners) == 1 and len(losers) == WORKERS - 1
    for error in losers:
        assert error.kind is ErrorKind.CONFLICT
        assert winners[0].grant.id in error.detail

    # Overlapping neighbours (each block overlaps the next by half): whatever the order, no
    # number ends up with two holders.
    ranges = [f"{12025560000 + 50 * i}:100" for i in range(WORKERS)]
    outcomes = _race(services, tnsp, enterprises, ranges)
    assert all(
        (isinstance(o, CAError) and o.kind is ErrorKind.CONFLICT) or not isinstance(o, CAError)
        for o in outcomes.values()
    )
    with services.storage.read() as session:
        spans = session.execute(
            select(AssignmentSpanRow.enterprise_id, AssignmentSpanRow.lo, AssignmentSpanRow.hi)
        ).all()
        grants = session.scalar(select(func.count()).select_from(AssignmentRow))
    holders: dict[int, str] = {}
    for enterprise_id, lo, hi in spans:
        for number in range(lo, hi + 1):
            assert holders.setdefault(number, enterprise_id) == enterprise_id, number
    won = sum(not isinstance(o, CAError) for o in outcomes.values())
    assert grants == 1 + won
    # Each block overlaps only its neighbours and a loser lost to a neighbour that won, so the
    # winners form a maximal independent set of a path of eight: at least three of them.
    assert won >= 3
    for i, outcome in outcomes.items():
        if isinstance(outcome, CAError):
            neighbours = {outcomes.get(i - 1), outcomes.get(i + 1)} - {None}
            assert any(
                not isinstance(n, CAError) and n.grant.id in outcome.detail for n in neighbours
            )


@pytest.mark.postgres
def test_eight_bulk_imports_at_once_leave_one_holder_per_number(pg_services):
    """Bulk posts (COPY) that overlap their neighbours by half: each is written whole or not at
    all, and every loser names assignments of the posts that won."""
    from ca.registry import GrantRequest

    services = pg_services
    tnsp = services.organizations.add("tn_authority", "TNSP", actor="t")
    enterprises = [
        services.organizations.add("enterprise", f"E{i}", actor="t") for i in range(WORKERS)
    ]
    until = services.clock.now() + 30 * DAY
    batches = [
        [
            GrantRequest(
                tnsp.id,
                enterprises[i].id,
                ((11, start, start + 9),),
                until,
                label=f"line {row + 2}: ",
            )
            for row, start in enumerate(range(12025600000 + 300 * i, 12025600600 + 300 * i, 10))
        ]
        for i in range(WORKERS)
    ]
    barrier = threading.Barrier(WORKERS)
    outcomes: dict[int, object] = {}

    def post(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = services.registry.post_many("assignment", batches[i], actor=f"w{i}")
        except CAError as error:
            outcomes[i] = error

    threads = [threading.Thread(target=post, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    won = {i for i, o in outcomes.items() if not isinstance(o, CAError)}
    assert len(won) >= 3  # a maximal independent set of a path of eight
    with services.storage.read() as session:
        spans = session.execute(select(AssignmentSpanRow.enterprise_id, AssignmentSpanRow.lo)).all()
        grants = session.scalar(select(func.count()).select_from(AssignmentRow))
    # Winners are written whole, losers not at all; the blocks are aligned, so a number held
    # twice would be a block start held twice.
    assert grants == len(spans) == 60 * len(won)
    assert {enterprise for enterprise, _ in spans} == {enterprises[i].id for i in won}
    assert len({lo for _, lo in spans}) == len(spans)
    winning_grants = {g.id for i in won for g in outcomes[i].grants}
    for outcome in outcomes.values():
        if isinstance(outcome, CAError):
            assert outcome.kind is ErrorKind.CONFLICT
            assert {p.value for p in outcome.subproblems} <= winning_grants
