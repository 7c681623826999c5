"""The signed TN status and the traceback answer."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ca.errors import CAError, ErrorKind
from ca.jws import verify_es256
from tests.unit.registry.parties import DAY, cast, issue, scope


def _chain(jws: str) -> list[x509.Certificate]:
    header = json.loads(base64.urlsafe_b64decode(jws.split(".")[0] + "=="))
    assert header["alg"] == "ES256" and header["typ"] == "tn-status+jwt"
    return [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]


def test_status_is_signed_by_a_certificate_that_chains_to_the_root(services, tmp_path):
    c = cast(services)
    services.registry.assign(
        c.tnsp_a.id, c.acme.id, scope("12025550100:10"), services.clock.now() + DAY, actor="a"
    )
    signed = services.registry.status("12025550105")
    leaf, sca = _chain(signed.jws)
    _header, payload = verify_es256(signed.jws, leaf.public_key())
    assert payload == signed.status
    assert payload["tn"] == "12025550105" and payload["assigned"] is True
    # openssl, an independent verifier, accepts the signer's chain under the dev root.
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "sca.pem").write_bytes(sca.public_bytes(serialization.Encoding.PEM))
    root = services.config.pki_dir / "root.pem"
    result = subprocess.run(
        [
            "openssl",
            "verify",
            "-x509_strict",
            "-attime",
            str(int(services.clock.now().timestamp())),
            "-CAfile",
            str(root),
            "-untrusted",
            str(tmp_path / "sca.pem"),
            str(tmp_path / "leaf.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign


def test_a_tampered_status_does_not_verify(services):
    signed = services.registry.status("12025550105")
    leaf, _sca = _chain(signed.jws)
    header, payload, signature = signed.jws.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["assigned"] = True
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(CAError):
        verify_es256(f"{header}.{body}.{signature}", leaf.public_key())


def test_unassigned_numbers_and_bad_input(services):
    status = services.registry.status("+1 202 555 0199").status
    assert status == {
        "tn": "12025550199",
        "iat": status["iat"],
        "toll_free": False,
        "assigned": False,
        "holders": [],
    }
    for bad, kind in (("12025x", ErrorKind.MALFORMED), ("1202555*", ErrorKind.MALFORMED)):
        with pytest.raises(CAError) as info:
            services.registry.status(bad)
        assert (info.value.kind, info.value.field) == (kind, "tn")
    with pytest.raises(CAError) as info:
        services.registry.status("12025550100", "org-000000000000")
    assert info.value.kind is ErrorKind.NOT_FOUND


def test_trace_answers_who_held_a_number_then_and_on_whose_word(services, clock):
    c = cast(services)
    t0 = clock.now()
    asg = services.registry.assign(
        c.tnsp_a.id,
        c.acme.id,
        scope("12025550100:10"),
        t0 + 30 * DAY,
        actor="tnsp-a-user",
        evidence="LOA 77",
    )
    services.registry.delegate(
        c.acme.id, c.callco.id, scope("12025550105"), t0 + 5 * DAY, actor="acme"
    )
    cert = issue(services, c.callco)
    clock.advance(DAY)
    moved = services.registry.transfer(
        asg.grant.id, c.tnsp_b.id, actor="tnsp-b-user", evidence="port 9"
    )
    clock.advance(DAY)
    then = services.registry.trace("12025550105", t0 + DAY / 2)
    (holder,) = then["holders"]
    assert holder["enterprise"]["id"] == c.acme.id
    assert holder["assignment"]["id"] == asg.grant.id
    assert holder["assignment"]["granted_by"]["spid"] == "111A"
    assert holder["assignment"]["evidence"] == "LOA 77"
    assert holder["assignment"]["posted_by"] == "tnsp-a-user"
    assert holder["delegations"][0]["bpo"]["id"] == c.callco.id
    assert [x["serial"] for x in then["certificates"]] == [format(cert.serial_number, "x")]
    assert then["certificates"][0]["status_at"] == "valid"
    now = services.registry.trace("12025550105", clock.now())
    assert now["holders"][0]["assignment"]["id"] == moved.new.id
    assert now["holders"][0]["assignment"]["granted_by"]["spid"] == "222B"
    assert services.registry.trace("12025550105", t0 - DAY)["authorized"] is False
