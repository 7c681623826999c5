"""Interop with Debian's secsipidx / libsecsipid1, an independent STIR/SHAKEN implementation.

A Delegato CA on the system clock issues a delegate certificate; a loopback HTTP server publishes
its x5u chain and the CRLs. PASSporTs signed by secsipidx (CLI and library) with the delegate key
verify in Delegato; PASSporTs Delegato signs verify in secsipidx against the test root and in
libsecsipid against the delegate's public key; tampered ones fail in both (issue 5 item 8).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ca.clock import SystemClock
from ca.config import Config
from ca.services import build_services, initialize_home
from ca.tnauth import TNAuthList
from ca.verifier import VerificationContext, sign_identity, verify_identity
from ca.verifier.jws import b64url_decode, b64url_encode
from tests.unit.verifier.conftest import Issued, issue
from tests.unit.verifier.httpserver import LocalServer, local_server, respond
from tests.unit.verifier.pki import Hierarchy, pem

pytestmark = pytest.mark.interop

SECSIPIDX = shutil.which("secsipidx")
LIBSECSIPID = "/usr/lib/x86_64-linux-gnu/libsecsipid.so.1"
ORIG, DEST = "12025550101", "12025550199"


@dataclass
class Peer:
    issued: Issued
    server: LocalServer
    key_file: Path
    root_file: Path
    tmp: Path

    def context(self) -> VerificationContext:
        return VerificationContext.from_files(self.root_file, allow_hosts=[self.server.host])

    def delegato_identity(self) -> str:
        return sign_identity(self.issued.key, self.issued.certificate.x5u, ORIG, DEST, attest="A")


def secsipidx(*args: str) -> subprocess.CompletedProcess[str]:
    assert SECSIPIDX, "secsipidx is required (scripts/lib/setup.sh installs it)"
    return subprocess.run([SECSIPIDX, *args], capture_output=True, text=True, timeout=30)


def library() -> ctypes.CDLL:
    lib = ctypes.CDLL(LIBSECSIPID)
    lib.SecSIPIDCheckFullPubKey.argtypes = [
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
    ]
    lib.SecSIPIDCheckFullPubKey.restype = ctypes.c_int
    out = ctypes.POINTER(ctypes.c_char_p)
    lib.SecSIPIDGetIdentity.argtypes = [ctypes.c_char_p] * 6 + [out]
    lib.SecSIPIDGetIdentity.restype = ctypes.c_int
    return lib


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    with local_server() as server:
        config = Config(
            home=tmp_path / "ca",
            database_url=f"sqlite:///{tmp_path / 'ca.db'}",
            public_url=server.url(""),
        )
        # secsipidx checks times against the wall clock, so the CA runs on it too.
        clock = SystemClock()
        services = build_services(config, clock=clock)
        initialize_home(
            services,
            spc="1234",
            sca_scope=TNAuthList.from_user(ranges=["12025550000:10000"]),
            crl_model="direct",
            actor="t",
        )
        issued = issue(services, clock)  # type: ignore[arg-type]
        server.route(
            issued.certificate.x5u.split(server.host, 1)[1],
            respond(200, pem(*issued.certificate.chain)),
        )
        for info in services.issuers.all():
            latest = services.crls.latest(info.id)
            if latest is not None:
                server.route(info.crl_url.split(server.host, 1)[1], respond(200, latest.der))
        key_file = tmp_path / "delegate.key"
        key_file.write_bytes(
            issued.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        yield Peer(issued, server, key_file, config.pki_dir / "root.pem", tmp_path)
        services.close()


def tamper(identity: str) -> str:
    """Flip one claim (orig) while keeping the signature: the signature must stop verifying."""
    jws, params = identity.split(";", 1)
    head, payload, signature = jws.split(".")
    forged = b64url_decode(payload).replace(ORIG.encode(), b"12025550102")
    return f"{head}.{b64url_encode(forged)}.{signature};{params}"


def test_secsipidx_signs_and_delegato_verifies(peer):
    result = secsipidx(
        "-sign-full", "-k", str(peer.key_file), "-x5u", peer.issued.certificate.x5u,
        "-o", ORIG, "-d", DEST, "-a", "A",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    identity = result.stdout.strip()
    verified = verify_identity(
        peer.context(), identity, orig=f"sip:+{ORIG}@example.net", dest=f"tel:+{DEST}"
    )
    assert verified.valid, verified.detail
    assert (verified.attest, verified.ppt, verified.signer.kind) == ("A", "shaken", "delegate")
    assert verify_identity(peer.context(), tamper(identity)).reason == "bad-signature"


def test_libsecsipid_signs_and_delegato_verifies(peer):
    out = ctypes.c_char_p()
    size = library().SecSIPIDGetIdentity(
        ORIG.encode(),
        DEST.encode(),
        b"B",
        b"",
        peer.issued.certificate.x5u.encode(),
        str(peer.key_file).encode(),
        ctypes.byref(out),
    )
    assert size > 0 and out.value is not None
    verified = verify_identity(peer.context(), out.value.decode())
    assert verified.valid and verified.attest == "B", verified.detail


def test_delegato_signs_and_secsipidx_verifies_against_the_test_root(peer):
    identity_file = peer.tmp / "identity.txt"
    identity_file.write_text(peer.delegato_identity())
    check = [
        "-check", "-fidentity", str(identity_file), "-expire", "60", "-timeout", "5",
        "-p", peer.issued.certificate.x5u, "-ca-file", str(peer.root_file), "-cert-verify", "5",
    ]  # fmt: skip
    result = secsipidx(*check)
    assert result.returncode == 0, result.stdout + result.stderr
    assert peer.server.hits[peer.issued.certificate.x5u.split(peer.server.host, 1)[1]] >= 1
    identity_file.write_text(tamper(peer.delegato_identity()))
    assert secsipidx(*check).returncode != 0


def test_secsipidx_refuses_delegato_passports_under_another_root(peer, tmp_path):
    other = tmp_path / "other-root.pem"
    other.write_bytes(pem(Hierarchy(root_name="secsipid-other").root))
    identity_file = peer.tmp / "identity.txt"
    identity_file.write_text(peer.delegato_identity())
    result = secsipidx(
        "-check", "-fidentity", str(identity_file), "-expire", "60", "-p", peer.issued.certificate.x5u,
        "-ca-file", str(other), "-cert-verify", "5",
    )  # fmt: skip
    assert result.returncode != 0
    assert "ECDSA" not in result.stdout  # refused for the chain, not the signature


def test_delegato_signs_and_libsecsipid_verifies_with_the_delegate_key(peer):
    public = peer.issued.certificate.certificate.public_bytes(serialization.Encoding.PEM)
    lib = library()
    for identity, expected in (
        (peer.delegato_identity(), 0),
        (tamper(peer.delegato_identity()), None),
    ):
        data = identity.encode()
        code = lib.SecSIPIDCheckFullPubKey(data, len(data), 60, public, len(public))
        assert code == expected if expected is not None else code != 0
