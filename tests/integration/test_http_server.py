"""`delegato serve` as deployed: gunicorn workers and the jobs process, a real HTTP client.

Per backend (SQLite, PostgreSQL) one deployment serves every test of this module: a home made with
`delegato init` whose SCA key is encrypted with a passphrase read from the environment (as an
operator keeps it), a second home copied from it on the same database (a second host), and
`delegato serve` running on each. Callers hold real API keys made with `delegato key create`.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, select, update

from ca.jobs import JOBS
from ca.keys.file import FileKeyURI
from ca.storage.models import IssuerRow
from ca.verifier import sign_identity
from tests.conftest import make_csr
from tests.support import pgcluster
from tests.support.server import (
    Home,
    Server,
    free_ports,
    init_home,
    json_lines,
    process_age,
    start_server,
)

PASSPHRASE_ENV = "DELEGATO_TEST_SCA_PASSPHRASE"
TIMEOUT = 30  # seconds per HTTP request
SLACK = 5  # seconds between the test's clock and the server's


@dataclass(frozen=True)
class Caller:
    id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass(frozen=True)
class Deployment:
    a: Server  # the server the flows talk to
    b: Server  # a second server on a copy of the home and the same database
    operator: Caller
    tnsp: Caller
    enterprise: Caller
    other_enterprise: Caller
    bpo: Caller
    passphrase: str

    @property
    def servers(self) -> tuple[Server, Server]:
        return self.a, self.b

    def callers(self) -> list[Caller]:
        return [self.operator, self.tnsp, self.enterprise, self.other_enterprise, self.bpo]


def call(
    server: Server,
    method: str,
    path: str,
    caller: Caller | None = None,
    body: Any = None,
    **kw: Any,
) -> requests.Response:
    headers = {**(caller.headers if caller else {}), **kw.pop("headers", {})}
    return requests.request(
        method,
        server.url + path,
        json=body,
        headers=headers,
        timeout=TIMEOUT,
        allow_redirects=False,
        **kw,
    )


def _onboard(home: Home, kind: str, name: str, spid: str | None = None) -> Caller:
    org = home.cli(
        "org", "add", "--kind", kind, "--name", name, *(["--spid", spid] if spid else [])
    )
    return Caller(org["id"], home.cli("key", "create", "--org", org["id"], "--role", kind)["key"])


def _encrypt_sca_key(home: Home, passphrase: str) -> None:
    """Encrypt the SCA key in place and name the passphrase's variable in its URI (ca/keys/file.py).

    `delegato init` writes plain development keys; a production key is encrypted (or in an HSM),
    and the server then handles a secret that must never reach its log.
    """
    engine = create_engine(home.database_url)
    try:
        with engine.begin() as connection:
            sca_id, uri = connection.execute(
                select(IssuerRow.id, IssuerRow.key_uri).where(IssuerRow.role == "sca")
            ).one()
            path = FileKeyURI.parse(uri).path
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(passphrase.encode()),
                )
            )
            protected = FileKeyURI(path, passphrase_env=PASSPHRASE_ENV).to_uri()
            connection.execute(
                update(IssuerRow).where(IssuerRow.id == sca_id).values(key_uri=protected)
            )
    finally:
        engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp(f"serve-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite:///{base / 'delegato.db'}"
    else:
        cluster = request.getfixturevalue("postgres_cluster")
        database_url = pgcluster.create_database(cluster, f"serve_{uuid.uuid4().hex[:12]}")
    port_a, port_b = free_ports(2)
    passphrase = "pp-" + uuid.uuid4().hex
    home = init_home(
        base / "home-a", database_url, f"http://127.0.0.1:{port_a}", {PASSPHRASE_ENV: passphrase}
    )
    _encrypt_sca_key(home, passphrase)
    callers = {
        "operator": _onboard(home, "operator", "Delegato Ops"),
        "tnsp": _onboard(home, "tn_authority", "TNSP A", "111A"),
        "enterprise": _onboard(home, "enterprise", "Acme Bank"),
        "other_enterprise": _onboard(home, "enterprise", "Globex"),
        "bpo": _onboard(home, "bpo", "CallCo"),
    }
    # One deployment, one public URL: the x5u and CRL links (and the CRL's issuing distribution
    # point) name the service, whichever server wrote them.
    second = home.copy(base / "home-b")
    a, b = start_server(home, port=port_a), start_server(second, port=port_b, workers=1)
    servers = (a, b)
    try:
        for server in servers:
            server.wait_ready()
        # The first scheduling window is watched on an idle deployment: requests of the other
        # tests racing the first runs would make test 3 about them instead of the lease.
        _wait_for_first_passes(servers)
        yield Deployment(a, b, **callers, passphrase=passphrase)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.stop()
    assert not any(server.leftovers for server in servers), "a process outlived its server"


# -- 1. the lifecycle ------------------------------------------------------------------------------


def test_lifecycle_assign_delegate_issue_publish_verify_end(deployment: Deployment) -> None:
    server, tnsp, bpo = deployment.a, deployment.tnsp, deployment.bpo
    enterprise = deployment.enterprise
    assignment = call(
        server,
        "POST",
        "/v1/assignments",
        tnsp,
        {
            "enterprise": enterprise.id,
            "ranges": [{"start": "12025550000", "count": 100}],
            "expires_at": "+30d",
        },
    )
    assert assignment.status_code == 201, assignment.text
    delegation = call(
        server,
        "POST",
        "/v1/delegations",
        enterprise,
        {"bpo": bpo.id, "ranges": [{"start": "12025550000", "count": 10}], "expires_at": "+2h"},
    )
    assert delegation.status_code == 201, delegation.text
    campaign_ends = dt.datetime.fromisoformat(delegation.json()["expires_at"])

    csr, bpo_key = make_csr()
    issued = call(server, "POST", "/v1/certificates", bpo, {"csr": csr.decode()})
    assert issued.status_code == 201, issued.text
    certificate = issued.json()
    assert certificate["ranges"] == [{"start": "12025550000", "count": 10}]
    assert certificate["x5u"] == f"{server.url}/certs/{certificate['serial']}.pem"
    assert dt.datetime.fromisoformat(certificate["not_after"]) <= campaign_ends

    subscription_csr, _ = make_csr()
    subscribed = call(server, "POST", "/v1/subscriptions", bpo, {"csr": subscription_csr.decode()})
    assert subscribed.status_code == 201, subscribed.text
    subscription = subscribed.json()
    assert subscription["status"] == "active" and subscription["serial"]
    assert subscription["serial"] != certificate["serial"]

    _check_x5u(certificate)

    orig, dest = "12025550003", "13105550199"
    identity = sign_identity(bpo_key, certificate["x5u"], orig, dest)
    verified = call(
        server, "POST", "/v1/verify/identity", body={"identity": identity, "from": orig, "to": dest}
    )
    assert verified.status_code == 200, verified.text
    result = verified.json()
    assert result["valid"] is True, [r["detail"] for r in result["results"]]
    assert result["attest"] == "A"

    ended = call(
        server,
        "DELETE",
        f"/v1/delegations/{delegation.json()['id']}?reason=campaign_ended",
        enterprise,
    )
    assert ended.status_code == 200, ended.text
    for serial in (certificate["serial"], subscription["serial"]):
        shown = call(server, "GET", f"/v1/certificates/{serial}", bpo)
        assert shown.json()["status"] == "revoked", shown.json()
    crl_response = call(server, "GET", f"/crl/{certificate['issuer']}.crl")
    assert crl_response.status_code == 200
    assert crl_response.headers["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(crl_response.content)
    for serial in (certificate["serial"], subscription["serial"]):
        assert crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None, serial


def _check_x5u(certificate: dict[str, Any]) -> None:
    """The x5u as a verifier fetches it (STANDARDS.md §5): the chain, leaf first, cacheable."""
    fetched = requests.get(certificate["x5u"], timeout=TIMEOUT, allow_redirects=False)
    now = time.time()
    assert fetched.status_code == 200 and not fetched.history
    assert fetched.headers["Content-Type"] == "application/pem-certificate-chain"
    cache = [part.strip() for part in fetched.headers["Cache-Control"].split(",")]
    assert "public" in cache and "immutable" in cache, cache
    max_age = int(next(part for part in cache if part.startswith("max-age="))[len("max-age=") :])
    chain = x509.load_pem_x509_certificates(fetched.content)
    leaf = chain[0]
    assert abs(max_age - (leaf.not_valid_after_utc.timestamp() - now)) <= SLACK
    assert format(leaf.serial_number, "x") == certificate["serial"]
    assert fetched.content == certificate["chain"].encode()
    assert len(chain) >= 2 and leaf.issuer == chain[1].subject
    assert all(c.issuer != c.subject for c in chain), "the root is omitted from an x5u chain"


# -- 2. concurrency --------------------------------------------------------------------------------


def test_sixteen_clients_issue_at_once_on_two_servers(deployment: Deployment) -> None:
    holder = deployment.other_enterprise
    assigned = call(
        deployment.a,
        "POST",
        "/v1/assignments",
        deployment.tnsp,
        {
            "enterprise": holder.id,
            "ranges": [{"start": "12025551000", "count": 100}],
            "expires_at": "+30d",
        },
    )
    assert assigned.status_code == 201, assigned.text
    clients = 16
    csrs = [make_csr()[0].decode() for _ in range(clients)]
    start = threading.Barrier(clients)
    answers: list[requests.Response | BaseException] = [RuntimeError("not run")] * clients

    def client(index: int) -> None:
        server = deployment.servers[index % 2]
        start.wait()
        try:
            answers[index] = call(server, "POST", "/v1/certificates", holder, {"csr": csrs[index]})
        except BaseException as error:  # reported below, with the others
            answers[index] = error

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    failures = [
        a if isinstance(a, BaseException) else (a.status_code, a.text)
        for a in answers
        if isinstance(a, BaseException) or a.status_code != 201
    ]
    assert not failures, failures
    serials = {a.json()["serial"] for a in answers if isinstance(a, requests.Response)}
    assert len(serials) == clients
    listed = call(deployment.b, "GET", "/v1/certificates?limit=100", holder).json()["certificates"]
    assert {c["serial"] for c in listed} == serials


# -- 3. the jobs leader ----------------------------------------------------------------------------

#: A job's run as logged by ca/jobs.py (JSON or plain text), and the line's time stamp.
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)")
_JOB_RAN = re.compile(r"\bjob ([a-z_]+) ran\b")
_JOB_FAILED = re.compile(r"\bjob ([a-z_]+) failed\b")
#: A jobs process this old has had its first pass whatever the logs say (it runs at start-up).
_FIRST_PASS_AGE = 20.0
#: How much longer than the leader the other jobs process is given for its first pass.
_MARGIN = 2.0


def _runs(servers: tuple[Server, ...]) -> dict[str, list[dt.datetime]]:
    runs: dict[str, list[dt.datetime]] = {}
    for server in servers:
        for line in server.log_lines():
            ran, stamp = _JOB_RAN.search(line), _STAMP.search(line)
            if ran and stamp:
                at = dt.datetime.fromisoformat("T".join(stamp.groups()))
                runs.setdefault(ran.group(1), []).append(at)
    return runs


def _wait_for_first_passes(servers: tuple[Server, ...]) -> None:
    """Until every jobs process has had its first pass.

    A process that does not hold the lease logs nothing, so its pass is inferred: the leader's
    first pass was over once every job had logged a run, at an age of its process no greater
    than the oldest jobs process's then; the others start the same way and get as long, plus a
    margin. Without a complete first pass in the logs, a fixed age stands in.
    """
    pids = [server.jobs_process() for server in servers]
    deadline = time.monotonic() + 60
    bound = None
    while True:
        ages = [process_age(pid) for pid in pids]
        if bound is None and set(_runs(servers)) >= set(JOBS):
            bound = max(ages)
        if min(ages) >= min(_FIRST_PASS_AGE, (bound or _FIRST_PASS_AGE) + _MARGIN):
            return
        assert time.monotonic() < deadline, "the jobs processes did not start their schedules"
        time.sleep(0.2)


def test_each_job_runs_once_in_the_first_window_across_two_servers(deployment: Deployment) -> None:
    _wait_for_first_passes(deployment.servers)
    runs = _runs(deployment.servers)
    failed = [
        line for s in deployment.servers for line in s.log_lines() if _JOB_FAILED.search(line)
    ]
    assert not failed, failed
    # The shortest interval is a minute: runs within half of it of a job's first run belong to
    # the first scheduling window, whatever else this module's tests did in the meantime.
    window = min(every for _job, every in JOBS.values()) / 2
    in_first_window = Counter(
        {name: sum(1 for at in times if at - min(times) < window) for name, times in runs.items()}
    )
    assert in_first_window == Counter(dict.fromkeys(JOBS, 1)), runs


# -- 4. logs ---------------------------------------------------------------------------------------


def test_persistent_connections_spread_over_both_workers(deployment: Deployment) -> None:
    """Eight keep-alive clients connecting in one burst end up shared by the two workers (often
    one worker accepts them all): the busier worker sheds a few with ``Connection: close``."""
    server = deployment.a
    host, port = server.url.split("//", 1)[1].rsplit(":", 1)
    clients, rounds = 8, 60
    barrier = threading.Barrier(clients)
    shed_rounds: list[int] = []  # the round of each answer that said "Connection: close"

    def client(number: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
        barrier.wait()
        connection.connect()  # the burst
        for round_ in range(rounds):
            connection.request("GET", "/healthz", headers={"X-Request-Id": f"spread-{number}-{round_}"})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            if response.getheader("Connection", "").lower() == "close":
                shed_rounds.append(round_)
                connection.close()  # http.client connects again for the next request
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    wanted = {f"spread-{n}-{r}" for n in range(clients) for r in range(rounds // 2, rounds)}
    deadline = time.monotonic() + 5
    while True:
        served = {
            e["request_id"]: e["pid"]
            for e in json_lines(server.log())
            if e.get("logger") == "delegato.http" and str(e.get("request_id")).startswith("spread-")
        }
        if wanted <= set(served) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    by_worker = Counter(served[rid] for rid in wanted)  # the second half of every client's rounds
    assert len(by_worker) == 2, by_worker
    assert min(by_worker.values()) >= len(wanted) // 4, by_worker
    # Shedding settles; it does not churn. Workers shed while the opening burst is shared out and
    # again, by design, once clients finishing at different times unbalance them; on a loaded
    # host both phases stretch over more rounds. Between the two, connections are kept.
    steady = [r for r in shed_rounds if rounds // 4 <= r < 3 * rounds // 4]
    assert len(steady) <= clients // 2, sorted(shed_rounds)
    if len(os.sched_getaffinity(0)) > 1:  # [server] pin_cpus: one worker per CPU
        cpus = [os.sched_getaffinity(pid) for pid in by_worker]
        assert all(len(c) == 1 for c in cpus) and cpus[0] != cpus[1], cpus


def test_logs_carry_request_ids_and_no_secrets(deployment: Deployment) -> None:
    server, operator = deployment.a, deployment.operator
    responses = []
    org = call(
        server, "POST", "/v1/organizations", operator, {"kind": "enterprise", "name": "Initech"}
    )
    key = call(
        server,
        "POST",
        f"/v1/organizations/{org.json()['id']}/keys",
        operator,
        {"role": "enterprise"},
    )
    assert key.status_code == 201 and key.json()["key"].startswith("dlg_"), key.text
    newcomer = Caller(org.json()["id"], key.json()["key"])
    responses += [org, key]
    responses.append(
        call(
            server,
            "POST",
            "/v1/assignments",
            deployment.tnsp,
            {"enterprise": newcomer.id, "tns": ["18885550001", "18885550002"], "expires_at": "+1d"},
        )
    )
    csr, _ = make_csr()
    issued = call(server, "POST", "/v1/certificates", newcomer, {"csr": csr.decode()})
    refused = call(
        server, "POST", "/v1/certificates", newcomer, {"csr": csr.decode(), "tns": ["18885550003"]}
    )
    forged = Caller(newcomer.id, newcomer.key[:-4] + "AAAA")
    unknown = call(server, "GET", "/v1/certificates", forged)
    chosen = call(
        server, "GET", "/v1/certificates", newcomer, headers={"X-Request-Id": "trace-me-1234"}
    )
    responses += [issued, refused, unknown, chosen]
    statuses = [r.status_code for r in responses]
    assert statuses == [201, 201, 201, 201, 403, 401, 200], [r.text for r in responses]
    assert chosen.headers["X-Request-Id"] == "trace-me-1234"

    # after_request writes the line before the answer is sent; a moment covers slow disks.
    ids = {r.headers["X-Request-Id"] for r in responses}
    deadline = time.monotonic() + 5
    while True:
        log = server.log()
        logged = {
            e.get("request_id"): e for e in json_lines(log) if e.get("logger") == "delegato.http"
        }
        if ids <= set(logged) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert ids <= set(logged), ids - set(logged)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]{8,64}", str(rid)) for rid in logged), logged.keys()
    for response in responses:
        entry = logged[response.headers["X-Request-Id"]]
        assert entry["status"] == response.status_code
        assert entry["path"] == response.request.path_url.split("?")[0]

    secrets = [deployment.passphrase]
    for caller in [*deployment.callers(), newcomer, forged]:
        secrets += [caller.key, caller.key.split("_", 2)[2]]  # dlg_<key id>_<secret>
    everything = "\n".join(s.log() for s in deployment.servers)
    leaked = [s[:12] + "..." for s in secrets if s in everything]
    assert not leaked, f"secrets in the server log: {leaked}"
    for marker in ("PRIVATE KEY", "CERTIFICATE REQUEST", "Bearer ", PASSPHRASE_ENV + "="):
        assert marker not in everything, marker
