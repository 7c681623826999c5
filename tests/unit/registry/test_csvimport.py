"""Bulk import (`delegato assign --csv`): every bad row named by line and field, all or nothing,
idempotent re-import; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from ca.errors import CAError, ErrorKind
from ca.registry.csvimport import COLUMNS, parse_csv, write_csv
from ca.storage import audit as audit_store
from tests.conftest import NOW
from tests.unit.registry.parties import DAY, cast, scope

HEADER = ",".join(COLUMNS)
GOOD = "org-a,org-e,12025550100,,2027-01-01T00:00:00Z,,LOA 1"


def _parse(*lines: str, **kw: str) -> list:
    return parse_csv(("\n".join(lines) + "\n").encode(), NOW, **kw).requests


def _refusal(data: bytes, **kw: str) -> CAError:
    with pytest.raises(CAError) as raised:
        parse_csv(data, NOW, **kw)
    assert raised.value.kind is ErrorKind.MALFORMED
    assert raised.value.field == "csv"
    return raised.value


# --- parsing ----------------------------------------------------------------------------------


def test_a_good_file_becomes_one_request_per_row():
    requests = _parse(
        "Evidence, TN ,Range,Expires_At,Authority,Enterprise,valid_from",  # any order, any case
        "LOA 1,+1 (202) 555-0100,,2027-01-01T00:00:00Z,org-a,org-e,",
        '"order 7, part 2",,12025550200:50,+90d,org-a,org-e,2026-12-01',
        "",  # blank lines are skipped
        "LOA 3,18885550100,,+30d,org-b,org-f,",
    )
    assert [r.intervals for r in requests] == [
        ((11, 12025550100, 12025550100),),
        ((11, 12025550200, 12025550249),),
        ((11, 18885550100, 18885550100),),
    ]
    assert [(r.grantor_id, r.holder_id) for r in requests] == [
        ("org-a", "org-e"),
        ("org-a", "org-e"),
        ("org-b", "org-f"),
    ]
    assert requests[0].expires_at == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    assert requests[1].expires_at == NOW + 90 * DAY
    assert requests[1].valid_from == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert requests[0].valid_from is None
    assert requests[1].evidence == "order 7, part 2"
    assert [r.label for r in requests] == ["line 2: ", "line 3: ", "line 5: "]


def test_authority_and_enterprise_may_come_from_the_command_line():
    requests = _parse("tn,expires_at", "12025550100,+30d", authority="org-a", enterprise="org-e")
    assert (requests[0].grantor_id, requests[0].holder_id) == ("org-a", "org-e")
    requests = _parse(
        "enterprise,tn,expires_at", "org-x,12025550100,+30d", authority="org-a", enterprise="org-e"
    )
    assert requests[0].holder_id == "org-x"  # a cell wins over the default
    error = _refusal(b"tn,expires_at\n12025550100,+30d\n")
    assert "missing column(s): authority, enterprise" in error.detail


# Each row below is line 3 of a file whose line 2 is good.
BAD_ROWS = [
    ("bad character in tn", "org-a,org-e,1202555x100,,+30d,,", "tn", "'x'"),
    ("too many digits", "org-a,org-e,1202555010012345,,+30d,,", "tn", "16"),
    ("star in tn", "org-a,org-e,1202555*100,,+30d,,", "tn", "'*'"),
    ("range of one", "org-a,org-e,,12025550100:1,+30d,,", "range", "at least 2"),
    ("range without count", "org-a,org-e,,12025550100,+30d,,", "range", "START:COUNT"),
    ("negative count", "org-a,org-e,,12025550100:-5,+30d,,", "range", "whole number"),
    ("range growing", "org-a,org-e,,99999999990:20,+30d,,", "range", "grow past 11 digits"),
    ("range to all nines", "org-a,org-e,,99999999990:10,+30d,,", "range", "all-nines"),
    ("expired", "org-a,org-e,12025550100,,2026-11-23T12:00:00Z,,", "expires_at", "future"),
    ("expires before start", "org-a,org-e,12025550100,,+30d,+31d,", "expires_at", "valid_from"),
    ("no expiry", "org-a,org-e,12025550100,,,,", "expires_at", "empty"),
    ("bad moment", "org-a,org-e,12025550100,,next week,,", "expires_at", "ISO-8601"),
    ("huge moment", "org-a,org-e,12025550100,,+99999999999d,,", "expires_at", "out of range"),
    ("year 10000", "org-a,org-e,12025550100,,9999-12-31T23:59:59-01:00,,", "expires_at", "range"),
    ("bad valid_from", "org-a,org-e,12025550100,,+30d,yesterday,", "valid_from", "ISO-8601"),
    ("both tn and range", "org-a,org-e,12025550100,12025550200:5,+30d,,", "tn", "exactly one"),
    ("neither tn nor range", "org-a,org-e,,,+30d,,", "tn", "exactly one"),
    ("no authority", ",org-e,12025550100,,+30d,,", "authority", "empty"),
    ("no enterprise", "org-a,,12025550100,,+30d,,", "enterprise", "empty"),
    ("too many cells", "org-a,org-e,12025550100,,+30d,,LOA,extra", "csv", "8 cells"),
    ("control character", "org-a,org-e,12025550100,,+30d,,LOA\x07", "evidence", "printable"),
]


@pytest.mark.parametrize(
    ("row", "field", "says"), [r[1:] for r in BAD_ROWS], ids=[r[0] for r in BAD_ROWS]
)
def test_a_bad_row_is_reported_with_its_line_and_field(row, field, says):
    error = _refusal(f"{HEADER}\n{GOOD}\n{row}\n".encode())
    assert error.detail.startswith("1 bad row(s), nothing imported: line 3: ")
    assert [(p.field, p.value) for p in error.subproblems] == [(field, "3")]
    assert error.subproblems[0].detail.startswith(f"line 3: {field}: ")
    assert says in error.subproblems[0].detail


def test_every_bad_row_is_reported_not_just_the_first():
    rows = [GOOD, "org-a,org-e,x,,+30d,,", GOOD.replace("0100", "0101"), ",,x,,,,", "a,e,1,,0,,"]
    error = _refusal(("\n".join([HEADER, *rows]) + "\n").encode())
    assert error.detail.startswith("3 bad row(s)")
    assert [p.value for p in error.subproblems] == ["3", "5", "6"]


def test_a_quoted_cell_over_two_lines_is_reported_where_its_row_starts():
    data = f'{HEADER}\n{GOOD}\norg-a,org-e,12025550101,,+30d,,"LOA\n\x07"\n{GOOD},x\n'.encode()
    error = _refusal(data)
    assert [p.value for p in error.subproblems] == ["3", "5"]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (
            b"authority,enterprise,tn\norg-a,org-e,12025550100\n",
            "line 1: missing column(s): expires_at",
        ),
        (b"authority,enterprise,expires_at\n", "line 1: missing column(s): tn or range"),
        (f"{HEADER},colour\n{GOOD},red\n".encode(), "line 1: unknown column(s) 'colour'"),
        (f"{HEADER},\n{GOOD}\n".encode(), "line 1: unknown column(s) ''"),
        (b"authority,enterprise,tn,TN,expires_at\n", "line 1: column(s) named twice: tn"),
        (f"{HEADER}\n{GOOD}\n{GOOD[:-1]}\xe9\n".encode("latin-1"), "line 3: is not UTF-8"),
        (b"\xff\xfe" + HEADER.encode("utf-16-le"), "line 1: is not UTF-8"),
        (b"", "the file is empty"),
        (b"\n\n", "line 1: missing column(s)"),
        (f"{HEADER}\n".encode(), "a header but no rows"),
        (f"{HEADER}\n\n,,,,,,\n".encode(), "a header but no rows"),
        (
            f"{HEADER}\n{GOOD}\norg-a,org-e,{'1' * 200_000},,+30d,,\n".encode(),
            "line 3: field larger",
        ),
    ],
    ids=[
        "missing expires_at",
        "missing tn and range",
        "unknown column",
        "unnamed column",
        "duplicate column",
        "latin-1 byte",
        "utf-16",
        "empty",
        "blank header",
        "header only",
        "header and blank rows",
        "huge cell",
    ],
)
def test_a_bad_file_is_refused_whole(data, says):
    assert says in _refusal(data).detail


def test_a_utf8_byte_order_mark_is_accepted():
    data = ("\ufeff" + f"{HEADER}\n{GOOD}\n").encode()
    assert len(parse_csv(data, NOW).requests) == 1


@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_either_parsed_or_refused_as_malformed(data):
    try:
        parse_csv(data, NOW)
    except CAError as error:
        assert error.kind is ErrorKind.MALFORMED


_TOKENS = st.sampled_from(
    [
        "12025550100",
        "12025550200:50",
        ":",
        "+30d",
        "+0d",
        "2027-01-01",
        "9999-12-31T23:59:59-14:00",
        "org-a",
        '"',
        ",",
        "\n",
        "\r",
        "*",
        "\x00",
        "é",
        " ",
        "99999999999:2",
    ]
)


@given(st.lists(_TOKENS, max_size=30).map("".join), st.text(max_size=40))
def test_arbitrary_rows_under_a_good_header_never_raise_anything_else(body, noise):
    for data in (f"{HEADER}\n{body}\n", f"{HEADER}\n{noise}", noise):
        try:
            parse_csv(data.encode("utf-8", "surrogatepass"), NOW)
        except CAError as error:
            assert error.kind is ErrorKind.MALFORMED


_PRINTABLE = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S"], include_characters=" "),
    max_size=30,
)


@st.composite
def _rows(draw: st.DrawFn) -> dict[str, str]:
    start = draw(st.integers(12025550000, 12025559000))
    row = {
        "authority": draw(st.sampled_from(["org-a", "org-b"])),
        "enterprise": draw(st.sampled_from(["org-e", "org-f"])),
        "expires_at": (NOW + dt.timedelta(seconds=draw(st.integers(1, 10**8)))).isoformat(),
        "evidence": draw(_PRINTABLE).strip(),
    }
    if draw(st.booleans()):
        row["tn"] = str(start)
    else:
        row["range"] = f"{start}:{draw(st.integers(2, 999))}"
    if draw(st.booleans()):
        row["valid_from"] = (NOW - dt.timedelta(days=draw(st.integers(0, 99)))).isoformat()
    return row


@given(st.lists(_rows(), min_size=1, max_size=8))
def test_write_csv_then_parse_csv_gives_back_the_rows(rows):
    requests = parse_csv(write_csv(rows).encode(), NOW).requests
    assert len(requests) == len(rows)
    for row, request in zip(rows, requests, strict=True):
        assert request.grantor_id == row["authority"]
        assert request.holder_id == row["enterprise"]
        assert request.evidence == row["evidence"]
        assert request.expires_at.isoformat() == row["expires_at"]
        assert (request.valid_from.isoformat() if request.valid_from else None) == row.get(
            "valid_from"
        )
        if "tn" in row:
            assert request.intervals == ((11, int(row["tn"]), int(row["tn"])),)
        else:
            start, count = (int(x) for x in row["range"].split(":"))
            assert request.intervals == ((11, start, start + count - 1),)


# --- importing into the registry (both databases) ----------------------------------------------


def _import(services, data: str):
    parsed = parse_csv(data.encode(), services.clock.now())
    return services.registry.post_many(
        "assignment", parsed.requests, actor="operator:test", source=f"csv:{parsed.sha256}"
    )


def _state(services) -> tuple[int, int, tuple[int, str]]:
    """(assignments, assignment spans, audit head): what an import may change."""
    with services.storage.read() as session:
        grants = session.execute(text("select count(*) from assignments")).scalar_one()
        spans = session.execute(text("select count(*) from assignment_spans")).scalar_one()
        return grants, spans, audit_store.audit_head(session)


def _actions_after(services, seq: int) -> list[str]:
    with services.storage.read() as session:
        return [e.action for e in audit_store.iter_audit_events(session) if e.seq > seq]


def _file(c, *rows: tuple[str, str, str]) -> str:
    """Rows of (enterprise, number or START:COUNT, expiry), all posted by TNSP A."""
    return write_csv(
        {
            "authority": c.tnsp_a.id,
            "enterprise": enterprise,
            ("range" if ":" in numbers else "tn"): numbers,
            "expires_at": expires,
            "evidence": f"LOA {i}",
        }
        for i, (enterprise, numbers, expires) in enumerate(rows)
    )


def test_a_batch_with_one_conflicting_row_writes_nothing(services):
    c = cast(services)
    held = services.registry.assign(
        c.tnsp_b.id, c.globex.id, scope("12025550500"), NOW + 30 * DAY, actor="tnsp-b"
    )
    before = _state(services)
    data = _file(
        c,
        (c.acme.id, "12025550100:100", "2027-01-01T00:00:00Z"),
        (c.acme.id, "12025550400:200", "2027-01-01T00:00:00Z"),  # line 3: covers 12025550500
        (c.acme.id, "18885550100", "2027-01-01T00:00:00Z"),
    )
    with pytest.raises(CAError) as raised:
        _import(services, data)
    error = raised.value
    assert error.kind is ErrorKind.CONFLICT
    assert "line 3: numbers 12025550500 are held by" in error.detail
    assert c.globex.id in error.detail and held.grant.id in error.detail
    assert "line 2" not in error.detail and "line 4" not in error.detail
    assert _state(services) == before
    assert services.registry.authorized_scope(c.acme.id) is None


def test_two_rows_of_one_file_cannot_give_a_geographic_number_to_two_enterprises(services):
    c = cast(services)
    before = _state(services)
    data = _file(
        c,
        (c.acme.id, "12025550100:10", "+30d"),
        (c.globex.id, "12025550105", "+30d"),
    )
    with pytest.raises(CAError) as raised:
        _import(services, data)
    assert raised.value.kind is ErrorKind.CONFLICT
    assert "line 3: numbers 12025550105 are also posted for" in raised.value.detail
    assert "(line 2)" in raised.value.detail
    assert _state(services) == before


def test_a_toll_free_number_may_be_imported_for_two_enterprises(services):
    c = cast(services)
    result = _import(
        services,
        _file(c, (c.acme.id, "18005550100:10", "+30d"), (c.globex.id, "18005550105:10", "+30d")),
    )
    assert result.outcomes == ["created", "created"]
    status = services.registry.status("18005550107").status
    assert {h["enterprise"]["id"] for h in status["holders"]} == {c.acme.id, c.globex.id}


def test_reimporting_the_same_file_changes_nothing(services):
    c = cast(services)
    data = _file(
        c,
        (c.acme.id, "12025550100:100", "2027-01-01T00:00:00Z"),
        (c.acme.id, "12025552000", "+90d"),
        (c.globex.id, "12025553000:1500", "2027-06-01T12:00:00+02:00"),
    )
    start = _state(services)
    first = _import(services, data)
    assert first.outcomes == ["created"] * 3
    after_first = _state(services)
    assert after_first[:2] == (3, 1 + 1 + 2)  # 1500 numbers from ...3000 straddle two blocks
    assert _actions_after(services, start[2][0]) == ["assignment.created"] * 3

    services.clock.advance(dt.timedelta(hours=1))  # "+90d" now means a later moment
    again = _import(services, data.replace("+90d", (NOW + 90 * DAY).isoformat()))
    assert again.outcomes == ["unchanged"] * 3
    assert [g.id for g in again.grants] == [g.id for g in first.grants]
    assert _state(services) == after_first


def test_changing_an_expiry_in_the_file_reports_changed(services):
    c = cast(services)
    rows = [
        (c.acme.id, "12025550100:100", "2027-01-01T00:00:00Z"),
        (c.acme.id, "12025552000", "+90d"),
    ]
    first = _import(services, _file(c, *rows))
    head = _state(services)[2][0]
    rows[0] = (c.acme.id, "12025550100:100", "2027-03-01T00:00:00Z")
    second = _import(services, _file(c, *rows))
    assert second.outcomes == ["changed", "unchanged"]
    assert second.grants[0].id == first.grants[0].id
    assert _state(services)[:2] == (2, 2)
    assert _actions_after(services, head) == ["assignment.changed"]
    view = services.registry.view(first.grants[0].id)
    assert view.grant.expires_at == dt.datetime(2027, 3, 1, tzinfo=dt.UTC)


def test_a_large_import_is_one_audit_event_and_reimports_as_unchanged(services):
    c = cast(services)
    rows = [(c.acme.id, str(12025550000 + 10 * i), "+30d") for i in range(150)]
    data = _file(c, *rows)
    head = _state(services)[2][0]
    result = _import(services, data)
    assert result.count("created") == 150
    assert _actions_after(services, head) == ["assignment.imported"]
    after = _state(services)
    assert after[:2] == (150, 150)
    assert _import(services, data).count("unchanged") == 150
    assert _state(services) == after


def _dated(c, valid_from: str, expires_at: str) -> str:
    return write_csv(
        [
            {
                "authority": c.tnsp_a.id,
                "enterprise": c.acme.id,
                "range": "12025550100:100",
                "valid_from": valid_from,
                "expires_at": expires_at,
                "evidence": "LOA",
            }
        ]
    )


def test_a_reimport_with_another_valid_from_is_not_reported_unchanged(services):
    c = cast(services)
    _import(services, _dated(c, "2026-12-01", "2027-01-01"))
    try:
        result = _import(services, _dated(c, "2026-12-15", "2027-01-01"))
    except CAError:
        return  # refusing the change is an answer too
    grant = services.registry.view(result.grants[0].id).grant
    assert (result.outcomes, grant.valid_from) == (
        ["changed"],
        dt.datetime(2026, 12, 15, tzinfo=dt.UTC),
    )


def test_a_reimport_never_leaves_a_grant_that_ends_before_it_begins(services):
    c = cast(services)
    _import(services, _dated(c, "2026-12-01", "2027-01-01"))
    try:
        # The file's own period is fine (11-20 .. 11-30); the stored grant begins on 12-01.
        result = _import(services, _dated(c, "2026-11-20", "2026-11-30"))
    except CAError:
        return
    grant = services.registry.view(result.grants[0].id).grant
    assert grant.valid_from < grant.expires_at


# --- large files (COPY on PostgreSQL; more than 100 grants make one audit event) ----------------


def _blocks(enterprise: str, count: int, *, expires: str = "+30d") -> list[tuple[str, str, str]]:
    """``count`` rows of ten numbers each from 12025550000 up: row i is line i + 2."""
    return [(enterprise, f"{12025550000 + 10 * i}:10", expires) for i in range(count)]


def _events_after(services, seq: int) -> list:
    with services.storage.read() as session:
        return [e for e in audit_store.iter_audit_events(session) if e.seq > seq]


def _digest_of(services, grant_ids: list[str]) -> str:
    """The documented digest of an import, made from the grants as they are stored."""
    lines = []
    for grant_id in grant_ids:
        view = services.registry.view(grant_id)
        g = view.grant
        (n, lo, hi), *_ = view.numbers.intervals()
        lines.append(
            f"{g.id}|{g.grantor_id}|{g.holder_id}|{n}:{lo}-{hi}|{g.valid_from.isoformat()}|"
            f"{g.expires_at.isoformat()}|{g.evidence}\n"
        )
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def test_a_large_file_with_one_conflicting_row_writes_nothing(services):
    c = cast(services)
    held = services.registry.assign(
        c.tnsp_b.id, c.globex.id, scope("12025551234"), NOW + 30 * DAY, actor="tnsp-b"
    )
    before = _state(services)
    with pytest.raises(CAError) as raised:
        _import(services, _file(c, *_blocks(c.acme.id, 150)))
    error = raised.value
    assert error.kind is ErrorKind.CONFLICT
    assert error.detail.endswith(
        f"line 125: numbers 12025551234 are held by {c.globex.id} under assignment "
        f"{held.grant.id} until {(NOW + 30 * DAY).isoformat()}"
    )
    assert [p.value for p in error.subproblems] == [held.grant.id]
    assert _state(services) == before


def test_rows_far_apart_in_a_large_file_cannot_share_a_geographic_number(services):
    c = cast(services)
    before = _state(services)
    rows = [(c.globex.id, "12025550505", "+30d"), *_blocks(c.acme.id, 120)]
    with pytest.raises(CAError) as raised:
        _import(services, _file(c, *rows))
    assert raised.value.kind is ErrorKind.CONFLICT
    assert raised.value.detail.endswith(
        f"line 53: numbers 12025550505 are also posted for {c.globex.id} (line 2)"
    )
    assert _state(services) == before


def test_the_same_row_twice_in_a_large_file_is_refused(services):
    c = cast(services)
    rows = _blocks(c.acme.id, 60)
    rows.append(rows[10])
    with pytest.raises(CAError) as raised:
        _import(services, _file(c, *rows))
    assert raised.value.kind is ErrorKind.CONFLICT
    assert "line 62: the same numbers for the same parties are posted twice (also line 12)" in (
        raised.value.detail
    )


def test_an_unknown_organization_in_a_large_file_is_named_by_its_first_line(services):
    c = cast(services)
    before = _state(services)
    rows = _blocks(c.acme.id, 150)
    rows[119] = ("org-000000000000", rows[119][1], "+30d")
    rows[130] = ("org-000000000000", rows[130][1], "+30d")
    with pytest.raises(CAError) as raised:
        _import(services, _file(c, *rows))
    assert raised.value.kind is ErrorKind.NOT_FOUND
    assert raised.value.detail == "line 121: no organization 'org-000000000000'"
    assert _state(services) == before


def test_a_large_file_may_share_toll_free_numbers_but_not_with_itself(services):
    c = cast(services)
    shared = [
        (e, f"{18005550000 + 10 * i}:10", "+30d")
        for e in (c.acme.id, c.globex.id)
        for i in range(60)
    ]
    result = _import(services, _file(c, *shared))
    assert result.count("created") == 120
    status = services.registry.status("18005550125").status
    assert {h["enterprise"]["id"] for h in status["holders"]} == {c.acme.id, c.globex.id}
    again = [(c.acme.id, f"{18005550005 + 10 * i}:2", "+30d") for i in range(60)]
    with pytest.raises(CAError) as raised:
        _import(services, _file(c, *again))
    assert raised.value.kind is ErrorKind.CONFLICT
    assert f"line 2: numbers 18005550005:2 are held by {c.acme.id}" in raised.value.detail


def test_a_large_import_is_one_audit_event_with_a_digest_of_every_grant(services):
    c = cast(services)
    head = _state(services)[2][0]
    result = _import(services, _file(c, *_blocks(c.acme.id, 150)))
    (event,) = _events_after(services, head)
    ids = [g.id for g in result.grants]
    assert (event.action, event.object_id) == ("assignment.imported", f"csv:{_sha(c, 150)}")
    assert event.details == {
        "rows": 150,
        "created": 150,
        "changed": 0,
        "unchanged": 0,
        "first": ids[0],
        "last": ids[-1],
        "digest": _digest_of(services, ids),
    }


def test_a_large_reimport_with_changes_writes_and_audits_only_the_changes(services):
    c = cast(services)
    rows = _blocks(c.acme.id, 150)
    first = _import(services, _file(c, *rows))
    for i in range(0, 150, 10):  # fifteen rows get a later expiry
        rows[i] = (c.acme.id, rows[i][1], "+60d")
    head, before = _state(services)[2][0], _state(services)[:2]
    second = _import(services, _file(c, *rows))
    assert (second.count("changed"), second.count("unchanged")) == (15, 135)
    assert [g.id for g in second.grants] == [g.id for g in first.grants]
    assert _state(services)[:2] == before  # no new grant, no new span
    assert [e.action for e in _events_after(services, head)] == ["assignment.changed"] * 15
    authorization = services.registry.authorize(c.acme.id, scope("12025551400:10"))
    assert authorization.until == NOW + 60 * DAY
    assert services.registry.authorize(c.acme.id, scope("12025551410:10")).until == NOW + 30 * DAY

    for i in range(150):  # every row changes: one summary event, the digest of all of them
        rows[i] = (c.acme.id, rows[i][1], "+90d")
    head = _state(services)[2][0]
    third = _import(services, _file(c, *rows))
    (event,) = _events_after(services, head)
    assert (event.details["changed"], event.details["created"]) == (150, 0)
    assert event.details["digest"] == _digest_of(services, [g.id for g in third.grants])


def _sha(c, count: int) -> str:
    return hashlib.sha256(_file(c, *_blocks(c.acme.id, count)).encode()).hexdigest()
