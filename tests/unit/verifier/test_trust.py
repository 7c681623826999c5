"""Trust anchors from a PEM bundle, a directory or a signed trust list, reloaded on change."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ca.errors import CAError, ErrorKind
from ca.verifier import TrustStore, VerificationContext, verify_identity
from ca.verifier.context import load_trust_list_key
from ca.verifier.jws import b64url_encode, compact_json, sign_es256
from ca.verifier.trust import parse_trust_list
from tests.unit.lint.pki import key
from tests.unit.verifier.pki import Hierarchy, StaticFetcher, pem

TRUSTED = Hierarchy()
OTHER = Hierarchy(root_name="v-other-root")
LIST_KEY = key("sti-pa trust list")


def trust_list(certificates, signing_key=LIST_KEY, **claims) -> bytes:
    payload = {"trustList": [pem(c).decode() for c in certificates], **claims}
    signing_input = f"{b64url_encode(compact_json({'alg': 'ES256', 'typ': 'JWT'}))}.{b64url_encode(compact_json(payload))}"
    return (
        f"{signing_input}.{b64url_encode(sign_es256(signing_key, signing_input.encode()))}".encode()
    )


def verifies(store) -> bool:
    context = VerificationContext(
        trust=store, fetcher=StaticFetcher(TRUSTED.resources()), clock=TRUSTED.context().clock
    )
    return verify_identity(context, TRUSTED.identity()).valid


def test_a_pem_bundle(tmp_path):
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pem(OTHER.root, TRUSTED.root))
    assert verifies(TrustStore(bundle))


def test_a_directory_of_pem_files(tmp_path):
    (tmp_path / "a.pem").write_bytes(pem(OTHER.root))
    (tmp_path / "b.crt").write_bytes(pem(TRUSTED.root))
    (tmp_path / "notes.txt").write_text("ignored")
    assert verifies(TrustStore(tmp_path))


def test_non_self_signed_certificates_are_helpers_not_anchors(tmp_path):
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pem(OTHER.root, TRUSTED.sca))
    store = TrustStore(bundle)
    assert len(store.snapshot().anchors) == 1 and len(store.snapshot().helpers) == 1
    assert not verifies(store)


def test_a_signed_trust_list(tmp_path):
    path = tmp_path / "trust.jws"
    path.write_bytes(trust_list([TRUSTED.root, OTHER.root]))
    assert verifies(TrustStore(path, trust_list_key=LIST_KEY.public_key()))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (trust_list([TRUSTED.root], key("mallory")), "signature"),
        (trust_list([TRUSTED.root], exp=1), "expired"),
        (trust_list([]), "non-empty"),
        (b"eyJ.eyJ.", "compact JWS"),
        (b"eyJhbGciOiJFUzI1NiJ9.e30.AAAA", "signature"),
    ],
)
def test_bad_trust_lists(tmp_path, data, match):
    path = tmp_path / "trust.jws"
    path.write_bytes(data)
    with pytest.raises(CAError, match=match):
        TrustStore(path, trust_list_key=LIST_KEY.public_key())


def test_a_trust_list_needs_its_key(tmp_path):
    path = tmp_path / "trust.jws"
    path.write_bytes(trust_list([TRUSTED.root]))
    with pytest.raises(CAError, match="signing key"):
        TrustStore(path)


@given(st.binary(max_size=200))
def test_any_bytes_as_a_trust_list_raise_only_ca_errors(data):
    with contextlib.suppress(CAError):
        parse_trust_list(data, LIST_KEY.public_key(), "test")


@pytest.mark.parametrize("content", [b"", b"nothing here", pem(TRUSTED.sca)])
def test_unusable_bundles(tmp_path, content):
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(content)
    with pytest.raises(CAError):
        TrustStore(bundle)


def test_a_missing_source_is_a_configuration_error(tmp_path):
    with pytest.raises(CAError) as caught:
        TrustStore(tmp_path / "absent.pem")
    assert caught.value.kind is ErrorKind.CONFIGURATION


def bump(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_the_store_reloads_when_the_file_changes(tmp_path):
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pem(OTHER.root))
    store = TrustStore(bundle, check_interval=0)
    assert not verifies(store)
    generation = store.snapshot().generation
    bundle.write_bytes(pem(OTHER.root, TRUSTED.root))
    bump(bundle)
    assert verifies(store)
    assert store.snapshot().generation != generation


def test_a_broken_reload_keeps_the_previous_anchors(tmp_path):
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pem(TRUSTED.root))
    store = TrustStore(bundle, check_interval=0)
    bundle.write_bytes(b"half-written")
    bump(bundle)
    assert verifies(store)
    assert store.last_error is not None and "no PEM" in store.last_error


def test_a_reloaded_trust_list_drops_a_root(tmp_path):
    path = tmp_path / "trust.jws"
    path.write_bytes(trust_list([TRUSTED.root]))
    store = TrustStore(path, trust_list_key=LIST_KEY.public_key(), check_interval=0)
    context = VerificationContext(
        trust=store, fetcher=StaticFetcher(TRUSTED.resources()), clock=TRUSTED.context().clock
    )
    assert verify_identity(context, TRUSTED.identity()).valid
    path.write_bytes(trust_list([OTHER.root]))
    bump(path)
    # The cached path belongs to the previous anchors and is not reused.
    assert verify_identity(context, TRUSTED.identity()).reason == "issuer-not-found"


def test_the_trust_list_key_loads_from_a_certificate_or_a_public_key(tmp_path):
    from cryptography.hazmat.primitives import serialization

    cert_file, key_file = tmp_path / "signer.pem", tmp_path / "signer.pub"
    cert_file.write_bytes(pem(TRUSTED.root))
    key_file.write_bytes(
        LIST_KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert (
        load_trust_list_key(cert_file).public_numbers()
        == TRUSTED.root.public_key().public_numbers()
    )
    assert load_trust_list_key(key_file).public_numbers() == LIST_KEY.public_key().public_numbers()
    (tmp_path / "junk").write_text("junk")
    with pytest.raises(CAError):
        load_trust_list_key(tmp_path / "junk")


def test_from_files_builds_a_working_context(tmp_path):
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pem(TRUSTED.root))
    context = VerificationContext.from_files(
        bundle, allow_hosts=["127.0.0.1:8080"], crl_policy="off"
    )
    assert context.fetcher.policy.is_allowed("127.0.0.1", 8080)
    assert json.dumps(context.crl_policy.value) == '"off"'
