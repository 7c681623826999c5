"""Verifier benchmark: full PASSporT verification with warm caches, beside two baselines.

    scripts/bench verify [--json] [--quick]

Baselines, measured in the same run and interleaved round by round so that a noisy machine
shows as spread rather than bias: (a) a bare cryptography ECDSA-P256 verify of the same signature
over the same bytes, (b) libsecsipid's SecSIPIDCheckFullPubKey on the same Identity value (via
ctypes). Targets (issue 5): delegato >= 75 % of (a) and >= 100 % of (b). Also the cold path: the
first call for a new x5u served by a loopback HTTP server, with the CRLs already cached and with
nothing cached at all.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from benchmarks import initialized
from ca.config import Config
from ca.ra import CertificateRequest
from ca.services import Services
from ca.tnauth import TNAuthList
from ca.verifier import VerificationContext, sign_identity, verify_identity
from ca.verifier.jws import ES256, der_signature
from ca.verifier.passport import parse_passport
from tests.conftest import make_csr
from tests.unit.verifier.httpserver import LocalServer, local_server, respond

LIBSECSIPID = "/usr/lib/x86_64-linux-gnu/libsecsipid.so.1"
ORIG, DEST = "12025550101", "12025550199"


def rate(operation: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        operation()
    return count / (time.perf_counter() - start)


def _issue(
    services: Services, server: LocalServer, org_id: str
) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A fresh delegate certificate, published on the loopback server at its own x5u."""
    csr, key = make_csr()
    issued = services.ra.request_certificate(
        CertificateRequest(
            organization_id=org_id,
            csr=csr,
            tn_auth_list=TNAuthList.from_user(ranges=["12025550100:10"]),
            actor="bench",
            operator_reason="benchmark",
        )
    )
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in issued.chain)
    server.route(issued.x5u.split(server.host, 1)[1], respond(200, chain))
    return key, issued.x5u


def _publish_crls(services: Services, server: LocalServer) -> None:
    for info in services.issuers.all():
        latest = services.crls.latest(info.id)
        if latest is not None:
            server.route(info.crl_url.split(server.host, 1)[1], respond(200, latest.der))


def _libsecsipid(identity: str, public_pem: bytes) -> Callable[[], object]:
    # One core for every contender: the Go runtime reads GOMAXPROCS when the library loads, so
    # its garbage collector cannot borrow the machine's other cores.
    os.environ["GOMAXPROCS"] = "1"
    lib = ctypes.CDLL(LIBSECSIPID)
    check = lib.SecSIPIDCheckFullPubKey
    check.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    check.restype = ctypes.c_int
    data = identity.encode()
    assert check(data, len(data), 3600, public_pem, len(public_pem)) == 0, "libsecsipid refused"
    return lambda: check(data, len(data), 3600, public_pem, len(public_pem))


def _cold(
    context_for: Callable[[], VerificationContext], fresh: Callable[[], str], rounds: int
) -> float:
    """Median milliseconds of a first verification of a never-seen x5u."""
    timings = []
    for _ in range(rounds):
        identity, context = fresh(), context_for()
        start = time.perf_counter()
        result = verify_identity(context, identity)
        timings.append((time.perf_counter() - start) * 1000)
        assert result.valid, result.detail
    return statistics.median(timings)


def run(args: argparse.Namespace) -> dict[str, float]:
    # Many short rounds, each timing every contender back to back: a neighbour's burst of work
    # then lands on all three alike, and the per-round ratios stay true.
    count, rounds, cold_rounds = (500, 9, 5) if args.quick else (500, 61, 20)
    with tempfile.TemporaryDirectory(prefix="delegato-bench-") as home, local_server() as server:
        config = Config(home=Path(home), public_url=server.url(""))
        services = initialized(config)
        try:
            org = services.organizations.add("enterprise", "Bench Corp", actor="bench")
            _publish_crls(services, server)
            root = config.pki_dir / "root.pem"

            def context() -> VerificationContext:
                return VerificationContext.from_files(root, allow_hosts=[server.host])

            key, x5u = _issue(services, server, org.id)
            warm = context()
            identity = sign_identity(key, x5u, ORIG, DEST)
            assert verify_identity(warm, identity, orig=ORIG, dest=DEST).valid
            passport = parse_passport(identity.split(";", 1)[0])
            public = key.public_key()
            signature, signed = der_signature(passport.signature), passport.signing_input
            public_pem = public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            operations = {
                "delegato_per_s": lambda: verify_identity(warm, identity, orig=ORIG, dest=DEST),
                "ecdsa_per_s": lambda: public.verify(signature, signed, ES256),
                "libsecsipid_per_s": _libsecsipid(identity, public_pem),
            }
            samples: dict[str, list[float]] = {name: [] for name in operations}
            order = list(operations)
            shuffler = random.Random(5)
            for _ in range(rounds):
                # A fresh order each round, so no contender always follows the Go runtime's
                # background work or precedes a neighbour's burst.
                shuffler.shuffle(order)
                for name in order:
                    samples[name].append(rate(operations[name], count))
            results = {name: statistics.median(values) for name, values in samples.items()}
            ours = samples["delegato_per_s"]
            results["delegato_vs_ecdsa"] = statistics.median(
                d / e for d, e in zip(ours, samples["ecdsa_per_s"], strict=True)
            )
            results["delegato_vs_libsecsipid"] = statistics.median(
                d / b for d, b in zip(ours, samples["libsecsipid_per_s"], strict=True)
            )

            def fresh_identity() -> str:
                new_key, new_x5u = _issue(services, server, org.id)
                return sign_identity(new_key, new_x5u, ORIG, DEST)

            results["cold_new_x5u_ms"] = _cold(lambda: warm, fresh_identity, cold_rounds)
            results["cold_nothing_cached_ms"] = _cold(context, fresh_identity, cold_rounds)
        finally:
            services.close()
    return results


def print_table(results: dict[str, float]) -> None:
    ecdsa, lib, ours = (
        results["ecdsa_per_s"],
        results["libsecsipid_per_s"],
        results["delegato_per_s"],
    )
    vs_ecdsa, vs_lib = results["delegato_vs_ecdsa"], results["delegato_vs_libsecsipid"]
    rows = [
        ("bare ECDSA-P256 verify (cryptography)", f"{ecdsa:,.0f} /s", "baseline (a)", ""),
        ("libsecsipid SecSIPIDCheckFullPubKey", f"{lib:,.0f} /s", "baseline (b)", ""),
        (
            "delegato verify_identity, warm",
            f"{ours:,.0f} /s",
            f"{vs_ecdsa:.1%} of (a)",
            "target ≥ 75 %",
        ),
        ("", "", f"{vs_lib:.1%} of (b)", "target ≥ 100 %"),
        ("first call, new x5u (CRLs cached)", f"{results['cold_new_x5u_ms']:.1f} ms", "", ""),
        ("first call, nothing cached", f"{results['cold_nothing_cached_ms']:.1f} ms", "", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, ratio, target in rows:
        print(f"{name:<{width}}  {value:>12}  {ratio:>16}  {target}")


def as_json(results: dict[str, float]) -> dict[str, float]:
    out = {key: round(value, 3) for key, value in results.items()}
    out["delegato_vs_ecdsa"] = round(results["delegato_per_s"] / results["ecdsa_per_s"], 4)
    out["delegato_vs_libsecsipid"] = round(
        results["delegato_per_s"] / results["libsecsipid_per_s"], 4
    )
    return out
