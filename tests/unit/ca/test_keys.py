"""File key backend: PKCS#8 PEM, passphrases from env or file, never echoed."""

from __future__ import annotations

import stat

import pytest
from cryptography.hazmat.primitives import serialization

from ca.errors import CAError, ErrorKind
from ca.keys import KeyManagers
from ca.keys.file import FileKeyManager, FileKeyURI

SECRET = "correct horse battery staple"


def test_create_and_load_plain_key(tmp_path):
    uri = FileKeyURI(tmp_path / "k.pem").to_uri()
    manager = FileKeyManager()
    public = manager.create(uri)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    assert FileKeyManager().public_key(uri).public_numbers() == public.public_numbers()
    assert b"BEGIN PRIVATE KEY" in (tmp_path / "k.pem").read_bytes()


def test_encrypted_key_with_passphrase_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DELEGATO_TEST_PASS", SECRET)
    uri = FileKeyURI(tmp_path / "k.pem", passphrase_env="DELEGATO_TEST_PASS").to_uri()
    public = FileKeyManager().create(uri)
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "k.pem").read_bytes()
    assert FileKeyManager().public_key(uri).public_numbers() == public.public_numbers()


def test_encrypted_key_with_passphrase_file(tmp_path):
    (tmp_path / "pass").write_text(SECRET + "\n")
    uri = FileKeyURI(tmp_path / "k.pem", passphrase_file=tmp_path / "pass").to_uri()
    public = FileKeyManager().create(uri)
    assert FileKeyManager().public_key(uri).public_numbers() == public.public_numbers()


def test_wrong_passphrase_error_never_contains_the_passphrase(tmp_path, monkeypatch):
    monkeypatch.setenv("P", SECRET)
    uri = FileKeyURI(tmp_path / "k.pem", passphrase_env="P").to_uri()
    FileKeyManager().create(uri)
    monkeypatch.setenv("P", "zebra-crossing " + SECRET)
    with pytest.raises(CAError) as info:
        FileKeyManager().signer(uri)
    assert info.value.kind is ErrorKind.KEY_UNAVAILABLE
    assert SECRET not in str(info.value) and "zebra" not in str(info.value)


def test_missing_passphrase_and_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("P", SECRET)
    uri = FileKeyURI(tmp_path / "k.pem", passphrase_env="P").to_uri()
    FileKeyManager().create(uri)
    with pytest.raises(CAError, match="encrypted"):
        FileKeyManager().signer(FileKeyURI(tmp_path / "k.pem").to_uri())
    monkeypatch.delenv("P")
    with pytest.raises(CAError, match="P is not set"):
        FileKeyManager().signer(uri)
    with pytest.raises(CAError, match="cannot read"):
        FileKeyManager().signer(FileKeyURI(tmp_path / "nope.pem").to_uri())


def test_refuses_to_overwrite_and_rejects_bad_uris(tmp_path):
    uri = FileKeyURI(tmp_path / "k.pem").to_uri()
    FileKeyManager().create(uri)
    with pytest.raises(CAError, match="overwrite"):
        FileKeyManager().create(uri)
    with pytest.raises(CAError, match="unknown key URI parameter"):
        FileKeyURI.parse(f"file:{tmp_path}/k.pem?pin=1234")
    with pytest.raises(CAError, match="no key manager"):
        KeyManagers(FileKeyManager()).signer("pkcs11:token=x;object=y")


def test_non_ec_key_is_refused(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(CAError, match="elliptic"):
        FileKeyManager().signer(FileKeyURI(tmp_path / "rsa.pem").to_uri())


def test_start_up_check_finds_a_key_that_does_not_match(services):
    sca = services.issuers.active_sca()
    path = FileKeyURI.parse(sca.record.key_uri).path
    path.unlink()
    FileKeyManager().create(sca.record.key_uri)  # a different key at the same place
    services.keys.close()  # forget the cached key
    with pytest.raises(CAError) as info:
        services.issuers.check_keys()
    assert "does not match" in info.value.detail
