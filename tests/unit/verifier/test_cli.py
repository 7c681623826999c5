"""`delegato sign` and `delegato verify` against a CA published on a loopback HTTP server."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from ca.cli import cli
from ca.clock import FixedClock
from ca.config import Config
from ca.services import build_services, initialize_home
from ca.tnauth import TNAuthList
from tests.conftest import NOW
from tests.unit.verifier.conftest import Issued, issue
from tests.unit.verifier.httpserver import LocalServer, local_server, respond
from tests.unit.verifier.pki import pem

AT = NOW.isoformat()
IAT = str(int(NOW.timestamp()))


@dataclass
class Published:
    issued: Issued
    server: LocalServer
    key_file: Path
    trust: Path
    nohome: Path

    def publish_crls(self) -> None:
        services = self.issued.services
        for info in services.issuers.all():
            latest = services.crls.latest(info.id)
            if latest is None:
                continue
            der = latest.der
            path = info.crl_url.split(self.server.host, 1)[1]
            self.server.route(path, respond(200, der, {"Content-Type": "application/pkix-crl"}))


@pytest.fixture
def published(tmp_path: Path) -> Iterator[Published]:
    with local_server() as server:
        config = Config(
            home=tmp_path / "ca",
            database_url=f"sqlite:///{tmp_path / 'ca.db'}",
            public_url=server.url(""),
        )
        services = build_services(config, clock=FixedClock(NOW))
        initialize_home(
            services,
            spc="1234",
            sca_scope=TNAuthList.from_user(ranges=["12025550000:10000"]),
            crl_model="direct",
            actor="t",
        )
        issued = issue(services, FixedClock(NOW))
        path = issued.certificate.x5u.split(server.host, 1)[1]
        server.route(path, respond(200, pem(*issued.certificate.chain)))
        key_file = tmp_path / "delegate.key"
        key_file.write_bytes(
            issued.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        result = Published(
            issued, server, key_file, config.pki_dir / "root.pem", tmp_path / "nohome"
        )
        result.publish_crls()
        yield result
        services.close()


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def sign(published: Published, *extra: str) -> str:
    code, out, err = run(
        published.nohome,
        "sign",
        "--key", str(published.key_file),
        "--x5u", published.issued.certificate.x5u,
        "--orig", "+1 202 555 0101",
        "--dest", "12025550199",
        "--iat", IAT,
        *extra,
    )  # fmt: skip
    assert code == 0, err
    return out.strip()


def verify(published: Published, *values: str, extra: tuple[str, ...] = ()) -> tuple[int, dict]:
    args = ["verify", "--trust", str(published.trust), "--allow-host", published.server.host]
    for value in values:
        args += ["--identity", value]
    code, out, err = run(published.nohome, *args, "--at", AT, *extra, "--json")
    assert code in (0, 1), err
    return code, json.loads(out)


def test_sign_prints_an_identity_value_with_a_quoted_ppt(published):
    value = sign(published)
    assert value.endswith(f';info=<{published.issued.certificate.x5u}>;alg=ES256;ppt="shaken"')
    assert not (published.nohome / "delegato.toml").exists()


def test_sign_then_verify_on_a_machine_without_a_home(published):
    code, output = verify(published, sign(published), extra=("--from", "tel:+12025550101"))
    assert code == 0 and output["valid"] is True
    (result,) = output["results"]
    assert (result["valid"], result["reason"], result["status"]) == (True, "ok", None)
    assert result["verstat"] == "TN-Validation-Passed" and result["attest"] == "A"
    assert result["signer"]["kind"] == "delegate" and len(result["chain"]) == 3
    assert published.server.hits  # the chain and the CRLs came over HTTP


def test_verify_exits_1_when_no_value_passes(published):
    value = sign(published)
    signature = value.split(";", 1)[0].split(".")[2]
    tampered = value.replace(signature, signature[::-1])
    code, output = verify(published, tampered)
    assert code == 1 and output["valid"] is False
    assert output["results"][0]["reason"] == "bad-signature" and output["status"] == 438


def test_verify_passes_if_any_value_passes_and_reads_a_file(published, tmp_path):
    values = tmp_path / "identities.txt"
    values.write_text(f"garbage\n\n{sign(published)}\n")
    code, out, err = run(
        published.nohome, "verify", "--file", str(values), "--trust", str(published.trust),
        "--allow-host", published.server.host, "--at", AT, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert [r["valid"] for r in json.loads(out)["results"]] == [False, True]


def test_verify_text_output_names_each_result(published):
    code, out, _ = run(
        published.nohome, "verify", "--identity", sign(published), "--identity", "x.y",
        "--trust", str(published.trust), "--allow-host", published.server.host, "--at", AT,
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[0] == "call: VALID (TN-Validation-Passed)"
    assert "identity-malformed" in out


def test_a_stale_passport_is_403(published):
    later = (NOW + dt.timedelta(minutes=5)).isoformat()
    # --at is given twice; click keeps the last: five minutes after the PASSporT's iat.
    code, output = verify(published, sign(published), extra=("--at", later))
    assert code == 1 and output["status"] == 403


def test_without_the_allow_list_loopback_http_is_refused(published):
    code, out, _ = run(
        published.nohome, "verify", "--identity", sign(published), "--trust", str(published.trust),
        "--at", AT, "--json",
    )  # fmt: skip
    assert code == 1
    assert json.loads(out)["results"][0]["reason"] == "url-refused"


def test_verify_needs_a_trust_source(published):
    code, _, err = run(published.nohome, "verify", "--identity", sign(published))
    assert code == 2 and "--trust" in err


def test_verify_needs_a_value(published):
    code, _, err = run(published.nohome, "verify", "--trust", str(published.trust))
    assert code == 2 and "--identity" in err


def test_sign_a_base_passport(published):
    code, out, _ = run(
        published.nohome, "sign", "--key", str(published.key_file), "--x5u", "https://r.example/c.pem",
        "--orig", "12025550101", "--dest", "12025550199", "--ppt", "none", "--json",
    )  # fmt: skip
    assert code == 0
    identity = json.loads(out)["identity"]
    assert identity.endswith(";info=<https://r.example/c.pem>;alg=ES256")


def test_sign_refuses_a_key_that_is_not_p256(published, tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    code, _, err = run(
        published.nohome, "sign", "--key", str(bad), "--x5u", "https://r.example/c.pem",
        "--orig", "12025550101", "--dest", "12025550199",
    )  # fmt: skip
    assert code == 2 and "key" in err


def test_sign_refuses_an_x5u_with_a_query(published):
    code, _, err = run(
        published.nohome, "sign", "--key", str(published.key_file), "--x5u", "https://r.example/c.pem?x=1",
        "--orig", "12025550101", "--dest", "12025550199",
    )  # fmt: skip
    assert code == 2 and "x5u" in err
