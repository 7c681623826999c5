"""The registry commands as an operator types them: output, exit codes, what changed."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from ca.config import Config
from ca.errors import CAError, ErrorKind
from ca.jws import verify_es256
from ca.registry.csvimport import write_csv
from ca.services import build_services
from ca.tnauth import TNAuthList, tn_auth_list_from_certificate
from tests.conftest import make_csr
from tests.support.cli import run, run_json

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def fails(home: Path, *args: str, code: int) -> str:
    """Run a command that must fail with ``code``; its stderr (stdout must stay empty)."""
    exit_code, out, err = run(home, *args, ok=False)
    assert (exit_code, out) == (code, ""), err
    assert err.startswith("delegato: error: ")
    return err


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def when(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment)


@pytest.fixture
def ids(home) -> dict[str, str]:
    """An initialized home with two TNSPs, two enterprises and a BPO."""
    run_json(home, "init")

    def add(kind: str, name: str, *extra: str) -> str:
        return run_json(home, "org", "add", "--kind", kind, "--name", name, *extra)["id"]

    return {
        "tnsp_a": add("tn_authority", "TNSP A", "--spid", "111A"),
        "tnsp_b": add("tn_authority", "TNSP B", "--spid", "222B"),
        "acme": add("enterprise", "Acme Bank"),
        "globex": add("enterprise", "Globex"),
        "callco": add("bpo", "CallCo"),
    }


def assign(home: Path, ids: dict[str, str], *numbers: str, to: str = "acme", **kw: str) -> dict:
    args = ["assign", "--authority", ids[kw.get("by", "tnsp_a")], "--enterprise", ids[to]]
    for item in numbers:
        args += ["--range" if ":" in item else "--tn", item]
    return run_json(home, *args, "--expires", kw.get("expires", "+30d"), "--evidence", "LOA 7")


def status(home: Path, tn: str, *extra: str) -> dict:
    return run_json(home, "status", "--tn", tn, *extra)["status"]


# --- organizations and keys --------------------------------------------------------------------


def test_org_add_every_kind(home, ids):
    tnsp = run_json(
        home, "org", "add", "--kind", "tn_authority", "--name", "RespOrg", "--spid", "ab1c"
    )
    assert tnsp["kind"] == "tn_authority" and tnsp["spid"] == "AB1C"
    for kind in ("enterprise", "bpo", "operator"):
        added = run_json(home, "org", "add", "--kind", kind, "--name", f"A {kind}")
        assert added["id"].startswith("org-") and added["kind"] == kind and added["spid"] is None
    assert "spid" in fails(
        home, "org", "add", "--kind", "tn_authority", "--name", "X", "--spid", "1-2", code=2
    )
    code, _, err = run(home, "org", "add", "--kind", "carrier", "--name", "X", ok=False)
    assert code == 2 and "carrier" in err


def test_key_create_prints_the_key_once_and_revoke_stops_it(home, ids):
    created = run_json(home, "key", "create", "--org", ids["acme"], "--role", "enterprise")
    assert created["key"].startswith(f"dlg_{created['id']}_")
    assert (created["organization"], created["role"]) == (ids["acme"], "enterprise")
    _, text, _ = run(home, "key", "create", "--org", ids["callco"], "--role", "verifier")
    token, note = text.splitlines()
    assert token.startswith("dlg_key-") and "shown once" in note

    services = build_services(Config.load(str(home)))
    try:
        assert services.api_keys.authenticate(created["key"]).organization.id == ids["acme"]
        assert services.api_keys.authenticate(token).role == "verifier"
        assert run_json(home, "key", "revoke", created["id"]) == {
            "id": created["id"],
            "revoked": True,
        }
        with pytest.raises(CAError) as raised:
            services.api_keys.authenticate(created["key"])
        assert raised.value.kind is ErrorKind.UNAUTHORIZED
    finally:
        services.close()
    assert "no active API key" in fails(home, "key", "revoke", created["id"], code=1)
    err = fails(home, "key", "create", "--org", ids["acme"], "--role", "operator", code=2)
    assert "role" in err and "enterprise" in err


# --- assign, delegate, transfer, release, status -------------------------------------------------


def test_assign_prints_the_assignment_and_refuses_a_second_holder(home, ids):
    before = now()
    first = assign(home, ids, "12025550100:100", "12025550300")
    assert first["id"].startswith("asg-") and first["outcome"] == "created"
    assert (first["authority"], first["enterprise"]) == (ids["tnsp_a"], ids["acme"])
    assert first["ranges"] == [{"start": "12025550100", "count": 100}]
    assert first["tns"] == ["12025550300"]
    assert (
        before + dt.timedelta(days=30) <= when(first["expires_at"]) <= now() + dt.timedelta(days=30)
    )
    assert first["evidence"] == "LOA 7"

    again = assign(home, ids, "12025550100:100", "12025550300", expires=first["expires_at"])
    assert (again["id"], again["outcome"]) == (first["id"], "unchanged")

    err = fails(
        home,
        "assign",
        "--authority",
        ids["tnsp_b"],
        "--enterprise",
        ids["globex"],
        "--range",
        "12025550190:20",
        "--expires",
        "+30d",
        code=1,
    )
    assert "numbers 12025550190:10 are held by" in err
    assert ids["acme"] in err and first["id"] in err
    assert status(home, "12025550195")["holders"][0]["enterprise"]["id"] == ids["acme"]
    assert status(home, "12025550205")["assigned"] is False  # nothing of the refused post

    _, text, _ = run(
        home,
        "assign",
        "--authority",
        ids["tnsp_b"],
        "--enterprise",
        ids["globex"],
        "--tn",
        "+1 (202) 555-0900",
        "--expires",
        "2030-01-01T00:00:00Z",
    )
    assert "(created): 12025550900 until 2030-01-01T00:00:00+00:00" in text
    err = fails(
        home,
        "assign",
        "--authority",
        ids["tnsp_a"],
        "--enterprise",
        ids["acme"],
        "--tn",
        "12025550999",
        code=2,
    )
    assert "--expires" in err


def test_delegate_and_the_signed_status(home, ids):
    assignment = assign(home, ids, "12025550100:100")
    delegation = run_json(
        home,
        "delegate",
        "--enterprise",
        ids["acme"],
        "--bpo",
        ids["callco"],
        "--range",
        "12025550100:10",
        "--expires",
        "+7d",
    )
    assert delegation["id"].startswith("dlg-") and delegation["kind"] == "delegation"
    assert (delegation["enterprise"], delegation["bpo"]) == (ids["acme"], ids["callco"])

    answer = run_json(home, "status", "--tn", "+1 202 555 0105")
    assert set(answer) == {"jws", "status"}
    header = json.loads(base64.urlsafe_b64decode(answer["jws"].split(".")[0] + "=="))
    signer = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    _, payload = verify_es256(answer["jws"], signer.public_key())  # type: ignore[arg-type]
    assert payload == answer["status"] and header["alg"] == "ES256"
    (holder,) = answer["status"]["holders"]
    assert holder["assignment"] == assignment["id"]
    assert holder["authority"] == {"id": ids["tnsp_a"], "name": "TNSP A", "spid": "111A"}
    assert [d["bpo"]["id"] for d in holder["delegations"]] == [ids["callco"]]
    assert holder["delegations"][0]["delegation"] == delegation["id"]

    assert status(home, "12025550105", "--enterprise", ids["globex"])["assigned"] is False
    assert status(home, "12025550150")["holders"][0]["delegations"] == []
    _, text, _ = run(home, "status", "--tn", "12025550105")
    assert (
        "on the word of" in text
        and "(SPID 111A)" in text
        and f"delegated to {ids['callco']}" in text
    )

    err = fails(
        home,
        "delegate",
        "--enterprise",
        ids["acme"],
        "--bpo",
        ids["callco"],
        "--range",
        "12025550195:10",
        "--expires",
        "+7d",
        code=1,
    )
    assert "12025550200:5" in err  # exactly the numbers Acme does not hold


def test_transfer_part_then_the_rest(home, ids):
    assignment = assign(home, ids, "12025550100:100")
    part = run_json(
        home,
        "transfer",
        assignment["id"],
        "--to-authority",
        ids["tnsp_b"],
        "--range",
        "12025550150:10",
    )
    assert part["whole"] is False and part["from"] == assignment["id"]
    assert part["ranges"] == [{"start": "12025550150", "count": 10}] and part["tns"] == []
    assert (part["authority"], part["enterprise"]) == (ids["tnsp_b"], ids["acme"])
    assert part["expires_at"] == assignment["expires_at"]  # nothing lapses
    assert status(home, "12025550155")["holders"][0]["authority"]["spid"] == "222B"
    assert status(home, "12025550100")["holders"][0]["authority"]["spid"] == "111A"

    rest = run_json(home, "transfer", assignment["id"], "--to-authority", ids["tnsp_b"])
    assert rest["whole"] is True and rest["from"] == assignment["id"]
    assert rest["ranges"] == [
        {"start": "12025550100", "count": 50},
        {"start": "12025550160", "count": 40},
    ]
    for tn in ("12025550100", "12025550155", "12025550199"):
        (holder,) = status(home, tn)["holders"]
        assert (holder["enterprise"]["id"], holder["authority"]["spid"]) == (ids["acme"], "222B")
    err = fails(home, "transfer", assignment["id"], "--to-authority", ids["tnsp_a"], code=1)
    assert assignment["id"] in err


def test_release_with_a_reason(home, ids):
    assignment = assign(home, ids, "12025550100:100")
    narrowed = run_json(
        home, "release", assignment["id"], "--reason", "ported_away", "--tn", "12025550100"
    )
    assert narrowed["outcome"] == "narrowed"
    assert narrowed["ranges"] == [{"start": "12025550101", "count": 99}]
    ended = run_json(home, "release", assignment["id"], "--reason", "released")
    assert (ended["outcome"], ended["end_reason"]) == ("ended", "released")
    assert ended["ranges"] == [] and ended["tns"] == []
    assert status(home, "12025550150")["assigned"] is False
    err = fails(
        home, "release", assign(home, ids, "12025550500")["id"], "--reason", "bored", code=2
    )
    assert "'bored'" in err and "ported_away" in err
    assert "no assignment" in fails(
        home, "release", "asg-000000000000", "--reason", "released", code=1
    )


def test_jobs_once(home, ids):
    assign(home, ids, "12025550100:10")
    ran = run_json(home, "jobs", "--once")
    assert ran == {
        "reconcile": {"expired": [], "narrowed": [], "revoked": [], "crls": []},
        "renew_subscriptions": {"renewed": [], "ended": [], "deferred": [], "failed": []},
        "refresh_crls": {"refreshed": []},
        "purge": {"crls": 0, "leases": 0, "intents": 0, "subscriptions": 0},
    }
    _, text, _ = run(home, "jobs", "--once")
    assert text.splitlines()[0].startswith("reconcile: ")


# --- audit trace ------------------------------------------------------------------------------


def test_audit_trace_at_iso_and_relative_moments(home, ids, tmp_path):
    posted = now()
    assignment = assign(home, ids, "12025550100:100")
    csr, _ = make_csr()
    (tmp_path / "h.csr").write_bytes(csr)
    cert = run_json(
        home,
        "cert",
        "issue",
        "--org",
        ids["acme"],
        "--csr",
        str(tmp_path / "h.csr"),
        "--tn",
        "12025550142",
    )

    def trace(at: str) -> dict:
        return run_json(home, "audit", "trace", "--tn", "+1 202 555 0142", "--at", at)

    for at in ("+1h", "+1d", now().isoformat(), now().strftime("%Y-%m-%dT%H:%M:%SZ")):
        answer = trace(at)
        assert answer["authorized"] is True, at
        (holder,) = answer["holders"]
        assert holder["enterprise"]["id"] == ids["acme"]
        assert holder["assignment"]["id"] == assignment["id"]
        assert holder["assignment"]["granted_by"]["spid"] == "111A"
        assert holder["assignment"]["evidence"] == "LOA 7"
        assert [e["action"] for e in holder["assignment"]["events"]] == ["assignment.created"]
    assert abs(when(trace("+1d")["at"]) - (now() + dt.timedelta(days=1))) < dt.timedelta(minutes=1)
    assert [c["serial"] for c in trace("+1h")["certificates"]] == [cert["serial"]]
    assert trace("+2d")["certificates"] == []  # the certificate has expired by then

    for at in ("+31d", "-1d", (posted - dt.timedelta(hours=1)).isoformat(), "2020-01-01"):
        answer = trace(at)
        assert (answer["authorized"], answer["holders"]) == (False, []), at
    _, text, _ = run(home, "audit", "trace", "--tn", "12025550142", "--at", "+1h")
    assert f"via {assignment['id']} on the word of {ids['tnsp_a']}" in text
    assert "ISO-8601" in fails(
        home, "audit", "trace", "--tn", "12025550142", "--at", "tomorrow", code=2
    )


# --- certificates through the registry ------------------------------------------------------------


def test_cert_issue_without_numbers_covers_all_authorized_numbers(home, ids, tmp_path):
    assign(home, ids, "12025550100:100", "12025550300")
    assign(home, ids, "18885550000:20", to="acme", by="tnsp_b")
    assign(home, ids, "12025550500", to="globex")  # someone else's
    csr, _ = make_csr()
    (tmp_path / "h.csr").write_bytes(csr)
    out = tmp_path / "chain.pem"
    run_json(
        home,
        "cert",
        "issue",
        "--org",
        ids["acme"],
        "--csr",
        str(tmp_path / "h.csr"),
        "--out",
        str(out),
    )
    leaf = x509.load_pem_x509_certificates(out.read_bytes())[0]
    assert tn_auth_list_from_certificate(leaf) == TNAuthList.from_user(
        tns=["12025550300"], ranges=["12025550100:100", "18885550000:20"]
    )


def test_cert_issue_outside_the_registry_names_the_numbers(home, ids, tmp_path):
    assign(home, ids, "12025550100:100")
    csr, _ = make_csr()
    (tmp_path / "h.csr").write_bytes(csr)
    out = tmp_path / "chain.pem"
    args = [
        "cert",
        "issue",
        "--org",
        ids["acme"],
        "--csr",
        str(tmp_path / "h.csr"),
        "--out",
        str(out),
    ]
    err = fails(home, *args, "--range", "12025550150:100", "--tn", "12025559999", code=1)
    assert "12025550200:50, 12025559999" in err
    assert "12025550150" not in err  # only what lies outside is named
    assert not out.exists()
    err = fails(
        home, "cert", "issue", "--org", ids["globex"], "--csr", str(tmp_path / "h.csr"), code=1
    )
    assert ids["globex"] in err


# --- bulk import --------------------------------------------------------------------------------


def _csv(tmp_path: Path, ids: dict[str, str], *rows: tuple[str, str]) -> Path:
    path = tmp_path / "numbers.csv"
    path.write_text(
        write_csv(
            {
                "authority": ids["tnsp_a"],
                "enterprise": ids["acme"],
                ("range" if ":" in numbers else "tn"): numbers,
                "expires_at": expires,
                "evidence": "LOA 9",
            }
            for numbers, expires in rows
        )
    )
    return path


def test_assign_csv_imports_and_a_reimport_changes_nothing(home, ids, tmp_path):
    path = _csv(tmp_path, ids, ("12025550100:100", "2030-01-01"), ("12025550300", "2030-01-01"))
    first = run_json(home, "assign", "--csv", str(path))
    assert (first["rows"], first["created"], first["changed"], first["unchanged"]) == (2, 2, 0, 0)
    assert status(home, "12025550300")["holders"][0]["expires_at"] == "2030-01-01T00:00:00+00:00"
    events = run_json(home, "audit", "verify")["events"]
    _, text, _ = run(home, "assign", "--csv", str(path))
    assert "rows: 2, created: 0, changed: 0, unchanged: 2" in text
    assert run_json(home, "audit", "verify")["events"] == events  # no new audit event

    path.write_text(path.read_text().replace("2030-01-01", "2031-01-01", 1))
    changed = run_json(home, "assign", "--csv", str(path))
    assert (changed["created"], changed["changed"], changed["unchanged"]) == (0, 1, 1)
    assert status(home, "12025550150")["holders"][0]["expires_at"].startswith("2031-01-01")


def test_assign_csv_with_a_bad_row_names_the_line_and_imports_nothing(home, ids, tmp_path):
    path = _csv(tmp_path, ids, ("12025550100:100", "+30d"), ("12025550300", "+30d"))
    path.write_text(path.read_text() + f"{ids['tnsp_a']},{ids['acme']},12025550x00,,+30d,,\n")
    events = run_json(home, "audit", "verify")["events"]
    err = fails(home, "assign", "--csv", str(path), code=2)
    assert "line 4: tn:" in err and "'x'" in err
    assert status(home, "12025550100")["assigned"] is False
    assert run_json(home, "audit", "verify")["events"] == events

    path.write_text(path.read_text().replace("12025550x00", "12025550150"))  # held by line 2
    err = fails(home, "assign", "--csv", str(path), code=1)
    assert "line 4: numbers 12025550150 are also posted" in err and "(line 2)" in err
    assert status(home, "12025550100")["assigned"] is False
    assert "cannot read" in fails(home, "assign", "--csv", str(tmp_path / "missing.csv"), code=2)
    err = fails(home, "assign", "--csv", str(path), "--tn", "12025550999", code=2)
    assert "--csv" in err


def test_assign_csv_takes_the_parties_from_the_command_line(home, ids, tmp_path):
    path = tmp_path / "bare.csv"
    path.write_text("tn,expires_at\n12025550100,+30d\n")
    run_json(
        home,
        "assign",
        "--csv",
        str(path),
        "--authority",
        ids["tnsp_b"],
        "--enterprise",
        ids["globex"],
    )
    (holder,) = status(home, "12025550100")["holders"]
    assert (holder["enterprise"]["id"], holder["authority"]["id"]) == (ids["globex"], ids["tnsp_b"])
    assert "missing column(s): authority, enterprise" in fails(
        home, "assign", "--csv", str(path), code=2
    )


def _on_terminal(home: Path, *args: str) -> tuple[int, str, str]:
    """Run `delegato` with stdout and stderr each on its own pseudo-terminal."""
    out_main, out_side = pty.openpty()
    err_main, err_side = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ca.cli import main; main()", "--home", str(home), *args],
        stdin=subprocess.DEVNULL,
        stdout=out_side,
        stderr=err_side,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(out_side)
    os.close(err_side)
    got = {out_main: b"", err_main: b""}
    open_ = [out_main, err_main]
    while open_:
        ready, _, _ = select.select(open_, [], [], 60)
        assert ready, "delegato did not finish"
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the other side is closed
                chunk = b""
            if chunk:
                got[fd] += chunk
            else:
                open_.remove(fd)
                os.close(fd)
    code = proc.wait(timeout=60)
    text = {fd: data.decode().replace("\r\n", "\n") for fd, data in got.items()}
    return code, text[out_main], text[err_main]


def test_on_a_terminal_the_progress_bar_goes_to_stderr_and_never_into_json(home, ids, tmp_path):
    path = _csv(tmp_path, ids, ("12025550100:100", "2030-01-01"))
    code, out, err = _on_terminal(home, "assign", "--csv", str(path))
    assert code == 0, err
    assert "checking rows" in err and "100%" in err
    assert out.strip().startswith("rows: 1, created: 1")
    code, out, err = _on_terminal(home, "assign", "--csv", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["unchanged"] == 1  # stdout is exactly the JSON line
    assert "checking rows" not in err


@pytest.mark.parametrize("at", ["+99999999999d", "-9999999d", "9999-12-31T23:59:59-01:00"])
def test_a_moment_out_of_range_is_a_one_line_error(home, ids, at):
    err = fails(home, "audit", "trace", "--tn", "12025550100", "--at", at, code=2)
    assert "at:" in err
