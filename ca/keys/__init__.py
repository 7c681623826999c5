"""Key managers: private keys named by URI, held by a backend, never returned by any API.

After smallstep/crypto ``kms/apiv1``: a small protocol (public key, signer, create, close); keys
are named by URI (``file:/path/key.pem?passphrase-env=NAME``); PINs and passphrases never live in
configuration, only a pointer to where they come from.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from ca.errors import CAError, ErrorKind


class KeyManager(Protocol):
    """One backend of keys (files, a PKCS#11 token, ...)."""

    scheme: str

    def signer(self, uri: str) -> ec.EllipticCurvePrivateKey:
        """An object cryptography's builders can sign with; for HSMs its sign() calls the token."""
        ...

    def public_key(self, uri: str) -> ec.EllipticCurvePublicKey: ...

    def create(self, uri: str) -> ec.EllipticCurvePublicKey:
        """Create a new P-256 key at ``uri``; refuses to overwrite an existing key."""
        ...

    def close(self) -> None: ...


class KeyManagers:
    """Dispatch key URIs to the backend registered for their scheme."""

    def __init__(self, *managers: KeyManager) -> None:
        self._by_scheme = {manager.scheme: manager for manager in managers}

    def _manager(self, uri: str) -> KeyManager:
        scheme = urlsplit(uri).scheme
        manager = self._by_scheme.get(scheme)
        if manager is None:
            known = ", ".join(sorted(self._by_scheme))
            raise CAError(
                ErrorKind.CONFIGURATION,
                f"no key manager for scheme {scheme!r} (known: {known})",
                field="key_uri",
            )
        return manager

    def signer(self, uri: str) -> ec.EllipticCurvePrivateKey:
        return self._manager(uri).signer(uri)

    def public_key(self, uri: str) -> ec.EllipticCurvePublicKey:
        return self._manager(uri).public_key(uri)

    def create(self, uri: str) -> ec.EllipticCurvePublicKey:
        return self._manager(uri).create(uri)

    def close(self) -> None:
        for manager in self._by_scheme.values():
            manager.close()


def default_key_managers() -> KeyManagers:
    from ca.keys.file import FileKeyManager

    return KeyManagers(FileKeyManager())
