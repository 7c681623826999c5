"""Shared fixtures: a fixed clock, a database per test on SQLite and PostgreSQL, an initialized CA."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ca.clock import Clock, FixedClock
from ca.config import Config
from ca.services import Services, build_services, initialize_home
from ca.storage.records import Organization
from ca.tnauth import TNAuthList
from tests.support import pgcluster

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
NOW = dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.UTC)
_names = itertools.count()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    if not pgcluster.available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing in CI")
        pytest.skip("PostgreSQL server binaries are not installed")
    with pgcluster.throwaway_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database for one test, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'delegato.db'}"
    cluster = request.getfixturevalue("postgres_cluster")
    return pgcluster.create_database(cluster, f"t{os.getpid()}_{next(_names)}")


def make_config(home: Path, database_url: str, **overrides: object) -> Config:
    return Config(home=home, database_url=database_url, **overrides)  # type: ignore[arg-type]


def make_services(
    home: Path, database_url: str, clock: Clock, *, crl_model: str = "direct"
) -> Services:
    services = build_services(make_config(home, database_url), clock=clock)
    initialize_home(
        services,
        spc="1234",
        sca_scope=TNAuthList.from_user(ranges=["12025550000:10000", "18885550000:10000"]),
        crl_model=crl_model,
        actor="operator:test",
    )
    return services


@pytest.fixture
def services(tmp_path: Path, database_url: str, clock: FixedClock) -> Iterator[Services]:
    """An initialized CA (dev hierarchy, direct CRLs) on each backend."""
    built = make_services(tmp_path / "home", database_url, clock)
    yield built
    built.close()


@pytest.fixture
def sqlite_services(tmp_path: Path, clock: FixedClock) -> Iterator[Services]:
    """An initialized CA on SQLite only, for tests whose subject is not storage."""
    built = make_services(tmp_path / "home", f"sqlite:///{tmp_path / 'd.db'}", clock)
    yield built
    built.close()


def enterprise_holding(
    services: Services,
    name: str = "Example Corp",
    ranges: tuple[str, ...] = ("12025550000:10000", "18885550000:10000"),
    *,
    lifetime: dt.timedelta = dt.timedelta(days=30),
) -> Organization:
    """An enterprise to which a TN authority has assigned ``ranges`` (the whole SCA by default)."""
    tnsp = services.organizations.add("tn_authority", f"{name} Carrier", actor="operator:test")
    org = services.organizations.add("enterprise", name, actor="operator:test")
    services.registry.assign(
        tnsp.id,
        org.id,
        TNAuthList.from_user(ranges=ranges),
        services.clock.now() + lifetime,
        actor="operator:test",
        evidence="LOA test",
    )
    return org


def make_csr(
    key: ec.EllipticCurvePrivateKey | None = None, *, extensions: bool = False
) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    """A PEM CSR for a fresh (or given) key; ``extensions`` asks for things Delegato must ignore."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "holder")])
    )
    if extensions:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM), key
