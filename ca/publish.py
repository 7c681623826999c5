"""The file publisher: the repository's objects as files, for nginx, a CDN or object storage.

Layout under the directory, the URL paths of ``ca/repository.py``: ``certs/<serial>.pem``,
``crl/<issuer>.crl``, ``ca/<issuer>.pem``. Every file is written to a temporary name beside it and
renamed into place, so a reader sees the old bytes or the new, never a part. A certificate's or
CRL's mtime is set to one second before its expiry (notAfter, nextUpdate) before the rename, so
nginx's ``expires modified +1s`` sends the exact Expires and max-age (deploy/nginx.conf; nginx
treats ``modified +0`` as max-age=0).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ca.authority import IssuedCertificate
from ca.errors import CAError, ErrorKind
from ca.repository import PublishedObject, Repository
from ca.storage.records import CRLRecord

FILE_MODE = 0o644  # the web server reads as another user
#: mtime = expiry - EXPIRES_OFFSET; nginx adds it back with "expires modified +1s".
EXPIRES_OFFSET = dt.timedelta(seconds=1)
LOCK_FILE = ".delegato-publish.lock"


@dataclass(frozen=True)
class PublishReport:
    """What ``publish_all`` found current, and how many files it had to (re)write."""

    certificates: int
    crls: int
    ca_certificates: int
    written: int


class FilePublisher:
    """Writes repository objects under ``directory``; hooked to issuance and CRL generation."""

    def __init__(self, directory: Path, repository: Repository) -> None:
        self.directory = directory
        self._repository = repository

    # --- hooks (ca/services.py wires them) -----------------------------------------------------

    def certificate_issued(self, issued: IssuedCertificate) -> None:
        self.publish_certificate(issued.serial)

    def crl_generated(self, record: CRLRecord) -> None:
        self.publish_crl(self._repository.crl_object(record))

    # --- objects -------------------------------------------------------------------------------

    def publish_certificate(self, serial: str) -> bool:
        """Write one x5u chain; True if the file changed. Its bytes may never change later."""
        obj = self._repository.certificate_chain(serial)
        return self._write(obj, obj.expires - EXPIRES_OFFSET, replace=False)

    def publish_crl(self, obj: PublishedObject) -> bool:
        """Write a CRL unless the file already holds a newer one (higher CRL number)."""
        with self._locked():
            try:
                current = _read(self._path(obj))
            except OSError as exc:
                raise self._error(obj, exc) from None
            number = None if current is None else _crl_number_of(current)
            if number is not None and number > (_crl_number_of(obj.body) or 0):
                return False
            return self._write(obj, obj.expires - EXPIRES_OFFSET)

    def publish_ca(self, issuer_id: str) -> bool:
        obj = self._repository.ca_certificate(issuer_id)
        # Served with a fixed max-age (not from the mtime), so the mtime is a true Last-Modified.
        return self._write(obj, obj.last_modified)

    def publish_all(self) -> PublishReport:
        """(Re)write everything current: each issuer's certificate and latest CRL, every
        unexpired certificate chain. Files already right are left alone."""
        issuers = self._repository.issuer_ids()
        written = sum(self.publish_ca(issuer_id) for issuer_id in issuers)
        crls = 0
        for issuer_id in issuers:
            try:
                obj = self._repository.crl(issuer_id)
            except CAError as exc:
                if exc.kind is not ErrorKind.NOT_FOUND:
                    raise
                continue  # an issuer that signs no CRL of its own (CRL signer, status signer)
            crls += 1
            written += self.publish_crl(obj)
        serials = self._repository.unexpired_serials()
        written += sum(self.publish_certificate(serial) for serial in serials)
        return PublishReport(len(serials), crls, len(issuers), written)

    # --- files ---------------------------------------------------------------------------------

    def _path(self, obj: PublishedObject) -> Path:
        return self.directory / obj.path

    def _write(self, obj: PublishedObject, mtime: dt.datetime, *, replace: bool = True) -> bool:
        path = self._path(obj)
        stamp = int(mtime.timestamp()) * 1_000_000_000
        try:
            existing = _read(path)
            if existing is not None and existing != obj.body and not replace:
                raise CAError(
                    ErrorKind.CONFLICT,
                    f"{path} already holds other bytes; an x5u URL never serves other bytes",
                    field="repository.directory",
                )
            if existing == obj.body and path.stat().st_mtime_ns == stamp:
                return False
            path.parent.mkdir(parents=True, exist_ok=True)
            _replace_atomically(path, obj.body, stamp)
        except OSError as exc:
            raise self._error(obj, exc) from None
        return True

    def _error(self, obj: PublishedObject, exc: OSError) -> CAError:
        return CAError(
            ErrorKind.CONFIGURATION,
            f"cannot publish {obj.path} to {self.directory}: {exc.strerror or exc}; "
            "`delegato publish` rewrites every current object",
            field="repository.directory",
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One publisher at a time per directory (the serve and jobs processes both publish)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self.directory / LOCK_FILE, "a")  # noqa: SIM115 (held across yield)
        except OSError as exc:
            raise CAError(
                ErrorKind.CONFIGURATION,
                f"cannot lock {self.directory}: {exc.strerror or exc}",
                field="repository.directory",
            ) from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield


def _replace_atomically(path: Path, body: bytes, mtime_ns: int) -> None:
    """Temporary file beside ``path``, synced, mode and mtime set, then renamed over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), FILE_MODE)
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _crl_number_of(der: bytes) -> int | None:
    """The CRL number (RFC 5280 §5.2.3), or None for a file that is not a numbered CRL."""
    try:
        crl = x509.load_der_x509_crl(der)
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except (ValueError, x509.ExtensionNotFound):
        return None
