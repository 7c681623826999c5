"""The repository (x5u chains, CRLs, CA certificates) and the file publisher, as verifiers see them."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ca.publish
from ca.config import RepositoryConfig
from ca.errors import CAError, ErrorKind
from ca.publish import FilePublisher
from ca.ra import CertificateRequest
from ca.repository import PEM_CHAIN, PKIX_CRL, Repository
from ca.revocation import RevocationReason
from ca.services import Services, build_services, initialize_home
from ca.storage import repo
from ca.tnauth import TNAuthList
from tests.conftest import NOW, enterprise_holding, make_config, make_csr, make_services
from tests.support.cli import run, run_json

HOUR = dt.timedelta(hours=1)


def _issue(services: Services, org_id: str, lifetime: dt.timedelta | None = None):
    csr, _ = make_csr()
    return services.ra.request_certificate(
        CertificateRequest(
            org_id,
            csr,
            TNAuthList.from_user(ranges=["12025550100:10"]),
            "operator:test",
            lifetime=lifetime,
        )
    )


def _seconds(delta: dt.timedelta) -> int:
    return int(delta.total_seconds())


def _kind(call) -> CAError:
    with pytest.raises(CAError) as info:
        call()
    return info.value


@pytest.fixture
def org_id(sqlite_services: Services) -> str:
    return enterprise_holding(sqlite_services).id


# --- x5u -------------------------------------------------------------------------------------


def test_x5u_serves_the_chain_leaf_first_root_omitted(services: Services):
    issued = _issue(services, enterprise_holding(services).id)
    served = services.repository.certificate_chain(issued.serial)
    assert served.path == f"certs/{issued.serial}.pem"
    assert services.config.certificate_url(issued.serial).endswith("/" + served.path)
    assert served.body == issued.chain_pem
    chain = x509.load_pem_x509_certificates(served.body)
    assert chain[0] == issued.certificate
    assert chain[1] == services.issuers.get(issued.issuer_id).certificate
    assert all(c.issuer != c.subject for c in chain), "the root is omitted"
    assert served.content_type == PEM_CHAIN == "application/pem-certificate-chain"
    assert served.cache_control == (
        f"public, max-age={_seconds(issued.not_after - NOW)}, immutable"
    )
    assert served.etag == hashlib.sha256(served.body).hexdigest()[:32]
    assert served.last_modified == NOW
    assert served.expires == issued.not_after


def test_max_age_counts_down_to_zero_while_the_bytes_stay(sqlite_services, org_id, clock):
    issued = _issue(sqlite_services, org_id)
    first = sqlite_services.repository.certificate_chain(issued.serial)
    clock.advance(HOUR)
    later = sqlite_services.repository.certificate_chain(issued.serial)
    assert later.body == first.body and later.etag == first.etag
    assert later.cache_control == (
        f"public, max-age={_seconds(issued.not_after - NOW - HOUR)}, immutable"
    )
    clock.set(issued.not_after + dt.timedelta(seconds=1))
    expired = sqlite_services.repository.certificate_chain(issued.serial)
    assert expired.body == first.body
    assert expired.cache_control == "public, max-age=0, immutable"
    assert expired.expires == issued.not_after


def test_a_revoked_certificate_still_serves_its_chain(sqlite_services, org_id):
    issued = _issue(sqlite_services, org_id)
    before = sqlite_services.repository.certificate_chain(issued.serial)
    sqlite_services.ra.revoke(
        issued.serial, RevocationReason.KEY_COMPROMISE, actor="t", operator=True
    )
    # A fresh repository (another worker) reads it from storage, not from a cache.
    cold = Repository(
        sqlite_services.storage,
        sqlite_services.issuers,
        sqlite_services.config,
        sqlite_services.clock,
    )
    for repository in (sqlite_services.repository, cold):
        served = repository.certificate_chain(issued.serial)
        assert served.body == before.body == issued.chain_pem
        assert served.cache_control == before.cache_control


def test_a_hit_reads_no_database(sqlite_services, org_id, monkeypatch):
    issued = _issue(sqlite_services, org_id)
    first = sqlite_services.repository.certificate_chain(issued.serial)

    def unavailable(*args, **kwargs):
        raise AssertionError("the x5u of a known certificate was read from storage again")

    monkeypatch.setattr(repo, "get_certificate", unavailable)
    assert sqlite_services.repository.certificate_chain(issued.serial).body == first.body


def test_headers_are_complete_http_fields(sqlite_services, org_id):
    issued = _issue(sqlite_services, org_id)
    headers = sqlite_services.repository.certificate_chain(issued.serial).headers()
    assert headers["Content-Type"] == "application/pem-certificate-chain"
    assert headers["Cache-Control"].startswith("public, max-age=")
    assert headers["ETag"].startswith('"') and not headers["ETag"].startswith("W/")
    assert headers["Last-Modified"] == "Mon, 23 Nov 2026 12:00:00 GMT"
    assert headers["Expires"] == issued.not_after.strftime("%a, %d %b %Y %H:%M:%S GMT")


def test_only_the_canonical_spelling_of_a_serial_answers(sqlite_services, org_id):
    issued = _issue(sqlite_services, org_id)
    serial = issued.serial
    for other in (
        serial.upper(),
        "0" + serial,
        "0x" + serial,
        ":".join(serial[i : i + 2] for i in range(0, len(serial), 2)),
        serial + ".pem",
        serial + "\n",
        " " + serial,
        "",
        "0",
        "../" + serial,
        "1" * 41,
        "\0" + serial,
        "١٢٣",  # Arabic-Indic digits are digits to Python, not to x5u
    ):
        error = _kind(lambda other=other: sqlite_services.repository.certificate_chain(other))
        assert (error.kind, error.field) == (ErrorKind.NOT_FOUND, "serial"), other
    unknown = _kind(lambda: sqlite_services.repository.certificate_chain("1f" * 8))
    assert (unknown.kind, unknown.field) == (ErrorKind.NOT_FOUND, "serial")


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.one_of(
        st.text(),
        st.from_regex(r"[0-9a-fA-F]{1,42}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9_.-]{1,42}", fullmatch=True),
    )
)
def test_arbitrary_path_strings_only_ever_raise_not_found(sqlite_services, path):
    repository = sqlite_services.repository  # read-only: shared by the examples
    for lookup in (repository.certificate_chain, repository.crl, repository.ca_certificate):
        try:
            served = lookup(path)
        except CAError as exc:
            assert exc.kind is ErrorKind.NOT_FOUND
            assert exc.field in ("serial", "issuer")
        else:
            assert served.body and served.path.split("/", 1)[1].startswith(path)


# --- CRLs and CA certificates ----------------------------------------------------------------


def test_crl_is_the_latest_and_fresh_until_its_next_update(sqlite_services, org_id, clock):
    sca = sqlite_services.issuers.active_sca().id
    first = sqlite_services.repository.crl(sca)
    assert first.path == f"crl/{sca}.crl"
    assert first.content_type == PKIX_CRL == "application/pkix-crl"
    assert first.cache_control == "public, max-age=43200"  # crl.validity, no immutable
    assert first.body == sqlite_services.crls.latest(sca).der
    assert first.last_modified == NOW and first.expires == NOW + 12 * HOUR
    x509.load_der_x509_crl(first.body)

    clock.advance(HOUR)
    issued = _issue(sqlite_services, org_id)
    sqlite_services.ra.revoke(issued.serial, RevocationReason.SUPERSEDED, actor="t", operator=True)
    newer = sqlite_services.repository.crl(sca)
    assert newer.body != first.body and newer.etag != first.etag
    crl = x509.load_der_x509_crl(newer.body)
    assert crl.get_revoked_certificate_by_serial_number(int(issued.serial, 16)) is not None
    assert newer.cache_control == "public, max-age=43200"
    clock.advance(11 * HOUR)
    assert sqlite_services.repository.crl(sca).cache_control == "public, max-age=3600"
    clock.advance(2 * HOUR)
    assert sqlite_services.repository.crl(sca).cache_control == "public, max-age=0"


def test_ca_certificates_of_root_and_sca(sqlite_services):
    for info in sqlite_services.issuers.all():
        if info.record.role not in ("root", "sca"):
            continue
        served = sqlite_services.repository.ca_certificate(info.id)
        assert served.body == info.certificate.public_bytes(serialization.Encoding.PEM)
        assert served.content_type == PEM_CHAIN
        assert served.cache_control == "public, max-age=86400"
        assert served.last_modified == info.record.created_at


def test_unknown_issuers_and_issuers_without_a_public_object(sqlite_services):
    status = next(i for i in sqlite_services.issuers.all() if i.record.role == "status_signer")
    repository = sqlite_services.repository
    for call in (
        lambda: repository.ca_certificate(status.id),  # an end entity: its x5c carries it
        lambda: repository.crl(status.id),  # signs no CRL
        lambda: repository.crl("sca-000000000000"),
        lambda: repository.crl("../sca"),
        lambda: repository.ca_certificate("sca.pem"),
        lambda: repository.ca_certificate("a" * 41),
    ):
        error = _kind(call)
        assert (error.kind, error.field) == (ErrorKind.NOT_FOUND, "issuer")


# --- the file publisher ----------------------------------------------------------------------


@pytest.fixture
def published(tmp_path, clock) -> Iterator[Services]:
    """An initialized CA whose config names a (home-relative) publication directory."""
    config = make_config(
        tmp_path / "home",
        f"sqlite:///{tmp_path / 'd.db'}",
        repository=RepositoryConfig(Path("public")),
    )
    services = build_services(config, clock=clock)
    initialize_home(
        services,
        spc="1234",
        sca_scope=TNAuthList.from_user(ranges=["12025550000:10000"]),
        crl_model="direct",
        actor="operator:test",
    )
    yield services
    services.close()


def _mtime(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)


def _leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.name.endswith(".tmp")]


def test_issuance_and_crls_are_published_with_expiry_mtimes(published):
    directory = published.config.repository.directory
    assert directory == published.config.home / "public"
    sca = published.issuers.active_sca().id
    root = next(i.id for i in published.issuers.all() if i.record.role == "root")
    for name in (f"ca/{sca}.pem", f"ca/{root}.pem", f"crl/{sca}.crl", f"crl/{root}.crl"):
        assert (directory / name).is_file(), f"`delegato init` published {name}"

    issued = _issue(published, enterprise_holding(published).id)
    chain = directory / "certs" / f"{issued.serial}.pem"
    assert chain.read_bytes() == published.repository.certificate_chain(issued.serial).body
    # nginx: "expires modified +1s" turns this mtime into Expires = notAfter.
    assert _mtime(chain) == issued.not_after - dt.timedelta(seconds=1)
    assert stat.S_IMODE(chain.stat().st_mode) == 0o644

    published.ra.revoke(issued.serial, RevocationReason.KEY_COMPROMISE, actor="t", operator=True)
    crl_file = directory / "crl" / f"{sca}.crl"
    latest = published.crls.latest(sca)
    assert crl_file.read_bytes() == latest.der == published.repository.crl(sca).body
    assert _mtime(crl_file) == latest.next_update - dt.timedelta(seconds=1)
    assert chain.read_bytes() == issued.chain_pem  # revoked: still served
    assert _leftovers(directory) == []


def test_a_failed_write_keeps_the_old_file_and_says_so(published, clock, monkeypatch):
    sca = published.issuers.active_sca().id
    crl_file = published.config.repository.directory / "crl" / f"{sca}.crl"
    before = crl_file.read_bytes()

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ca.publish.os, "replace", disk_full)
    clock.advance(HOUR)
    error = _kind(lambda: published.crls.generate(sca))
    assert (error.kind, error.field) == (ErrorKind.CONFIGURATION, "repository.directory")
    assert "delegato publish" in error.detail
    assert crl_file.read_bytes() == before
    assert _leftovers(published.config.repository.directory) == []

    monkeypatch.undo()
    published.publisher.publish_all()  # the repair the error names
    assert crl_file.read_bytes() == published.crls.latest(sca).der != before


def test_an_older_crl_never_replaces_a_newer_one(published, clock):
    sca = published.issuers.active_sca().id
    older = published.crls.generate(sca)
    clock.advance(HOUR)
    newer = published.crls.generate(sca)
    publisher = published.publisher
    assert not publisher.publish_crl(published.repository.crl_object(older))
    crl_file = publisher.directory / "crl" / f"{sca}.crl"
    assert crl_file.read_bytes() == newer.der


def test_a_chain_file_never_changes_its_bytes(published):
    issued = _issue(published, enterprise_holding(published).id)
    chain = published.publisher.directory / "certs" / f"{issued.serial}.pem"
    chain.write_bytes(b"other bytes")
    error = _kind(lambda: published.publisher.publish_certificate(issued.serial))
    assert error.kind is ErrorKind.CONFLICT
    assert chain.read_bytes() == b"other bytes"


def test_publish_all_fills_a_fresh_directory_once(sqlite_services, org_id, clock, tmp_path):
    expired = _issue(sqlite_services, org_id, lifetime=HOUR)
    live = _issue(sqlite_services, org_id)
    revoked = _issue(sqlite_services, org_id)
    sqlite_services.ra.revoke(revoked.serial, RevocationReason.SUPERSEDED, actor="t", operator=True)
    clock.advance(2 * HOUR)
    directory = tmp_path / "fresh"
    publisher = FilePublisher(directory, sqlite_services.repository)

    report = publisher.publish_all()
    assert (report.certificates, report.crls, report.ca_certificates) == (2, 2, 2)
    assert report.written == 6
    for issued in (live, revoked):
        path = directory / "certs" / f"{issued.serial}.pem"
        assert path.read_bytes() == issued.chain_pem
    assert not (directory / "certs" / f"{expired.serial}.pem").exists()
    assert publisher.publish_all().written == 0  # files already right are left alone


def test_publish_all_with_an_indirect_crl(tmp_path, clock):
    services = make_services(
        tmp_path / "home", f"sqlite:///{tmp_path / 'd.db'}", clock, crl_model="indirect"
    )
    try:
        report = FilePublisher(tmp_path / "pub", services.repository).publish_all()
        sca = services.issuers.active_sca()
        signer = services.issuers.crl_signer_for(sca)
        assert signer is not sca
        # The SCA's CRL sits at the SCA's URL; the CRL signer's certificate is published too.
        assert (report.ca_certificates, report.crls) == (3, 2)
        crl = x509.load_der_x509_crl((tmp_path / "pub" / "crl" / f"{sca.id}.crl").read_bytes())
        assert crl.is_signature_valid(signer.certificate.public_key())
        assert (tmp_path / "pub" / "ca" / f"{signer.id}.pem").read_bytes() == (
            signer.certificate.public_bytes(serialization.Encoding.PEM)
        )
    finally:
        services.close()


def test_cli_publish(tmp_path):
    home = tmp_path / "home"
    run_json(home, "init")
    out = run_json(home, "publish", "--dir", str(tmp_path / "pub"))
    assert (out["ca_certificates"], out["crls"], out["certificates"]) == (2, 2, 0)
    assert out["written"] == 4
    assert len(list((tmp_path / "pub" / "crl").glob("*.crl"))) == 2
    code, _, err = run(home, "publish", ok=False)
    assert code != 0 and "repository.directory" in err
