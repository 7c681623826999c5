"""Keys in PKCS#8 PEM files, optionally encrypted with a passphrase from the environment or a file.

URI form: ``file:/abs/path/key.pem`` with an optional query ``passphrase-env=NAME`` or
``passphrase-file=/path``. The passphrase itself never appears in a URI, a log or an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ca.errors import CAError, ErrorKind


def _key_error(uri: str, detail: str) -> CAError:
    # Only the path part is echoed: the query may name a secret's location, never the secret.
    return CAError(ErrorKind.KEY_UNAVAILABLE, f"{file_path(uri)}: {detail}", field="key_uri")


@dataclass(frozen=True)
class FileKeyURI:
    """A parsed ``file:`` key URI."""

    path: Path
    passphrase_env: str | None = None
    passphrase_file: Path | None = None

    @classmethod
    def parse(cls, uri: str) -> FileKeyURI:
        parts = urlsplit(uri)
        if parts.scheme != "file" or not parts.path:
            raise CAError(
                ErrorKind.CONFIGURATION, "a file key URI is file:/path[?...]", field="key_uri"
            )
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"passphrase-env", "passphrase-file"}
        if unknown:
            raise CAError(
                ErrorKind.CONFIGURATION,
                f"unknown key URI parameter {sorted(unknown)[0]!r}",
                field="key_uri",
            )
        if len(query) > 1:
            raise CAError(
                ErrorKind.CONFIGURATION, "name one passphrase source, not two", field="key_uri"
            )
        pass_file = query.get("passphrase-file")
        return cls(
            Path(parts.path), query.get("passphrase-env"), Path(pass_file) if pass_file else None
        )

    def to_uri(self) -> str:
        uri = f"file:{quote(str(self.path))}"
        if self.passphrase_env:
            uri += f"?passphrase-env={quote(self.passphrase_env)}"
        elif self.passphrase_file:
            uri += f"?passphrase-file={quote(str(self.passphrase_file))}"
        return uri

    def passphrase(self) -> bytes | None:
        if self.passphrase_env:
            value = os.environ.get(self.passphrase_env)
            if not value:
                raise CAError(
                    ErrorKind.KEY_UNAVAILABLE,
                    f"{self.path}: passphrase variable {self.passphrase_env} is not set",
                    field="key_uri",
                )
            return value.encode()
        if self.passphrase_file:
            try:
                return self.passphrase_file.read_bytes().rstrip(b"\r\n")
            except OSError as exc:
                raise CAError(
                    ErrorKind.KEY_UNAVAILABLE,
                    f"{self.path}: cannot read passphrase file {self.passphrase_file}: {exc.strerror}",
                    field="key_uri",
                ) from None
        return None


def file_path(uri: str) -> str:
    return urlsplit(uri).path or uri


class FileKeyManager:
    """The ``file:`` backend: P-256 keys in PKCS#8 PEM, cached after the first load."""

    scheme = "file"

    def __init__(self) -> None:
        self._cache: dict[str, ec.EllipticCurvePrivateKey] = {}

    def signer(self, uri: str) -> ec.EllipticCurvePrivateKey:
        key = self._cache.get(uri)
        if key is None:
            key = self._load(uri)
            self._cache[uri] = key
        return key

    def public_key(self, uri: str) -> ec.EllipticCurvePublicKey:
        return self.signer(uri).public_key()

    def create(self, uri: str) -> ec.EllipticCurvePublicKey:
        parsed = FileKeyURI.parse(uri)
        if parsed.path.exists():
            raise _key_error(uri, "a key already exists there; refusing to overwrite it")
        passphrase = parsed.passphrase()
        key = ec.generate_private_key(ec.SECP256R1())
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        parsed.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Create with 0600 from the start so the key is never readable by others, even briefly.
        fd = os.open(parsed.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        self._cache[uri] = key
        return key.public_key()

    def close(self) -> None:
        self._cache.clear()

    def _load(self, uri: str) -> ec.EllipticCurvePrivateKey:
        parsed = FileKeyURI.parse(uri)
        try:
            data = parsed.path.read_bytes()
        except OSError as exc:
            raise _key_error(uri, f"cannot read key file: {exc.strerror}") from None
        try:
            key = serialization.load_pem_private_key(data, password=parsed.passphrase())
        except TypeError:
            raise _key_error(
                uri, "the key is encrypted: name a passphrase-env or passphrase-file"
            ) from None
        except ValueError:
            raise _key_error(uri, "not a PKCS#8 PEM key, or the passphrase is wrong") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise _key_error(uri, "not an elliptic-curve key")
        return key
