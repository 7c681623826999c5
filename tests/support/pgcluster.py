"""A throwaway PostgreSQL cluster from the installed server binaries (initdb, pg_ctl).

PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres`` system user
(created by the Debian package). The cluster listens on a free loopback port and a private
unix-socket directory, uses fsync=off (it is thrown away), and is removed on exit.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for version in ("17", "16", "15"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
        if candidate.exists():
            return str(candidate)
    raise RuntimeError(f"PostgreSQL server binary {name!r} not found")


def available() -> bool:
    try:
        _binary("initdb")
        _binary("pg_ctl")
    except RuntimeError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextlib.contextmanager
def throwaway_cluster(
    database: str = "delegato", settings: dict[str, str] | None = None
) -> Iterator[str]:
    """Start a cluster, create ``database``, yield a SQLAlchemy URL, stop and delete everything.

    ``settings`` are extra server settings (``-c name=value``), e.g. the memory a benchmark at
    production scale gives PostgreSQL.
    """
    owner = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="delegato-pg-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    if owner:
        entry = pwd.getpwnam(owner)
        for path in (base, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    user = owner or pwd.getpwuid(os.geteuid()).pw_name
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run(
        _as_owner(
            [
                _binary("initdb"),
                "-D",
                str(data),
                "-U",
                user,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ],
            owner,
        ),
        check=True,
        capture_output=True,
        env=env,
    )
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    ) + "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
    subprocess.run(
        _as_owner(
            [
                _binary("pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "-l",
                str(base / "server.log"),
                "start",
            ],
            owner,
        ),
        check=True,
        capture_output=True,
        env=env,
    )
    try:
        subprocess.run(
            _as_owner(
                [
                    _binary("createdb") if shutil.which("createdb") else "createdb",
                    "-h",
                    str(sockets),
                    "-p",
                    str(port),
                    "-U",
                    user,
                    database,
                ],
                owner,
            ),
            check=True,
            capture_output=True,
            env=env,
        )
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(
            _as_owner([_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], owner),
            capture_output=True,
            env=env,
        )
        shutil.rmtree(base, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """A fresh database in the same cluster (one per test), returning its URL."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"
