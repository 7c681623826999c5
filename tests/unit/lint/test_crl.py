"""CRL lints: a valid indirect and a valid direct CRL pass; each rule has a failing vector."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ca.lint import CRL_LINTS, LintStatus, lint_crl, verify_crl_signature
from tests.unit.lint.conftest import make
from tests.unit.lint.pki import NOW, SCA_CRL, build, key, key_usage, rsa_key, sca, sca_spec

HOUR = dt.timedelta(hours=1)


def crl_signer() -> x509.Certificate:
    return make("crl_signer")


def sca_with_crl_sign() -> x509.Certificate:
    spec = sca_spec()
    spec.put(key_usage("key_cert_sign", "crl_sign"), critical=True)
    return build(spec)


@dataclass
class CRLSpec:
    """A CRL to build: valid indirect by default (signed by the CRL signer for the SCA)."""

    indirect: bool = True
    signer: Callable[[], x509.Certificate] = crl_signer
    signing_key: Any = field(default_factory=lambda: key("crl"))
    this_update: dt.datetime = NOW - HOUR
    next_update: dt.datetime = NOW + 11 * HOUR
    extensions: dict[str, tuple[x509.ExtensionType, bool]] = field(default_factory=dict)
    entries: list[x509.RevokedCertificate] = field(default_factory=list)
    hash_algorithm: Any = field(default_factory=hashes.SHA256)
    issuer_name: x509.Name | None = None  # None: the signer's subject

    def put(self, value: x509.ExtensionType, critical: bool = False) -> None:
        self.extensions[value.oid.dotted_string] = (value, critical)


def entry(serial: int, *extensions: tuple[x509.ExtensionType, bool]) -> x509.RevokedCertificate:
    builder = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW - 2 * HOUR)
    for value, critical in extensions:
        builder = builder.add_extension(value, critical)
    return builder.build()


def issuer_of_entries() -> tuple[x509.CertificateIssuer, bool]:
    return x509.CertificateIssuer([x509.DirectoryName(sca().subject)]), True


def reason(flag: x509.ReasonFlags, critical: bool = False) -> tuple[x509.CRLReason, bool]:
    return x509.CRLReason(flag), critical


def valid_spec(indirect: bool = True) -> CRLSpec:
    spec = CRLSpec(indirect=indirect)
    if not indirect:
        spec.signer, spec.signing_key = sca_with_crl_sign, key("sca")
    signer_ski = spec.signer().extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    spec.put(x509.CRLNumber(42))
    spec.put(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(signer_ski))
    idp = x509.IssuingDistributionPoint(
        full_name=[x509.UniformResourceIdentifier(SCA_CRL)],
        relative_name=None,
        only_contains_user_certs=False,
        only_contains_ca_certs=False,
        only_some_reasons=None,
        indirect_crl=indirect,
        only_contains_attribute_certs=False,
    )
    spec.put(idp, critical=True)
    first = (issuer_of_entries(),) if indirect else ()
    spec.entries = [
        entry(0x1001, *first, reason(x509.ReasonFlags.key_compromise)),
        entry(0x1002, reason(x509.ReasonFlags.cessation_of_operation)),
        entry(0x1003),
    ]
    return spec


def build_crl(spec: CRLSpec) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(spec.issuer_name or spec.signer().subject)
        .last_update(spec.this_update)
        .next_update(spec.next_update)
    )
    for value, critical in spec.extensions.values():
        builder = builder.add_extension(value, critical)
    for revoked in spec.entries:
        builder = builder.add_revoked_certificate(revoked)
    return builder.sign(spec.signing_key, spec.hash_algorithm)


def run(spec: CRLSpec, crl: x509.CertificateRevocationList | None = None, **kwargs: Any):
    return lint_crl(
        crl or build_crl(spec),
        issuer_certificate=spec.signer(),
        expected_idp_url=SCA_CRL,
        indirect=spec.indirect,
        max_next_update=dt.timedelta(hours=12),
        now=NOW,
        **kwargs,
    )


def rewrite_crl(
    crl: x509.CertificateRevocationList, change: Callable[[Any], None]
) -> x509.CertificateRevocationList:
    parsed = asn1_crl.CertificateList.load(crl.public_bytes(Encoding.DER))
    change(parsed["tbs_cert_list"])
    return x509.load_der_x509_crl(parsed.dump(force=True))


@pytest.mark.parametrize("indirect", [True, False], ids=["indirect", "direct"])
def test_valid_crl_passes(indirect: bool) -> None:
    report = run(valid_spec(indirect), verify_signature=True)
    assert report.ok, report.errors
    assert not report.warnings
    assert report.result("e_crl_signature_valid").status is LintStatus.PASS
    assert len(report.results) == len(CRL_LINTS) + 1


def test_signature_is_not_checked_unless_asked() -> None:
    spec = valid_spec()
    spec.signing_key = key("throwaway")  # the pipeline lints a copy signed by a throwaway key
    report = run(spec)
    assert report.ok
    assert "e_crl_signature_valid" not in {r.lint_id for r in report.results}
    assert verify_crl_signature(build_crl(spec), spec.signer()).status is LintStatus.ERROR


def test_signature_lint_with_an_rsa_issuer_reports_an_error() -> None:
    spec = valid_spec()
    rsa_issuer = make("crl_signer", lambda s: setattr(s, "public_key", rsa_key().public_key()))
    assert verify_crl_signature(build_crl(spec), rsa_issuer).status is LintStatus.ERROR


def _with(change: Callable[[CRLSpec], object], indirect: bool = True) -> Callable[[], CRLSpec]:
    def produce() -> CRLSpec:
        spec = valid_spec(indirect)
        change(spec)
        return spec

    return produce


def _drop(oid: x509.ObjectIdentifier) -> Callable[[CRLSpec], object]:
    return lambda spec: spec.extensions.pop(oid.dotted_string)


def _idp(**overrides: Any) -> Callable[[CRLSpec], object]:
    def change(spec: CRLSpec) -> None:
        fields = {
            "full_name": [x509.UniformResourceIdentifier(SCA_CRL)],
            "relative_name": None,
            "only_contains_user_certs": False,
            "only_contains_ca_certs": False,
            "only_some_reasons": None,
            "indirect_crl": spec.indirect,
            "only_contains_attribute_certs": False,
        }
        critical = overrides.pop("critical", True)
        spec.put(x509.IssuingDistributionPoint(**(fields | overrides)), critical=critical)

    return change


def _entries(*entries: x509.RevokedCertificate) -> Callable[[CRLSpec], object]:
    return lambda spec: setattr(spec, "entries", list(entries))


def _stranger_aki(spec: CRLSpec) -> None:
    spec.put(x509.AuthorityKeyIdentifier.from_issuer_public_key(key("stranger").public_key()))


OID = x509.oid.ExtensionOID
DECODED = [
    ("e_crl_number", _with(_drop(OID.CRL_NUMBER)), "absent"),
    ("e_crl_number", _with(lambda s: s.put(x509.CRLNumber(1), critical=True)), "critical"),
    ("e_crl_number", _with(lambda s: s.put(x509.CRLNumber(2**170))), "20 octets"),
    ("e_crl_authority_key_identifier", _with(_drop(OID.AUTHORITY_KEY_IDENTIFIER)), "absent"),
    ("e_crl_authority_key_identifier", _with(_stranger_aki), "differs"),
    ("e_crl_issuing_distribution_point", _with(_drop(OID.ISSUING_DISTRIBUTION_POINT)), "absent"),
    ("e_crl_issuing_distribution_point", _with(_idp(critical=False)), "not critical"),
    (
        "e_crl_issuing_distribution_point",
        _with(_idp(full_name=[x509.UniformResourceIdentifier("https://x.example/a.crl")])),
        "expected",
    ),
    ("e_crl_indirect_flag", _with(_idp(indirect_crl=False)), "expected True"),
    (
        "e_crl_this_update_not_future",
        _with(lambda s: setattr(s, "this_update", NOW + HOUR)),
        "after",
    ),
    ("e_crl_next_update", _with(lambda s: setattr(s, "next_update", NOW + 30 * HOUR)), "at most"),
    (
        "e_crl_signature_algorithm",
        _with(lambda s: setattr(s, "hash_algorithm", hashes.SHA512())),
        "1.2.840.10045.4.3.4",
    ),
    ("e_crl_entries_unique", _with(_entries(entry(7, issuer_of_entries()), entry(7))), "7"),
    (
        "e_crl_entry_reason_code",
        _with(
            _entries(entry(7, issuer_of_entries(), reason(x509.ReasonFlags.key_compromise, True)))
        ),
        "critical",
    ),
    (
        "e_crl_entry_reason_code",
        _with(_entries(entry(7, issuer_of_entries(), reason(x509.ReasonFlags.remove_from_crl)))),
        "delta",
    ),
    (
        "w_crl_entry_reason_unspecified",
        _with(_entries(entry(7, issuer_of_entries(), reason(x509.ReasonFlags.unspecified)))),
        "unspecified",
    ),
    ("e_crl_entry_certificate_issuer", _with(_entries(entry(7), entry(8))), "first entry"),
    (
        "e_crl_entry_certificate_issuer",
        _with(_entries(entry(7, issuer_of_entries())), indirect=False),
        "not indirect",
    ),
    (
        "e_crl_entry_certificate_issuer",
        _with(
            _entries(
                entry(
                    7,
                    (
                        x509.CertificateIssuer(
                            [x509.UniformResourceIdentifier("https://x.example")]
                        ),
                        True,
                    ),
                )
            )
        ),
        "no directoryName",
    ),
    (
        "e_crl_entry_certificate_issuer_critical",
        _with(_entries(entry(7, (issuer_of_entries()[0], False)))),
        "not critical",
    ),
    (
        "e_crl_issuer_name",
        _with(lambda s: setattr(s, "issuer_name", sca().subject)),
        "not the signer",
    ),
    ("e_crl_signer_key_usage", _with(lambda s: setattr(s, "signer", sca)), "cRLSign"),
]


@pytest.mark.parametrize(
    ("lint_id", "produce", "fragment"), DECODED, ids=[f"{c[0]}:{c[2]}" for c in DECODED]
)
def test_failing_crl_vector(lint_id: str, produce: Callable[[], CRLSpec], fragment: str) -> None:
    result = run(produce()).result(lint_id)
    expected = LintStatus.WARN if lint_id.startswith("w_") else LintStatus.ERROR
    assert result.status is expected, result
    assert fragment in result.detail


def test_version_1_crl_fails() -> None:
    spec = valid_spec()
    crl = rewrite_crl(build_crl(spec), lambda tbs: tbs.__setitem__("version", None))
    assert run(spec, crl).result("e_crl_version_v2").status is LintStatus.ERROR


def test_next_update_before_this_update_fails() -> None:
    spec = valid_spec()

    def swap(tbs: Any) -> None:
        this_update, next_update = tbs["this_update"], tbs["next_update"]
        tbs["this_update"], tbs["next_update"] = next_update, this_update

    crl = rewrite_crl(build_crl(spec), swap)
    result = run(spec, crl).result("e_crl_next_update")
    assert result.status is LintStatus.ERROR
    assert "not after thisUpdate" in result.detail


def test_missing_next_update_fails() -> None:
    spec = valid_spec()
    crl = rewrite_crl(build_crl(spec), lambda tbs: tbs.__setitem__("next_update", None))
    result = run(spec, crl).result("e_crl_next_update")
    assert result.status is LintStatus.ERROR
    assert "absent" in result.detail


def test_every_crl_lint_has_a_failing_vector() -> None:
    covered = {lint_id for lint_id, _, _ in DECODED} | {"e_crl_version_v2"}
    assert set(CRL_LINTS) - covered == set()


def test_unparsable_entry_extension_is_reported_not_raised() -> None:
    spec = valid_spec()
    spec.entries = [entry(7, issuer_of_entries(), reason(x509.ReasonFlags.key_compromise))]
    good = build_crl(spec)

    # reasonCode keyCompromise (1) becomes 7, a value RFC 5280 §5.3.1 leaves unassigned.
    der = good.public_bytes(Encoding.DER)
    assert der.count(b"\x04\x03\x0a\x01\x01") == 1
    crl = x509.load_der_x509_crl(der.replace(b"\x04\x03\x0a\x01\x01", b"\x04\x03\x0a\x01\x07"))
    report = run(spec, crl)
    assert not report.ok
    assert "unparsable" in report.result("e_crl_entry_reason_code").detail
