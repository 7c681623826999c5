"""The `delegato` commands as an operator types them: output, files written, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from ca.tnauth import TNAuthList, decode_strict
from tests.conftest import make_csr
from tests.support.cli import run, run_json


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def initialized(home) -> dict:
    return run_json(home, "init")


@pytest.fixture
def holder(home, initialized, tmp_path) -> tuple[str, Path]:
    """An enterprise holding 12025550000:1000 (assigned by a TNSP) and a CSR file for its key."""
    org = run_json(home, "org", "add", "--kind", "enterprise", "--name", "Example Corp")
    tnsp = run_json(
        home, "org", "add", "--kind", "tn_authority", "--name", "TNSP", "--spid", "567J"
    )
    run_json(
        home,
        "assign",
        "--authority",
        tnsp["id"],
        "--enterprise",
        org["id"],
        "--range",
        "12025550000:1000",
        "--expires",
        "+30d",
        "--evidence",
        "LOA 1",
    )
    csr, _ = make_csr()
    (tmp_path / "h.csr").write_bytes(csr)
    return org["id"], tmp_path / "h.csr"


def issue_args(holder: tuple[str, Path], out: Path, *scope: str) -> list[str]:
    org_id, csr = holder
    return ["cert", "issue", "--org", org_id, "--csr", str(csr), *scope, "--out", str(out)]


def test_init_creates_the_dev_hierarchy(home, initialized):
    assert initialized["home"] == str(home.resolve())
    root = x509.load_pem_x509_certificate(Path(initialized["trust_anchor"]).read_bytes())
    sca = x509.load_pem_x509_certificate(Path(initialized["issuer"]).read_bytes())
    assert "ROOT" in root.subject.rfc4514_string()
    assert sca.issuer == root.subject
    scope = TNAuthList.from_user(spcs=["1234"], ranges=["12025550000:10000", "18885550000:10000"])
    assert initialized["sca_tn_auth_list"] == scope.canonical().to_json()
    assert (home / "delegato.toml").exists() and (home / "delegato.db").exists()


def test_init_twice_is_refused(home, initialized):
    code, _, err = run(home, "init", ok=False)
    assert code != 0 and "already initialized" in err


def test_init_with_spc_and_ranges(home):
    data = run_json(home, "init", "--spc", "567a", "--sca-range", "13035550000:500")
    assert data["sca_tn_auth_list"] == [
        {"spc": "567A"},
        {"range": {"start": "13035550000", "count": 500}},
    ]


def test_org_add_and_certificate_issue_revoke_crl(home, initialized, holder, tmp_path):
    out = tmp_path / "chain.pem"
    scope = ("--tn", "+1 (202) 555-0100", "--range", "12025550200:50", "--lifetime", "12h")
    issued = run_json(home, *issue_args(holder, out, *scope))
    assert issued["x5u"] == f"http://127.0.0.1:8080/certs/{issued['serial']}.pem"
    chain = x509.load_pem_x509_certificates(out.read_bytes())
    assert chain[0].serial_number == int(issued["serial"], 16)
    assert len(chain) == 2  # leaf, SCA; root omitted
    der = (
        chain[0]
        .extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.26"))
        .value.value
    )
    assert decode_strict(der) == TNAuthList.from_user(
        tns=["12025550100"], ranges=["12025550200:50"]
    )

    revoked = run_json(home, "cert", "revoke", issued["serial"], "--reason", "keyCompromise")
    assert revoked["reason"] == "keyCompromise"
    crl_file = tmp_path / "sca.crl"
    generated = run_json(home, "crl", "generate", "--out", str(crl_file))
    crl = x509.load_der_x509_crl(crl_file.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(chain[0].serial_number) is not None
    assert generated["crls"][0]["issuer"] == initialized["issuer_id"]
    assert run_json(home, "audit", "verify")["ok"] is True


def test_errors_are_one_line_and_write_nothing(home, holder, tmp_path):
    out = tmp_path / "chain.pem"
    code, stdout, err = run(home, *issue_args(holder, out, "--tn", "202555x100"), ok=False)
    assert code != 0 and stdout == ""
    assert err.startswith("delegato: error: tns[0]:") and "'x'" in err
    assert not out.exists()
    code, _, err = run(home, *issue_args(holder, out, "--range", "19995550000:10"), ok=False)
    assert code != 0 and "19995550000:10" in err and not out.exists()
    code, _, err = run(home, "cert", "revoke", "zz", "--reason", "keyCompromise", ok=False)
    assert code != 0 and "serial" in err


def test_uninitialized_home_is_explained(home):
    code, _, err = run(home, "org", "add", "--kind", "bpo", "--name", "X", ok=False)
    assert code != 0 and "delegato init" in err


def test_tnauth_decode_hex_file_and_certificate(home, initialized, tmp_path):
    data = run_json(home, "tnauth", "decode", "3008a006160431323334")
    assert data == {"entries": [{"spc": "1234"}], "warnings": []}
    data = run_json(home, "tnauth", "decode", initialized["issuer"])
    assert data["entries"][0] == {"spc": "1234"}
    code, _, err = run(home, "tnauth", "decode", "30061304" + "31323334", ok=False)
    assert code != 0 and "TNAuthList" in err
    lenient = run_json(home, "tnauth", "decode", "30061304" + "31323334", "--lenient")
    assert lenient["entries"] == [{"spc": "1234"}] and lenient["warnings"]


def test_lint_command(home, initialized, tmp_path):
    data = run_json(home, "lint", initialized["issuer"], initialized["trust_anchor"])
    assert data["failed"] == 0 and data["checked"] == 2
    assert {f["profile"] for f in data["files"]} == {"sca", "test_root"}
    (tmp_path / "junk.pem").write_text("not a certificate")
    code, out, _ = run(home, "lint", str(tmp_path / "junk.pem"), ok=False)
    assert code == 1 and "UNREADABLE" in out
