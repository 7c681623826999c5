"""Configuration: ``$DELEGATO_HOME/delegato.toml`` plus ``DELEGATO_*`` environment, validated once.

Raw TOML tables are checked key by key so a typo fails start-up with the file and key named, rather
than being silently ignored. Secrets (key passphrases) never live here: key URIs name where the
passphrase comes from (an environment variable or a file).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ca.durations import format_duration, parse_duration
from ca.errors import CAError, ErrorKind

CONFIG_FILE = "delegato.toml"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"


def _config_error(key: str, detail: str) -> CAError:
    return CAError(ErrorKind.CONFIGURATION, detail, field=key)


@dataclass(frozen=True)
class IssuanceConfig:
    """How delegate certificates are shaped in time and subject."""

    default_lifetime: dt.timedelta = dt.timedelta(hours=24)
    max_lifetime: dt.timedelta = dt.timedelta(days=7)
    backdate: dt.timedelta = dt.timedelta(minutes=5)
    country: str = "US"

    def __post_init__(self) -> None:
        if self.default_lifetime > self.max_lifetime:
            raise _config_error(
                "issuance.default_lifetime", "must not be longer than issuance.max_lifetime"
            )
        if self.backdate > dt.timedelta(hours=1):
            raise _config_error("issuance.backdate", "must be at most 1h")
        if len(self.country) != 2 or not self.country.isalpha() or not self.country.isupper():
            raise _config_error("issuance.country", "must be a two-letter ISO 3166 code")


@dataclass(frozen=True)
class CRLConfig:
    """CRL freshness: nextUpdate is thisUpdate + validity (STANDARDS.md §5: at most 24 h)."""

    validity: dt.timedelta = dt.timedelta(hours=12)

    def __post_init__(self) -> None:
        if self.validity > dt.timedelta(hours=24):
            raise _config_error("crl.validity", "must be at most 24h (ATIS-1000080 practice)")


@dataclass(frozen=True)
class ServerConfig:
    """`delegato serve`: where gunicorn listens, how many processes, how large a request may be."""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 4
    max_body: int = 64 * 1024  # bytes; a CSR or a few Identity headers fit with room to spare
    # Each worker keeps to one CPU of those the server may use (worker i on the i-th, round
    # robin): its threads then hand the GIL over on one core instead of across two.
    pin_cpus: bool = True

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise _config_error("server.host", "must be a host name or address")
        for name, low, high in (("port", 1, 65535), ("workers", 1, 64), ("threads", 1, 64)):
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= high:
                raise _config_error(f"server.{name}", f"must be a whole number {low}..{high}")
        if type(self.max_body) is not int or not 1024 <= self.max_body <= 16 * 1024 * 1024:
            raise _config_error("server.max_body", "must be 1024..16777216 bytes")
        if type(self.pin_cpus) is not bool:
            raise _config_error("server.pin_cpus", "must be true or false")


@dataclass(frozen=True)
class VerifierConfig:
    """The verify endpoints: trust anchors, policies and whether callers need an API key."""

    trust: str = ""  # PEM bundle, directory or signed trust list; default: the home's dev root
    trust_list_key: str = ""
    crl_policy: str = "require"  # require | best-effort | off
    spc_parent_policy: str = "strict"  # strict | registry | lenient
    require_key: bool = False  # True: only callers with an API key may verify
    allow_hosts: tuple[str, ...] = ()  # development x5u hosts allowed over http / private addresses

    def __post_init__(self) -> None:
        if self.crl_policy not in ("require", "best-effort", "off"):
            raise _config_error("verifier.crl_policy", "must be require, best-effort or off")
        if self.spc_parent_policy not in ("strict", "registry", "lenient"):
            raise _config_error("verifier.spc_parent_policy", "must be strict, registry or lenient")
        if type(self.require_key) is not bool:
            raise _config_error("verifier.require_key", "must be true or false")


@dataclass(frozen=True)
class RepositoryConfig:
    """The file publisher: where certificate chains, CRLs and CA certificates are written.

    ``directory`` None means no file publisher (the HTTP routes serve the repository alone);
    a relative directory resolves against the home.
    """

    directory: Path | None = None

    def __post_init__(self) -> None:
        if self.directory is not None and not isinstance(self.directory, Path):
            raise _config_error("repository.directory", "must be a path")

    @classmethod
    def from_mapping(cls, home: Path, raw: Mapping[str, Any]) -> RepositoryConfig:
        _only_keys("repository.", raw, {"directory"})
        directory = raw.get("directory", "")
        if not isinstance(directory, str):
            raise _config_error("repository.directory", "must be a string (empty: no publisher)")
        return cls(directory=home / directory if directory.strip() else None)


@dataclass(frozen=True)
class Config:
    """Validated configuration of one Delegato home."""

    home: Path
    public_url: str = DEFAULT_PUBLIC_URL
    database_url: str = ""
    issuance: IssuanceConfig = field(default_factory=IssuanceConfig)
    crl: CRLConfig = field(default_factory=CRLConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    verifier: VerifierConfig = field(default_factory=VerifierConfig)
    repository: RepositoryConfig = field(default_factory=RepositoryConfig)

    def __post_init__(self) -> None:
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _config_error("public_url", f"{self.public_url!r} is not an http(s) URL")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise _config_error("public_url", "must have no userinfo, query or fragment")
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.home / 'delegato.db'}")
        directory = self.repository.directory
        if directory is not None and not directory.is_absolute():
            object.__setattr__(self, "repository", RepositoryConfig(self.home / directory))

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def pki_dir(self) -> Path:
        return self.home / "pki"

    def certificate_url(self, serial_hex: str) -> str:
        """The x5u of one certificate chain (ARCHITECTURE.md "Publication")."""
        return f"{self.public_url}/certs/{serial_hex}.pem"

    def crl_url(self, issuer_id: str) -> str:
        return f"{self.public_url}/crl/{issuer_id}.crl"

    @property
    def trust_path(self) -> Path:
        """The verifier's trust anchors: configured, else the dev root `delegato init` wrote."""
        return self.home / self.verifier.trust if self.verifier.trust else self.pki_dir / "root.pem"

    @property
    def verifier_allow_hosts(self) -> tuple[str, ...]:
        """Hosts the verifier may fetch from over http or at private addresses: the configured
        ones, plus this service's own public host while it is a plain-http development URL."""
        parts = urlsplit(self.public_url)
        own = (parts.netloc,) if parts.scheme == "http" else ()
        return tuple(dict.fromkeys((*self.verifier.allow_hosts, *own)))

    @classmethod
    def load(cls, home: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
        """Read the home's delegato.toml (if any) and apply the environment on top."""
        env = os.environ if env is None else env
        home_path = Path(home or env.get("DELEGATO_HOME") or Path.home() / ".delegato")
        raw: dict[str, Any] = {}
        path = home_path / CONFIG_FILE
        if path.exists():
            try:
                raw = tomllib.loads(path.read_text())
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise _config_error(str(path), f"is not valid TOML: {exc}") from None
        return cls.from_mapping(home_path.resolve(), raw, env)

    @classmethod
    def from_mapping(
        cls, home: Path, raw: Mapping[str, Any], env: Mapping[str, str] | None = None
    ) -> Config:
        env = env or {}
        _only_keys(
            "",
            raw,
            {"public_url", "database_url", "issuance", "crl", "server", "verifier", "repository"},
        )
        issuance_raw = _table(raw, "issuance")
        _only_keys(
            "issuance.", issuance_raw, {"default_lifetime", "max_lifetime", "backdate", "country"}
        )
        crl_raw = _table(raw, "crl")
        _only_keys("crl.", crl_raw, {"validity"})
        durations: dict[str, Any] = {
            name: parse_duration(str(value), f"issuance.{name}")
            for name, value in issuance_raw.items()
            if name != "country"
        }
        issuance = IssuanceConfig(
            **durations,
            **({"country": issuance_raw["country"]} if "country" in issuance_raw else {}),
        )
        crl = CRLConfig(**{k: parse_duration(str(v), f"crl.{k}") for k, v in crl_raw.items()})
        server_raw = _table(raw, "server")
        _only_keys("server.", server_raw, set(ServerConfig.__dataclass_fields__))
        server = ServerConfig(**server_raw)
        verifier_raw = dict(_table(raw, "verifier"))
        _only_keys("verifier.", verifier_raw, set(VerifierConfig.__dataclass_fields__))
        if "allow_hosts" in verifier_raw:
            hosts = verifier_raw["allow_hosts"]
            if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
                raise _config_error("verifier.allow_hosts", "must be a list of HOST[:PORT]")
            verifier_raw["allow_hosts"] = tuple(hosts)
        verifier = VerifierConfig(**verifier_raw)
        return cls(
            home=home,
            public_url=env.get("DELEGATO_PUBLIC_URL")
            or raw.get("public_url")
            or DEFAULT_PUBLIC_URL,
            database_url=env.get("DELEGATO_DATABASE_URL") or raw.get("database_url") or "",
            issuance=issuance,
            crl=crl,
            server=server,
            verifier=verifier,
            repository=RepositoryConfig.from_mapping(home, _table(raw, "repository")),
        )

    def to_toml(self) -> str:
        """The file `delegato init` writes: every setting spelled out, defaults included."""
        lines = [
            "# Delegato configuration. DELEGATO_PUBLIC_URL and DELEGATO_DATABASE_URL override.",
            f'public_url = "{self.public_url}"',
            '# database_url = "postgresql+psycopg://delegato@db.example.net/delegato"',
            "# (default: the embedded SQLite store delegato.db in this home)",
            "",
            "[issuance]",
            f'default_lifetime = "{format_duration(self.issuance.default_lifetime)}"',
            f'max_lifetime = "{format_duration(self.issuance.max_lifetime)}"',
            f'backdate = "{format_duration(self.issuance.backdate)}"',
            f'country = "{self.issuance.country}"',
            "",
            "[crl]",
            f'validity = "{format_duration(self.crl.validity)}"',
            "",
            "[server]  # delegato serve (gunicorn)",
            f'host = "{self.server.host}"',
            f"port = {self.server.port}",
            f"workers = {self.server.workers}",
            f"threads = {self.server.threads}",
            f"max_body = {self.server.max_body}",
            f"pin_cpus = {'true' if self.server.pin_cpus else 'false'}"
            "  # each worker on one CPU, round robin",
            "",
            "[verifier]  # POST /v1/verify/*",
            '# trust = "pki/root.pem"  # PEM bundle, directory or signed trust list (home-relative)',
            f'crl_policy = "{self.verifier.crl_policy}"',
            f'spc_parent_policy = "{self.verifier.spc_parent_policy}"',
            f"require_key = {'true' if self.verifier.require_key else 'false'}",
            f"allow_hosts = {json.dumps(list(self.verifier.allow_hosts))}",
            "",
            "[repository]  # file publisher for nginx, a CDN or object storage (deploy/nginx.conf)",
            f"directory = {_toml_string(str(self.repository.directory))}"
            if self.repository.directory
            else '# directory = "repository"  # home-relative; unset: the HTTP routes serve alone',
            "",
        ]
        return "\n".join(lines)


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML reads back)."""
    return json.dumps(text, ensure_ascii=False)


def _table(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, Mapping):
        raise _config_error(name, "must be a table")
    return value


def _only_keys(prefix: str, raw: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _config_error(
            prefix + unknown[0], f"unknown setting; allowed: {', '.join(sorted(allowed))}"
        )
