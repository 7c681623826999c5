"""run_lints never raises: unparsable parts become FATAL results, lint bugs too."""

from __future__ import annotations

import json

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from ca import oids
from ca.issuance.profiles import load_profile
from ca.lint import LINTS, LintReport, LintResult, LintStatus, run_lints
from ca.lint.inputs import LintInput
from tests.unit.lint.conftest import lint, make
from tests.unit.lint.pki import NOW, CertSpec, build, rewrite, sca_spec, tn_auth_list_ext

PLACEHOLDER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.99")


def _rename_placeholder(to: x509.ObjectIdentifier):
    def change(tbs: asn1_x509.TbsCertificate) -> None:
        for extension in tbs["extensions"]:
            if extension["extn_id"].dotted == PLACEHOLDER.dotted_string:
                extension["extn_id"] = to.dotted_string

    return change


def _with_placeholder(der: bytes, drop: x509.ObjectIdentifier | None = None):
    def change(spec: CertSpec) -> None:
        if drop is not None:
            spec.drop(drop)
        spec.put(x509.UnrecognizedExtension(PLACEHOLDER, der))

    return change


def test_duplicate_basic_constraints_make_parsed_lints_fatal_but_raw_lints_run() -> None:
    cert = rewrite(
        make("delegate_ee", _with_placeholder(b"\x30\x00")),
        _rename_placeholder(ExtensionOID.BASIC_CONSTRAINTS),
    )
    report = lint("delegate_ee", cert)
    assert not report.ok
    fatal = report.result("e_key_usage_present_critical")
    assert fatal.status is LintStatus.FATAL
    assert "duplicate extension 2.5.29.19" in fatal.detail
    assert report.result("e_extensions_unique").status is LintStatus.ERROR
    # The TNAuthList is still read from the raw extension list.
    assert report.result("e_tn_auth_list_strict_der").status is LintStatus.PASS
    assert report.result("e_tn_auth_list_numbers_only").status is LintStatus.PASS


def test_malformed_key_usage_value_is_fatal_with_the_parser_message() -> None:
    cert = rewrite(
        make("delegate_ee", _with_placeholder(b"\x01\x02", drop=ExtensionOID.KEY_USAGE)),
        _rename_placeholder(ExtensionOID.KEY_USAGE),
    )
    report = lint("delegate_ee", cert)
    result = report.result("e_key_usage_bits")
    assert result.status is LintStatus.FATAL
    assert "extensions are unparsable" in result.detail
    assert report.result("e_version_v3").status is LintStatus.PASS


def test_a_lint_that_raises_is_reported_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(cert: LintInput, profile: object) -> LintResult:
        raise RuntimeError("boom")

    monkeypatch.setattr(LINTS["e_version_v3"], "check", explode)
    report = lint("delegate_ee")
    result = report.result("e_version_v3")
    assert result.status is LintStatus.FATAL
    assert "boom" in result.detail
    assert report.errors == (result,)


def test_issuer_with_malformed_tn_auth_list_fails_encompassment() -> None:
    spec = sca_spec()
    spec.put(tn_auth_list_ext(bytes.fromhex("3006130431323334")))
    report = lint("delegate_ee", issuer=build(spec))
    result = report.result("e_tn_auth_list_encompassed")
    assert result.status is LintStatus.ERROR
    assert "issuer's TNAuthList is malformed" in result.detail


def test_issuer_without_ski_cannot_match_the_aki() -> None:
    spec = sca_spec()
    spec.drop(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    report = lint("delegate_ee", issuer=build(spec))
    result = report.result("e_authority_key_identifier_matches_issuer")
    assert result.status is LintStatus.ERROR
    assert "no subjectKeyIdentifier" in result.detail


def test_issuer_without_tn_auth_list_makes_encompassment_not_applicable() -> None:
    spec = sca_spec()
    spec.drop(oids.TN_AUTH_LIST)
    report = lint("delegate_ee", issuer=build(spec))
    assert report.result("e_tn_auth_list_encompassed").status is LintStatus.NOT_APPLICABLE


def test_report_views_and_json() -> None:
    spec_report = lint("delegate_ee", make("delegate_ee", lambda s: setattr(s, "serial", 0x1234)))
    assert not spec_report.ok
    assert [r.lint_id for r in spec_report.errors] == ["e_serial_number_entropy"]
    assert spec_report.warnings == ()
    data = spec_report.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["profile"] == "delegate_ee"
    assert data["ok"] is False
    assert data["counts"]["error"] == 1
    assert {"lint": "e_serial_number_entropy", "status": "error"}.items() <= data["results"][
        3
    ].items()
    with pytest.raises(KeyError):
        spec_report.result("e_no_such_lint")


def test_report_ok_ignores_warnings_and_notices() -> None:
    report = LintReport(
        "x",
        (
            LintResult("w_a", LintStatus.WARN, "w"),
            LintResult("n_b", LintStatus.NOTICE, "n"),
            LintResult("e_c", LintStatus.NOT_APPLICABLE),
        ),
    )
    assert report.ok
    assert len(report.warnings) == 1
    assert len(report.notices) == 1


def test_results_follow_the_profile_order() -> None:
    profile = load_profile("delegate_ee")
    report = run_lints(make("delegate_ee"), profile, now=NOW)
    assert tuple(r.lint_id for r in report.results) == profile.lints


def test_now_defaults_to_the_current_time() -> None:
    report = run_lints(make("delegate_ee"), load_profile("delegate_ee"))
    # NOW in the vectors is in 2025; the valid delegate lived one day, so it has expired today.
    assert report.result("n_certificate_expired").status is LintStatus.NOTICE
