"""Read certificates from files and directories for ``delegato lint``; never raise on bad files.

Every certificate is yielded under a name (``path`` or ``path#n`` for the n-th certificate of a
PEM bundle, counting from 1); a file that cannot be read or parsed is yielded once with a
``CAError`` in place of the certificate, so one bad file never stops a run over thousands.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from cryptography import x509

from ca.errors import CAError, ErrorKind
from ca.issuance.profiles import Profile
from ca.lint.base import LintReport
from ca.lint.runner import run_lints

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_CERTIFICATE_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}


def _unreadable(name: str, detail: str) -> CAError:
    return CAError(ErrorKind.MALFORMED, f"{name}: {detail}", field=name)


def _walk(path: Path) -> Iterator[Path]:
    """``path`` itself, or every file below it in sorted order (names compared as strings)."""
    if not path.is_dir():
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            yield Path(root) / name


def _from_pem(name: str, data: bytes) -> Iterator[tuple[str, x509.Certificate | CAError]]:
    blocks = [m for m in _PEM_BLOCK.finditer(data) if m.group(1) in _CERTIFICATE_LABELS]
    if not blocks:
        yield name, _unreadable(name, "PEM file holds no CERTIFICATE block")
        return
    for number, block in enumerate(blocks, start=1):
        label = name if len(blocks) == 1 else f"{name}#{number}"
        try:
            yield label, x509.load_pem_x509_certificate(block.group(0))
        except Exception as exc:  # outside bytes: whatever cryptography raises marks a bad file
            yield label, _unreadable(label, f"not a parsable certificate: {exc}")


def _from_bytes(name: str, data: bytes) -> Iterator[tuple[str, x509.Certificate | CAError]]:
    if b"-----BEGIN" in data:
        yield from _from_pem(name, data)
        return
    try:
        yield name, x509.load_der_x509_certificate(data)
    except Exception as exc:  # outside bytes: whatever cryptography raises marks a bad file
        yield name, _unreadable(name, f"neither PEM nor a parsable DER certificate: {exc}")


def iter_certificates(
    paths: Iterable[str | Path],
) -> Iterator[tuple[str, x509.Certificate | CAError]]:
    """Certificates from PEM (one or many per file) or DER files, recursing into directories."""
    for given in paths:
        for path in _walk(Path(given)):
            name = str(path)
            try:
                data = path.read_bytes()
            except OSError as exc:
                yield name, _unreadable(name, f"cannot read: {exc.strerror or exc}")
                continue
            yield from _from_bytes(name, data)


def lint_paths(
    paths: Iterable[str | Path],
    profile: Profile,
    issuer: x509.Certificate | None = None,
) -> Iterator[tuple[str, LintReport | CAError]]:
    """Lint every certificate found under ``paths`` with ``profile``."""
    for name, item in iter_certificates(paths):
        if isinstance(item, CAError):
            yield name, item
        else:
            yield name, run_lints(item, profile, issuer=issuer)
