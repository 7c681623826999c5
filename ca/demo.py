"""`delegato demo`: the whole story against a live server, one printed step at a time.

A TN authority assigns numbers to an enterprise; the enterprise delegates some to a contact centre
until the campaign ends; the contact centre subscribes and gets a short-lived certificate; its x5u
is fetched and checked; a PASSporT signed with the contact centre's key verifies; the delegation
ends; the certificate is revoked and the CRL lists it. Everything after the operator's first key
goes over HTTP, as a carrier's systems would drive it.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ca.errors import CAError, ErrorKind
from ca.services import Services
from ca.verifier import sign_identity

TIMEOUT = 30


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """A small HTTP client for the demo: JSON in, JSON or bytes out, problems raised."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def request(
        self, method: str, path: str, key: str | None = None, body: Any = None, expect: int = 200
    ) -> Response:
        url = path if path.startswith("http") else self.base_url + path
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                response = Response(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as error:
            response = Response(error.code, dict(error.headers), error.read())
        except OSError as error:
            raise CAError(
                ErrorKind.CONFIGURATION,
                f"cannot reach {self.base_url}: {error}; start it with `delegato serve`",
                field="url",
            ) from None
        if response.status != expect:
            detail = response.body.decode(errors="replace")[:500]
            raise CAError(
                ErrorKind.INTERNAL if response.status >= 500 else ErrorKind.CONFLICT,
                f"{method} {path} answered {response.status}, expected {expect}: {detail}",
            )
        return response


@dataclass
class Story:
    """What the demo made, for --json and for the closing summary."""

    steps: list[dict[str, Any]] = field(default_factory=list)

    def step(self, title: str, echo: Callable[[str], None], **facts: Any) -> None:
        number = len(self.steps) + 1
        self.steps.append({"step": number, "title": title, **facts})
        echo(f"\n{number}. {title}")
        for name, value in facts.items():
            echo(f"     {name}: {value}")


def _csr() -> tuple[str, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CallCo agent desk")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key


def _free_block(services: Services) -> int:
    """A 100-number block of the issuer's scope that no one holds yet (re-runs pick anew)."""
    scope = services.issuers.active_sca().tn_auth_list
    blocks = [(lo, hi) for _n, lo, hi in (scope.intervals() if scope else ()) if hi - lo >= 999]
    if not blocks:
        raise CAError(
            ErrorKind.CONFIGURATION, "the issuer's TNAuthList has no block of 1000 numbers to demo"
        )
    lo, hi = blocks[0]
    for _ in range(50):
        start = lo + 100 * secrets.randbelow((hi - lo + 1) // 100)
        if not services.registry.status(str(start)).status["assigned"]:
            return start
    raise CAError(ErrorKind.CONFLICT, "no free 100-number block left in the issuer's scope")


def run_demo(services: Services, base_url: str, actor: str, echo: Callable[[str], None]) -> Story:
    """The story, step by step; raises CAError naming the step that did not go as told."""
    http = Client(base_url)
    story = Story()
    ready = http.request("GET", "/readyz").json()
    story.step("The server is ready", echo, url=base_url, checks=ready["checks"])

    operator = services.organizations.add("operator", "Demo operator", actor=actor)
    op_key = services.api_keys.create(operator.id, "operator", actor=actor).secret
    parties = {}
    for kind, name, spid in (
        ("tn_authority", "Demo TNSP", "DEMO"),
        ("enterprise", "Acme Bank", None),
        ("bpo", "CallCo contact centre", None),
    ):
        body = {"kind": kind, "name": name, **({"spid": spid} if spid else {})}
        org = http.request("POST", "/v1/organizations", op_key, body, expect=201).json()
        key = http.request(
            "POST", f"/v1/organizations/{org['id']}/keys", op_key, {"role": kind}, expect=201
        ).json()["key"]
        parties[kind] = (org["id"], key)
    tnsp, enterprise, bpo = parties["tn_authority"], parties["enterprise"], parties["bpo"]
    story.step(
        "The operator onboards a TNSP, an enterprise and a contact centre (one API key each)",
        echo,
        tnsp=tnsp[0],
        enterprise=enterprise[0],
        bpo=bpo[0],
    )

    start = _free_block(services)
    assignment = http.request(
        "POST",
        "/v1/assignments",
        tnsp[1],
        {
            "enterprise": enterprise[0],
            "ranges": [{"start": str(start), "count": 100}],
            "expires_at": "+30d",
            "evidence": "LOA demo-001",
        },
        expect=201,
    ).json()
    story.step(
        "The TNSP assigns 100 numbers to the enterprise (CTND POST)",
        echo,
        assignment=assignment["id"],
        numbers=f"{start}:100",
        expires_at=assignment["expires_at"],
    )

    campaign = [str(start + i) for i in range(10)]
    delegation = http.request(
        "POST",
        "/v1/delegations",
        enterprise[1],
        {"bpo": bpo[0], "ranges": [{"start": campaign[0], "count": 10}], "expires_at": "+2h"},
        expect=201,
    ).json()
    story.step(
        "The enterprise delegates 10 of them to the contact centre until the campaign ends",
        echo,
        delegation=delegation["id"],
        numbers=f"{campaign[0]}:10",
        until=delegation["expires_at"],
    )

    csr, key = _csr()
    subscription = http.request(
        "POST", "/v1/subscriptions", bpo[1], {"csr": csr, "lifetime": "1h"}, expect=201
    ).json()
    story.step(
        "The contact centre subscribes: Delegato issues a short-lived certificate and renews it",
        echo,
        subscription=subscription["id"],
        serial=subscription["serial"],
        x5u=subscription["x5u"],
        not_after=subscription["not_after"],
    )

    x5u = subscription["x5u"]
    fetched = http.request("GET", x5u)
    chain = x509.load_pem_x509_certificates(fetched.body)
    signer = http.request(
        "POST", "/v1/verify/signer", None, {"x5u": x5u, "tn": campaign[0]}
    ).json()
    if not signer.get("valid"):
        raise CAError(ErrorKind.INTERNAL, f"the signer check refused the x5u: {signer}")
    story.step(
        "Anyone fetches the x5u and checks it chains to the trust anchor and covers the number",
        echo,
        content_type=fetched.headers.get("Content-Type"),
        cache_control=fetched.headers.get("Cache-Control"),
        chain=f"{len(chain)} certificates, leaf {format(chain[0].serial_number, 'x')}",
        signer_check="valid",
    )

    identity = sign_identity(key, x5u, campaign[0], "12125550199", clock=services.clock)
    verdict = http.request(
        "POST",
        "/v1/verify/identity",
        None,
        {"identity": identity, "from": campaign[0], "to": "12125550199"},
    ).json()
    if not verdict.get("valid"):
        raise CAError(ErrorKind.INTERNAL, f"the PASSporT did not verify: {verdict}")
    story.step(
        "The contact centre signs a call; the terminating side verifies the PASSporT",
        echo,
        orig=campaign[0],
        verstat=verdict["verstat"],
        attest=verdict.get("attest"),
    )

    http.request(
        "DELETE", f"/v1/delegations/{delegation['id']}?reason=campaign_ended", enterprise[1]
    )
    certificate = http.request("GET", f"/v1/certificates/{subscription['serial']}", bpo[1]).json()
    issuer = certificate["issuer"]
    crl = x509.load_der_x509_crl(http.request("GET", f"/crl/{issuer}.crl").body)
    listed = crl.get_revoked_certificate_by_serial_number(int(subscription["serial"], 16))
    if certificate["status"] != "revoked" or listed is None:
        raise CAError(ErrorKind.INTERNAL, "the certificate was not revoked with the delegation")
    after = http.request("GET", f"/v1/subscriptions/{subscription['id']}", bpo[1]).json()
    story.step(
        "The campaign ends: the delegation is ended, the certificate revoked and listed on the CRL",
        echo,
        certificate=f"{certificate['status']} ({certificate['revocation']['reason']})",
        crl=f"/crl/{issuer}.crl lists {subscription['serial']}",
        subscription=after["status"],
    )
    return story
