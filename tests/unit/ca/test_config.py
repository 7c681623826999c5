"""Configuration: defaults, the file, the environment, and refusals that name the key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ca.config import Config, RepositoryConfig
from ca.durations import parse_duration, parse_when
from ca.errors import CAError


def test_defaults(tmp_path):
    config = Config.load(tmp_path, env={})
    assert config.public_url == "http://127.0.0.1:8080"
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'delegato.db'}"
    assert config.issuance.default_lifetime == dt.timedelta(hours=24)
    assert config.issuance.max_lifetime == dt.timedelta(days=7)
    assert config.issuance.backdate == dt.timedelta(minutes=5)
    assert config.certificate_url("ab") == "http://127.0.0.1:8080/certs/ab.pem"
    assert config.crl_url("sca-1") == "http://127.0.0.1:8080/crl/sca-1.crl"


def test_file_and_environment(tmp_path):
    (tmp_path / "delegato.toml").write_text(
        'public_url = "https://sti.example.net/"\n[issuance]\nmax_lifetime = "2d"\n'
    )
    config = Config.load(tmp_path, env={"DELEGATO_DATABASE_URL": "postgresql+psycopg://db/x"})
    assert config.public_url == "https://sti.example.net"
    assert config.issuance.max_lifetime == dt.timedelta(days=2)
    assert config.database_url == "postgresql+psycopg://db/x"
    env = {"DELEGATO_PUBLIC_URL": "https://cdn.example.net"}
    assert Config.load(tmp_path, env=env).public_url == "https://cdn.example.net"


def test_round_trip_of_the_written_file(tmp_path):
    config = Config.load(tmp_path, env={})
    (tmp_path / "delegato.toml").write_text(config.to_toml())
    assert Config.load(tmp_path, env={}) == config


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('colour = "blue"\n', "colour"),
        ('[issuance]\nmax_life = "1d"\n', "issuance.max_life"),
        ('[issuance]\nmax_lifetime = "soon"\n', "issuance.max_lifetime"),
        ('[issuance]\ndefault_lifetime = "8d"\n', "issuance.default_lifetime"),
        ('[crl]\nvalidity = "2d"\n', "crl.validity"),
        ('public_url = "ftp://x"\n', "public_url"),
        ('public_url = "https://x/?q=1"\n', "public_url"),
        ('[repository]\ndir = "pub"\n', "repository.dir"),
        ("[repository]\ndirectory = 1\n", "repository.directory"),
        ('repository = "pub"\n', "repository"),
        ("[server]\nthreads = 0\n", "server.threads"),
        ('[server]\npin_cpus = "yes"\n', "server.pin_cpus"),
        ("not toml [", None),
    ],
)
def test_bad_settings_name_the_key(tmp_path, text, field):
    (tmp_path / "delegato.toml").write_text(text)
    with pytest.raises(CAError) as info:
        Config.load(tmp_path, env={})
    if field:
        assert info.value.field == field


def test_durations_and_moments():
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert parse_duration("90m") == dt.timedelta(minutes=90)
    assert parse_when("+2d", now) == now + dt.timedelta(days=2)
    assert parse_when("2026-03-01T00:00:00", now) == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert parse_when("2026-03-01T00:00:00-05:00", now) == dt.datetime(2026, 3, 1, 5, tzinfo=dt.UTC)
    for bad in ("0h", "1w", "-1d", ""):
        with pytest.raises(CAError):
            parse_duration(bad)
    with pytest.raises(CAError, match="neither ISO-8601"):
        parse_when("tomorrow", now)


def test_the_example_production_configuration_loads(tmp_path):
    example = Path(__file__).resolve().parents[3] / "deploy" / "delegato.toml"
    (tmp_path / "delegato.toml").write_text(example.read_text())
    config = Config.load(tmp_path, env={})
    assert config.public_url == "https://sti-cr.example.net"
    assert config.database_url.startswith("postgresql+psycopg://")
    assert config.crl.validity == dt.timedelta(hours=12)
    assert config.repository.directory == Path("/var/lib/delegato/repository")


def test_repository_directory_is_optional_and_resolves_against_the_home(tmp_path):
    assert Config.load(tmp_path, env={}).repository.directory is None
    home = tmp_path.resolve()
    for written, expected in (
        ('""', None),
        ('"pub"', home / "pub"),
        ('"../shared/pub"', home / "../shared/pub"),
        (f'"{home / "abs"}"', home / "abs"),
    ):
        (tmp_path / "delegato.toml").write_text(f"[repository]\ndirectory = {written}\n")
        config = Config.load(tmp_path, env={})
        assert config.repository.directory == expected
        # What `delegato init` would write reads back the same.
        (tmp_path / "delegato.toml").write_text(config.to_toml())
        assert Config.load(tmp_path, env={}) == config
    direct = Config(home=home, repository=RepositoryConfig(Path("pub")))
    assert direct.repository.directory == home / "pub"
