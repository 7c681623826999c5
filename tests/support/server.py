"""`delegato serve` as a real process for integration tests and benchmarks.

A home is made as an operator makes one (`delegato init`, `delegato org add`, `delegato key create`,
run in-process through click with the environment a shell would give them); the server is the
real command, a gunicorn arbiter with its workers and jobs process, started in its own process
group on a free loopback port, with stdout and stderr captured to one file. It is stopped with
SIGTERM, as systemd stops it; if it has not exited in time, its whole process group is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from ca.cli import cli

DELEGATO = str(Path(sys.executable).with_name("delegato"))
READY_TIMEOUT = 90.0  # seconds; two servers and a test suite may share two cores
STOP_TIMEOUT = 20.0


def free_ports(count: int = 1) -> list[int]:
    """Loopback ports free now, all different (each socket is held until all are chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


@dataclass(frozen=True)
class Home:
    """A Delegato home and the environment its commands and its server run with."""

    path: Path
    database_url: str
    public_url: str
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def environment(self) -> dict[str, str]:
        return {
            "DELEGATO_DATABASE_URL": self.database_url,
            "DELEGATO_PUBLIC_URL": self.public_url,
            **self.env,
        }

    def cli(self, *args: str) -> dict:
        """``delegato --home H ARGS --json`` with this home's environment; the one JSON line."""
        result = CliRunner().invoke(
            cli,
            ["--home", str(self.path), *args, "--json"],
            env=self.environment,
            catch_exceptions=False,
        )
        assert result.exit_code == 0, f"delegato {' '.join(args)}: {result.stderr or result.stdout}"
        lines = result.stdout.splitlines()
        assert len(lines) == 1, result.stdout
        data: dict = json.loads(lines[0])
        return data

    def copy(self, path: Path) -> Home:
        """A second home with the same configuration, trust anchors, database and public URL:
        another host of the same deployment. An embedded database file here is not copied."""
        shutil.copytree(self.path, path, ignore=shutil.ignore_patterns("*.db", "*.db-*", "run"))
        return Home(path, self.database_url, self.public_url, self.env)


def init_home(
    path: Path, database_url: str, public_url: str, env: Mapping[str, str] | None = None
) -> Home:
    """`delegato init` of a fresh home on ``database_url`` whose x5u links name ``public_url``."""
    home = Home(path, database_url, public_url, dict(env or {}))
    home.cli("init")
    return home


@dataclass
class Server:
    """One running `delegato serve`: its arbiter process, address and captured output."""

    home: Home
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    leftovers: bool = False  # processes of its group were still alive after the arbiter exited
    _terminated: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[str]:
        return self.log().splitlines()

    def children(self) -> list[int]:
        """Process ids of the arbiter's children (gunicorn workers and the jobs process)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def jobs_process(self) -> int:
        """The process id of the jobs process `delegato serve` started (``python -m ca jobs``)."""
        for pid in self.children():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[1:4] == [b"-m", b"ca", b"jobs"]:
                return pid
        raise AssertionError(
            f"the server on port {self.port} runs no jobs process:\n{self._tail()}"
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"delegato serve exited with {self.process.returncode}:\n{self._tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"delegato serve not ready after {timeout:.0f}s:\n{self._tail()}"
                )
            time.sleep(0.1)

    def terminate(self) -> None:
        """Ask the arbiter to shut down gracefully (once), without waiting."""
        if self.process.poll() is None and not self._terminated:
            self.process.send_signal(signal.SIGTERM)
            self._terminated = True

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM to the arbiter; the process group is killed if it outlives ``timeout``."""
        self.terminate()
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self.process.wait(timeout=5)
                return self.process.returncode
        # The arbiter stops its workers and the jobs process itself; anything still in the
        # group now would outlive the test, so it goes, and the caller may ask about it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 0)
            self.leftovers = True
            self._kill_group()
        return self.process.returncode

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def _tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_lines()[-lines:])


def start_server(
    home: Home,
    *,
    port: int | None = None,
    workers: int = 2,
    log_path: Path | None = None,
    extra_args: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Server:
    """Start `delegato serve` (not waiting for it: see ``Server.wait_ready``)."""
    port = port or int(home.public_url.rsplit(":", 1)[1])
    log_path = log_path or home.path.parent / f"serve-{port}.log"
    runtime = home.path.parent / f"runtime-{port}"
    runtime.mkdir(exist_ok=True)
    environment = {
        **os.environ,
        **home.environment,
        # gunicorn's control socket lives in XDG_RUNTIME_DIR (else ~/.gunicorn): one per server,
        # so servers of parallel tests do not take each other's socket.
        "XDG_RUNTIME_DIR": str(runtime),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [
        DELEGATO,
        "--home",
        str(home.path),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *extra_args,
    ]
    with log_path.open("ab") as output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,  # its own process group, for the kill on timeout
        )
    return Server(home, port, log_path, process)


@contextlib.contextmanager
def running_server(home: Home, **options: object) -> Iterator[Server]:
    """A ready server for the duration of the block."""
    server = start_server(home, **options)  # type: ignore[arg-type]
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def process_age(pid: int) -> float:
    """Seconds since process ``pid`` started (proc(5): stat field 22, in clock ticks since boot)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return float(Path("/proc/uptime").read_text().split()[0]) - started


def json_lines(text: str) -> list[dict]:
    """The JSON log lines (api/logs.py, ca/logs.py); the rest is gunicorn's and plain logging."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
    return found
