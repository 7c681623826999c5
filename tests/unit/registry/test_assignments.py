"""Posting assignments and delegations: one holder at a time, toll-free sharing, re-posts,
who may post, and bad input refused whole (nothing written)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ca.errors import CAError, ErrorKind
from ca.storage.models import AssignmentRow, AssignmentSpanRow, AuditEventRow
from tests.unit.registry.parties import DAY, cast, scope


def _counts(services) -> tuple[int, int, int]:
    with services.storage.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(t))
            for t in (AssignmentRow, AssignmentSpanRow, AuditEventRow)
        )


def test_overlapping_geographic_post_is_refused_naming_the_holder_and_numbers(services):
    c = cast(services)
    until = services.clock.now() + 30 * DAY
    first = services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:100"), until, actor="a"
    )
    before = _counts(services)
    with pytest.raises(CAError) as info:
        services.registry.assign(
            c.tnsp_b.id, c.globex.id, scope("12025550050:60", "12025550300"), until, actor="b"
        )
    assert info.value.kind is ErrorKind.CONFLICT
    assert first.grant.id in info.value.detail and c.acme.id in info.value.detail
    assert "12025550100:10" in info.value.detail  # exactly the overlap, not the whole post
    assert [s.value for s in info.value.subproblems] == [first.grant.id]
    assert _counts(services) == before  # nothing of the refused post was written


def test_the_same_enterprise_cannot_hold_a_number_twice_even_toll_free(services):
    c = cast(services)
    until = services.clock.now() + 30 * DAY
    services.registry.assign(c.resporg.id, c.acme.id, scope("18005550100:10"), until, actor="r")
    with pytest.raises(CAError) as info:
        services.registry.assign(c.tnsp_a.id, c.acme.id, scope("18005550105"), until, actor="a")
    assert info.value.kind is ErrorKind.CONFLICT
    shared = services.registry.assign(
        c.resporg.id, c.globex.id, scope("18005550105"), until, actor="r"
    )
    assert shared.outcome == "created"


def test_a_right_may_follow_another_holder_whose_right_ends_first(services):
    c = cast(services)
    now = services.clock.now()
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100"), now + 10 * DAY, actor="a"
    )
    later = services.registry.assign(
        c.tnsp_a.id,
        c.globex.id,
        scope("12025550100"),
        now + 40 * DAY,
        actor="a",
        valid_from=now + 10 * DAY,
    )
    assert later.outcome == "created"
    with pytest.raises(CAError):
        services.registry.assign(
            c.tnsp_b.id,
            c.globex.id,
            scope("12025550100"),
            now + 40 * DAY,
            actor="a",
            valid_from=now + 9 * DAY,
        )


def test_reposting_changes_nothing_or_only_the_expiry(services):
    c = cast(services)
    now = services.clock.now()
    args = (c.tnsp_a.id, c.acme.id, scope("12025550100:10"))
    first = services.registry.assign(*args, now + 10 * DAY, actor="a", evidence="LOA")
    before = _counts(services)
    again = services.registry.assign(*args, now + 10 * DAY, actor="a", evidence="LOA")
    assert (again.grant.id, again.outcome) == (first.grant.id, "unchanged")
    assert _counts(services) == before
    longer = services.registry.assign(*args, now + 20 * DAY, actor="a", evidence="LOA renewed")
    assert (longer.grant.id, longer.outcome) == (first.grant.id, "changed")
    authorization = services.registry.authorize(c.acme.id, scope("12025550105"))
    assert authorization.until == now + 20 * DAY


def test_only_the_posting_authority_or_an_operator_posts_and_ends(services):
    c = cast(services)
    until = services.clock.now() + 30 * DAY
    with pytest.raises(CAError) as info:
        services.registry.assign(
            c.tnsp_a.id, c.acme.id, scope("12025550100"), until, actor="b", acting=c.tnsp_b
        )
    assert info.value.kind is ErrorKind.FORBIDDEN
    posted = services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100"), until, actor="a", acting=c.tnsp_a
    )
    for intruder in (c.tnsp_b, c.acme, c.callco):
        with pytest.raises(CAError) as info:
            services.registry.release(posted.grant.id, "released", actor="x", acting=intruder)
        assert info.value.kind is ErrorKind.FORBIDDEN


def test_a_period_that_is_over_or_inverted_is_refused(services):
    c = cast(services)
    now = services.clock.now()
    for expires, valid_from in ((now - DAY, None), (now + DAY, now + 2 * DAY)):
        with pytest.raises(CAError) as info:
            services.registry.assign(
                c.tnsp_a.id,
                c.acme.id,
                scope("12025550100"),
                expires,
                actor="a",
                valid_from=valid_from,
            )
        assert (info.value.kind, info.value.field) == (ErrorKind.MALFORMED, "expires_at")


def test_parties_must_be_of_the_right_kind(services):
    c = cast(services)
    until = services.clock.now() + DAY
    cases = [
        ((c.acme.id, c.acme.id), "authority"),
        ((c.tnsp_a.id, c.callco.id), "enterprise"),
    ]
    for (authority, enterprise), field in cases:
        with pytest.raises(CAError) as info:
            services.registry.assign(authority, enterprise, scope("12025550100"), until, actor="a")
        assert (info.value.kind, info.value.field) == (ErrorKind.MALFORMED, field)
    with pytest.raises(CAError) as info:
        services.registry.assign(
            "org-000000000000", c.acme.id, scope("12025550100"), until, actor="a"
        )
    assert info.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(CAError) as info:
        services.registry.delegate(c.callco.id, c.dialco.id, scope("12025550100"), until, actor="x")
    assert (info.value.kind, info.value.field) == (ErrorKind.MALFORMED, "enterprise")


def test_spcs_and_literal_numbers_are_not_registry_numbers(services):
    from ca.tnauth import TNAuthList

    c = cast(services)
    until = services.clock.now() + DAY
    for bad in (TNAuthList.from_user(spcs=["1234"]), TNAuthList.from_user(tns=["1202555*100"])):
        with pytest.raises(CAError) as info:
            services.registry.assign(c.tnsp_a.id, c.acme.id, bad, until, actor="a")
        assert (info.value.kind, info.value.field) == (ErrorKind.MALFORMED, "tns")


def test_delegation_must_be_covered_by_the_enterprise_and_never_duplicated(services):
    c = cast(services)
    until = services.clock.now() + 30 * DAY
    services.registry.assign(c.tnsp_a.id, c.acme.id, scope("12025550100:10"), until, actor="a")
    with pytest.raises(CAError) as info:
        services.registry.delegate(
            c.acme.id, c.callco.id, scope("12025550105:10"), until, actor="e"
        )
    assert info.value.kind is ErrorKind.TN_NOT_AUTHORIZED
    assert [s.value for s in info.value.subproblems] == ["12025550110:5"]
    services.registry.delegate(c.acme.id, c.callco.id, scope("12025550100:5"), until, actor="e")
    with pytest.raises(CAError) as info:
        services.registry.delegate(c.acme.id, c.callco.id, scope("12025550104:2"), until, actor="e")
    assert info.value.kind is ErrorKind.CONFLICT
    # Several contact centres may work the same numbers for one enterprise.
    other = services.registry.delegate(
        c.acme.id, c.dialco.id, scope("12025550100:5"), until, actor="e"
    )
    assert other.outcome == "created"
    with pytest.raises(CAError) as info:
        services.registry.delegate(
            c.acme.id, c.callco.id, scope("12025550108"), until, actor="x", acting=c.globex
        )
    assert info.value.kind is ErrorKind.FORBIDDEN


def test_a_bulk_post_round_trips_every_field(services):
    """Large posts take the bulk path (COPY on PostgreSQL): every field comes back as written,
    backslashes, non-ASCII text and a tab in the actor included."""
    from ca.registry import GrantRequest

    c = cast(services)
    now = services.clock.now()
    requests = [
        GrantRequest(
            c.tnsp_a.id,
            c.acme.id if i % 2 else c.globex.id,
            ((11, 12025550000 + 10 * i, 12025550000 + 10 * i + 9),),
            now + (i + 1) * DAY,
            None,
            f"LOA \\{i} «é» \\N" if i % 3 else f"order {i}",
            f"line {i + 2}: ",
        )
        for i in range(120)
    ]
    result = services.registry.post_many("assignment", requests, actor="bulk\tactor")
    assert result.count("created") == 120
    for i in (0, 1, 59, 119):
        view = services.registry.view(result.grants[i].id)
        assert view.grant.evidence == requests[i].evidence
        assert view.grant.expires_at == now + (i + 1) * DAY
        assert view.grant.created_by == "bulk\tactor"
        assert view.numbers == scope(f"{12025550000 + 10 * i}:10")
        assert view.grant.holder_id == requests[i].holder_id
    assert services.registry.post_many("assignment", requests, actor="x").count("unchanged") == 120


def test_after_part_of_a_grant_ends_a_repost_restates_only_what_it_still_holds(services):
    c = cast(services)
    now = services.clock.now()
    args = (c.tnsp_a.id, c.acme.id)
    posted = services.registry.assign(*args, scope("12025550100:100"), now + 10 * DAY, actor="a")
    services.registry.release(posted.grant.id, "released", actor="a", part=scope("12025550100:20"))
    again = services.registry.assign(*args, scope("12025550120:80"), now + 10 * DAY, actor="a")
    assert (again.grant.id, again.outcome) == (posted.grant.id, "unchanged")
    # The old numbers are a new claim: the part still held is held by this very enterprise.
    with pytest.raises(CAError) as info:
        services.registry.assign(*args, scope("12025550100:100"), now + 10 * DAY, actor="a")
    assert info.value.kind is ErrorKind.CONFLICT
    assert posted.grant.id in info.value.detail and "12025550120:80" in info.value.detail
    # Numbers moved to another authority are restated under the new assignment.
    moved = services.registry.transfer(
        posted.grant.id, c.tnsp_b.id, actor="a", part=scope("12025550150:10")
    )
    new = services.registry.assign(
        c.tnsp_b.id,
        c.acme.id,
        scope("12025550150:10"),
        now + 10 * DAY,
        actor="b",
        evidence=moved.new.evidence,
    )
    assert (new.grant.id, new.outcome) == (moved.new.id, "unchanged")


def test_a_bulk_post_sorted_or_not_gives_the_same_grants(services):
    from ca.registry import GrantRequest

    c = cast(services)
    now = services.clock.now()
    numbers = [12025550000 + 7 * i for i in range(80)]  # single numbers, a few apart
    requests = [
        GrantRequest(c.tnsp_a.id, c.acme.id, ((11, n, n),), now + DAY, None, "", f"line {i}: ")
        for i, n in enumerate(reversed(numbers))
    ]
    result = services.registry.post_many("assignment", requests, actor="bulk")
    assert result.count("created") == 80
    held = services.registry.authorized_scope(c.acme.id)
    assert held == scope(*(str(n) for n in numbers))
    assert services.registry.post_many("assignment", requests, actor="x").count("unchanged") == 80


def _clashes(rows: list[tuple[str, int, int]]) -> bool:
    """The one-holder rule said plainly: two rows clash if they share a number and either are
    of the same enterprise or are not both toll-free (+1 800 here)."""
    for i, (e1, lo1, hi1) in enumerate(rows):
        for e2, lo2, hi2 in rows[i + 1 :]:
            if lo1 <= hi2 and lo2 <= hi1 and (e1 == e2 or lo1 < 18000000000 or lo2 < 18000000000):
                return True
    return False


def test_bulk_posts_follow_the_one_holder_rule_said_plainly(services):
    import random

    from ca.registry import GrantRequest

    c = cast(services)
    until = services.clock.now() + 30 * DAY
    outcomes = set()
    for seed in range(24):
        rng = random.Random(seed)
        # Each file in numbers of its own, geographic and toll-free (+1 800), some files so
        # dense that rows collide and some so sparse that they seldom do.
        bases = (12025000000 + 300_000 * seed, 18000000000 + 300_000 * seed)
        spread = rng.choice((3_000, 250_000))
        rows = []
        for _ in range(60):
            lo = rng.choice(bases) + rng.randrange(0, spread, rng.choice((1, 10)))
            size = rng.choice((1, 1, 10, 100, 1500))
            rows.append((rng.choice((c.acme.id, c.globex.id)), lo, lo + size - 1))
        if seed % 3:  # most files sorted, as exports are
            rows.sort(key=lambda r: r[1])
        requests = [
            GrantRequest(c.tnsp_a.id, e, ((11, lo, hi),), until, label=f"line {i + 2}: ")
            for i, (e, lo, hi) in enumerate(rows)
        ]
        expected = _clashes(rows)
        before = _counts(services)[:2]
        try:
            result = services.registry.post_many("assignment", requests, actor="bulk")
        except CAError as error:
            assert error.kind is ErrorKind.CONFLICT and expected, (seed, error.detail)
            assert _counts(services)[:2] == before
            outcomes.add("refused")
            continue
        assert not expected, seed
        assert result.count("created") == 60
        for enterprise in (c.acme.id, c.globex.id):
            mine = [r for r in rows if r[0] == enterprise]
            held = services.registry.authorize(
                enterprise,
                scope(*(f"{lo}:{hi - lo + 1}" if hi > lo else str(lo) for _, lo, hi in mine)),
            )
            assert held.scope.number_count == sum(hi - lo + 1 for _, lo, hi in mine)
        outcomes.add("created")
    assert outcomes == {"created", "refused"}  # the files tried both answers
