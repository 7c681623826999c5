"""nginx, configured by deploy/nginx.conf, serves the file publisher's directory as Delegato does.

The shipped server block is rendered for the test with as few changes as possible (plain http on a
free loopback port, the test's directory as root, no TLS files); every other line, the locations
and their headers included, is the one operators install. A second check runs ``nginx -t`` on the
TLS block itself.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ca.authority import IssuedCertificate
from ca.clock import FixedClock, SystemClock
from ca.publish import FilePublisher
from ca.ra import CertificateRequest
from ca.revocation import RevocationReason
from ca.services import Services
from ca.tnauth import TNAuthList
from tests.conftest import REPO, enterprise_holding, make_csr

pytestmark = pytest.mark.interop

SHIPPED = REPO / "deploy" / "nginx.conf"
MIME_TYPES = Path("/etc/nginx/mime.types")  # what Debian's nginx.conf includes around it
SLACK = 5  # seconds between the test's clock, nginx's and the requests


def _nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing in CI (scripts/lib/setup.sh installs it)")
        pytest.skip("nginx is not installed")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _substitute(text: str, pattern: str, replacement: str, *, at_least: int = 1) -> str:
    """Replace whole directive lines; a reshaped deploy file fails here instead of going untested."""
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count >= at_least, f"deploy/nginx.conf has no line matching {pattern!r}"
    return new


def render_plain(port: int, root: Path) -> str:
    """The shipped server block on plain http: listen lines, root and ssl_* lines swapped."""
    text = SHIPPED.read_text()
    text = _substitute(text, r"^\s*listen\s[^;]*\bssl\b[^;]*;\n", "", at_least=2)
    text = _substitute(text, r"^\s*ssl_[a-z_]+\s[^;]*;\n", "", at_least=2)
    text = _substitute(text, r"^(\s*)root\s[^;]*;", rf"\1root {root};\n\1listen 127.0.0.1:{port};")
    return text


def render_tls(root: Path, certificate: Path, key: Path) -> str:
    """The shipped server block with only the certificate files and root swapped."""
    text = SHIPPED.read_text()
    text = _substitute(text, r"^(\s*)ssl_certificate\s[^;]*;", rf"\1ssl_certificate {certificate};")
    text = _substitute(text, r"^(\s*)ssl_certificate_key\s[^;]*;", rf"\1ssl_certificate_key {key};")
    return _substitute(text, r"^(\s*)root\s[^;]*;", rf"\1root {root};")


def main_config(prefix: Path, server_block: Path) -> Path:
    """An nginx.conf around the server block that runs unprivileged, in the foreground, in ``prefix``."""
    mime = f"include {MIME_TYPES};" if MIME_TYPES.exists() else ""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = prefix / "nginx.conf"
    config.write_text(
        f"""daemon off;
master_process off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    {mime}
    default_type application/octet-stream;
    access_log {prefix / "access.log"};
{temp_paths}
    include {server_block};
}}
"""
    )
    return config


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx surfaces as an HTTPError with its own status


_OPENER = urllib.request.build_opener(_NoRedirects)


def fetch(base: str, path: str) -> tuple[int, Message, bytes]:
    try:
        with _OPENER.open(base + path, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@dataclass
class Site:
    base: str  # http://127.0.0.1:<port>
    services: Services
    org_id: str
    issued: dict[str, IssuedCertificate]


@pytest.fixture
def clock() -> FixedClock:
    # nginx reads the wall clock, so the CA's clock starts there too (overrides conftest's).
    return FixedClock(SystemClock().now())


@pytest.fixture
def site(services: Services, tmp_path: Path) -> Iterator[Site]:
    nginx = _nginx()
    org = enterprise_holding(services, "Example")
    issued = {}
    for name in ("live", "revoked"):
        csr, _ = make_csr()
        issued[name] = services.ra.request_certificate(
            CertificateRequest(org.id, csr, TNAuthList.from_user(ranges=["12025550100:10"]), "t")
        )
    services.ra.revoke(
        issued["revoked"].serial, RevocationReason.KEY_COMPROMISE, actor="t", operator=True
    )
    root = tmp_path / "public"
    publisher = FilePublisher(root, services.repository)
    publisher.publish_all()
    # From here on, issuance publishes as ca/services.py wires it for a configured directory.
    services.authority.on_issued.append(publisher.certificate_issued)
    services.crls.on_generated.append(publisher.crl_generated)

    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = _free_port()
    server_block = prefix / "delegato.conf"
    server_block.write_text(render_plain(port, root))
    config = main_config(prefix, server_block)
    process = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"nginx exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nginx did not start listening within 10 s")
                time.sleep(0.05)
        yield Site(f"http://127.0.0.1:{port}", services, org.id, issued)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _cache_control(headers: Message) -> tuple[set[str], int | None]:
    """Directives over every Cache-Control line (nginx sends max-age and ours separately)."""
    directives = {
        part.strip().lower()
        for line in headers.get_all("Cache-Control") or []
        for part in line.split(",")
    }
    ages = [int(d.split("=", 1)[1]) for d in directives if d.startswith("max-age=")]
    assert len(ages) <= 1, directives
    return {d for d in directives if not d.startswith("max-age=")}, ages[0] if ages else None


def _seconds_until(moment: dt.datetime) -> float:
    return moment.timestamp() - time.time()


def test_nginx_serves_what_the_repository_serves(site: Site):
    base, services, issued = site.base, site.services, site.issued
    for certificate in issued.values():
        expected = services.repository.certificate_chain(certificate.serial)
        status, headers, body = fetch(base, "/" + expected.path)
        assert status == 200
        assert body == expected.body == certificate.chain_pem
        assert headers["Content-Type"] == "application/pem-certificate-chain"
        directives, max_age = _cache_control(headers)
        assert directives == {"public", "immutable"}
        assert max_age is not None
        assert abs(max_age - _seconds_until(certificate.not_after)) <= SLACK
        assert parsedate_to_datetime(headers["Expires"]) == certificate.not_after
        assert headers["Last-Modified"] is None  # the mtime is the expiry, not a modification
        assert headers["Location"] is None

    sca = services.issuers.active_sca().id
    crl = services.repository.crl(sca)
    status, headers, body = fetch(base, "/" + crl.path)
    assert status == 200 and body == crl.body
    assert headers["Content-Type"] == "application/pkix-crl"
    parsed = x509.load_der_x509_crl(body)
    revoked_serial = int(issued["revoked"].serial, 16)
    assert parsed.get_revoked_certificate_by_serial_number(revoked_serial) is not None
    directives, max_age = _cache_control(headers)
    assert directives == {"public"} and max_age is not None
    assert abs(max_age - _seconds_until(parsed.next_update_utc)) <= SLACK

    ca_cert = services.repository.ca_certificate(sca)
    status, headers, body = fetch(base, "/" + ca_cert.path)
    assert status == 200 and body == ca_cert.body
    assert headers["Content-Type"] == "application/pem-certificate-chain"
    directives, max_age = _cache_control(headers)
    assert directives == {"public"} and max_age == 86400


def test_new_certificates_and_crls_appear_without_a_reload(site: Site):
    base, services = site.base, site.services
    csr, _ = make_csr()
    later = services.ra.request_certificate(
        CertificateRequest(site.org_id, csr, TNAuthList.from_user(ranges=["12025550200:10"]), "t")
    )
    status, _, body = fetch(base, f"/certs/{later.serial}.pem")
    assert status == 200 and body == later.chain_pem
    services.ra.revoke(later.serial, RevocationReason.SUPERSEDED, actor="t", operator=True)
    status, _, body = fetch(base, f"/crl/{later.issuer_id}.crl")
    assert status == 200 and body == services.repository.crl(later.issuer_id).body
    crl = x509.load_der_x509_crl(body)
    assert crl.get_revoked_certificate_by_serial_number(int(later.serial, 16)) is not None


def test_no_redirects_no_listings_only_published_names(site: Site):
    base, services, issued = site.base, site.services, site.issued
    serial = issued["live"].serial
    chain = issued["live"].chain_pem
    sca = services.issuers.active_sca().id
    # nginx resolves dot segments and ignores the query before it looks for the file: the
    # same bytes, never a redirect.
    for path in (
        f"/certs/./{serial}.pem",
        f"/certs/../certs/{serial}.pem",
        f"/certs/{serial}.pem?x5u=1",
    ):
        status, headers, body = fetch(base, path)
        assert (status, body, headers["Location"]) == (200, chain, None), path
    for path in (
        f"/certs/{serial}.pem/",
        f"/certs/{serial}",
        f"/certs/{serial.upper()}.pem",
        f"/certs/0{serial}.pem",
        f"/certs//{serial}.pem",
        "/certs/1234abcd.pem",
        "/certs/",
        "/certs",
        "/crl/",
        "/crl",
        "/ca/",
        f"/crl/{sca}.crl/",
        f"/crl/{sca}",
        "/crl/sca-000000000000.crl",
        "/ca/sca-000000000000.pem",
        "/",
        "/index.html",
        "/.delegato-publish.lock",
        f"/certs/.{serial}.pem.tmp",
    ):
        status, headers, _ = fetch(base, path)
        assert status == 404, path
        assert headers["Location"] is None, path


def test_the_tls_server_block_as_shipped_passes_nginx_t(tmp_path):
    nginx = _nginx()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sti-cr.example.net")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    cert_file, key_file = prefix / "tls.pem", prefix / "tls.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_block = prefix / "delegato.conf"
    server_block.write_text(render_tls(tmp_path / "public", cert_file, key_file))
    config = main_config(prefix, server_block)
    result = subprocess.run(
        [nginx, "-t", "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
