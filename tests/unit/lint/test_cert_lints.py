"""Every certificate lint: a failing vector that trips it, and a valid vector that passes it."""

from __future__ import annotations

import pytest

from ca.lint import LINTS, LintStatus
from tests.unit.lint import cases_certificate, cases_stir
from tests.unit.lint.conftest import lint, make
from tests.unit.lint.pki import KINDS
from tests.unit.lint.vectors import EXTRA_VALID, Case

CASES = cases_certificate.CASES + cases_stir.CASES

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_valid_vector_passes_its_profile(kind: str) -> None:
    report = lint(kind)
    assert report.ok, report.errors
    assert not report.warnings
    assert {r.status for r in report.results} <= {LintStatus.PASS, LintStatus.NOT_APPLICABLE}


@pytest.mark.parametrize("label", sorted(EXTRA_VALID))
def test_extra_valid_vector_passes(label: str) -> None:
    kind, produce = EXTRA_VALID[label]
    report = lint(kind, produce(kind))
    assert report.ok, report.errors
    assert not report.warnings


def _case_id(case: Case) -> str:
    return f"{case.lint_id}[{case.kind}:{case.fragment}]"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_failing_vector_trips_its_lint(case: Case) -> None:
    report = lint(case.kind, case.produce(case.kind))
    result = report.result(case.lint_id)
    assert result.status is case.status, result
    assert case.fragment in result.detail, result.detail
    assert result.lint_id == case.lint_id


def _passing_lints() -> set[str]:
    passing = set()
    for kind in KINDS:
        passing |= {r.lint_id for r in lint(kind).results if r.status is LintStatus.PASS}
    for kind, produce in EXTRA_VALID.values():
        passing |= {
            r.lint_id for r in lint(kind, produce(kind)).results if r.status is LintStatus.PASS
        }
    return passing


def test_every_lint_has_a_passing_and_a_failing_vector() -> None:
    assert set(LINTS) - _passing_lints() == set()
    assert set(LINTS) - {case.lint_id for case in CASES} == set()


def test_every_lint_is_run_by_some_profile() -> None:
    from ca.issuance.profiles import load_profiles

    used = {lint_id for profile in load_profiles().values() for lint_id in profile.lints}
    assert used == set(LINTS)


def test_lints_have_ids_descriptions_and_sources() -> None:
    for lint_id, rule in LINTS.items():
        assert rule.id == lint_id
        assert lint_id[:2] in ("e_", "w_", "n_")
        assert rule.description and "\n" not in rule.description
        assert rule.source


def test_encompassment_failure_lists_only_what_is_outside() -> None:
    case = next(c for c in CASES if c.lint_id == "e_tn_auth_list_encompassed")
    detail = lint(case.kind, case.produce(case.kind)).result(case.lint_id).detail
    assert "13105550000" in detail
    assert "12125551824" not in detail


def test_malformed_tn_auth_list_reports_the_decoder_reason_and_skips_content_rules() -> None:
    case = next(c for c in CASES if c.lint_id == "e_tn_auth_list_strict_der")
    report = lint(case.kind, case.produce(case.kind))
    assert len(report.result("e_tn_auth_list_strict_der").detail) > len("TNAuthList is malformed: ")
    for dependent in ("e_tn_auth_list_numbers_only", "e_tn_auth_list_encompassed"):
        assert report.result(dependent).status is LintStatus.NOT_APPLICABLE


def test_chain_lints_are_not_applicable_without_an_issuer() -> None:
    report = lint("delegate_ee", issuer=None)
    for lint_id in (
        "e_issuer_dn_matches_issuer_subject",
        "e_authority_key_identifier_matches_issuer",
        "e_tn_auth_list_encompassed",
        "e_validity_within_issuer",
    ):
        assert report.result(lint_id).status is LintStatus.NOT_APPLICABLE


def test_self_signed_root_checks_its_own_names_and_keys() -> None:
    cert = make("test_root")
    report = lint("test_root", cert, issuer=cert)  # the issuance pipeline passes the lint copy
    assert report.ok
    assert report.result("e_issuer_dn_matches_issuer_subject").status is LintStatus.PASS


def test_cn_words_match_in_any_case() -> None:
    from tests.unit.lint.pki import name

    cert = make("test_root", lambda spec: setattr(spec, "subject", name("Example Shaken Root CA")))
    result = lint("shaken_root", cert, issuer=cert).result("e_subject_cn_contains")
    assert result.status is LintStatus.PASS
