"""Reading certificates from files and directories never raises on bad files."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ca.errors import CAError
from ca.issuance.profiles import load_profile
from ca.lint import LintReport
from ca.lint.files import iter_certificates, lint_paths
from tests.unit.lint.conftest import make
from tests.unit.lint.pki import root, sca


def _tree(tmp_path: Path) -> Path:
    directory = tmp_path / "certs"
    (directory / "sub").mkdir(parents=True)
    delegate = make("delegate_ee")
    (directory / "a-delegate.pem").write_bytes(delegate.public_bytes(Encoding.PEM))
    (directory / "b-root.der").write_bytes(root().public_bytes(Encoding.DER))
    chain = delegate.public_bytes(Encoding.PEM) + b"\n" + sca().public_bytes(Encoding.PEM)
    (directory / "sub" / "chain.pem").write_bytes(chain)
    (directory / "c-garbage.bin").write_bytes(b"\x00\x01 not a certificate")
    (directory / "d-key.pem").write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    bad_pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    (directory / "e-bad.pem").write_bytes(bad_pem)
    return directory


def test_directory_walk_names_every_certificate_and_every_bad_file(tmp_path: Path) -> None:
    directory = _tree(tmp_path)
    found = list(iter_certificates([directory]))
    names = [Path(name).relative_to(directory).as_posix() for name, _ in found]
    assert names == [
        "a-delegate.pem",
        "b-root.der",
        "c-garbage.bin",
        "d-key.pem",
        "e-bad.pem",
        "sub/chain.pem#1",
        "sub/chain.pem#2",
    ]
    kinds = [type(item) for _, item in found]
    assert kinds == [
        x509.Certificate,
        x509.Certificate,
        CAError,
        CAError,
        CAError,
        x509.Certificate,
        x509.Certificate,
    ]
    errors = {Path(name).name: item for name, item in found if isinstance(item, CAError)}
    assert "neither PEM nor" in errors["c-garbage.bin"].detail
    assert "no CERTIFICATE block" in errors["d-key.pem"].detail
    assert "not a parsable certificate" in errors["e-bad.pem"].detail
    assert found[6][1] == sca()


def test_missing_path_is_an_error_item(tmp_path: Path) -> None:
    ((name, item),) = iter_certificates([tmp_path / "absent.pem"])
    assert isinstance(item, CAError)
    assert "cannot read" in item.detail
    assert name.endswith("absent.pem")


def test_lint_paths_lints_certificates_and_passes_errors_through(tmp_path: Path) -> None:
    directory = _tree(tmp_path)
    profile = load_profile("delegate_ee")
    results = dict(
        lint_paths(
            [directory / "a-delegate.pem", directory / "c-garbage.bin"], profile, issuer=sca()
        )
    )
    report = results[str(directory / "a-delegate.pem")]
    assert isinstance(report, LintReport)
    assert report.profile == "delegate_ee"
    assert report.ok, report.errors
    assert isinstance(results[str(directory / "c-garbage.bin")], CAError)
