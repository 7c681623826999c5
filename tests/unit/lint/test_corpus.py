"""The shaken_sp, shaken_ca and shaken_root profiles over 17,767 real SHAKEN certificates.

Nothing may crash, and the counts must agree with what the corpus README states
(../shared/testdata/real-shaken-certs/README.md).
"""

from __future__ import annotations

import datetime as dt
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from ca.lint import LintStatus
from ca.lint.survey import Survey, survey_paths

REPO = Path(__file__).resolve().parents[3]
ARCHIVE = REPO.parent / "shared" / "testdata" / "real-shaken-certs" / "certs.tar.xz"
AT = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not ARCHIVE.exists(), reason=f"corpus not found at {ARCHIVE}"),
]


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Survey:
    directory = tmp_path_factory.mktemp("corpus")
    with tarfile.open(ARCHIVE, "r:xz") as archive:
        archive.extractall(directory, filter="data")
    return survey_paths([directory], now=AT)


def _errors(survey: Survey, lint_id: str) -> int:
    return sum(
        p.by_lint.get(lint_id, Counter())[LintStatus.ERROR] for p in survey.profiles.values()
    )


def _details_containing(survey: Survey, lint_id: str, fragment: str) -> int:
    return sum(
        count
        for profile in survey.profiles.values()
        for (lint, detail), count in profile.details.items()
        if lint == lint_id and fragment in detail
    )


def test_every_file_is_accounted_for_and_nothing_is_fatal(survey: Survey) -> None:
    assert survey.files == 17_767
    linted = sum(p.certificates for p in survey.profiles.values())
    assert linted + len(survey.unparsable) == 17_767
    for profile in survey.profiles.values():
        for lint_id, counts in profile.by_lint.items():
            assert counts[LintStatus.FATAL] == 0, lint_id


def test_end_entities_and_ca_certificates_match_the_readme(survey: Survey) -> None:
    # cryptography 50 refuses the 8 certificates whose ECDSA AlgorithmIdentifier carries NULL
    # parameters (the README's "cryptography warns" row, counted with cryptography 48).
    kinds = Counter(kind for _, kind, _ in survey.unparsable)
    assert kinds == {"end entity": 4, "ca": 4}
    assert all("signature_alg" in reason for _, _, reason in survey.unparsable)
    end_entities = survey.profiles["shaken_sp"].certificates + kinds["end entity"]
    cas = survey.profiles["shaken_ca"].certificates + survey.profiles["shaken_root"].certificates
    assert (end_entities, cas + kinds["ca"]) == (17_707, 60)


def test_tn_auth_list_counts_match_the_readme(survey: Survey) -> None:
    assert _errors(survey, "e_tn_auth_list_present") == 4
    assert _errors(survey, "e_tn_auth_list_strict_der") == 12
    assert _errors(survey, "e_tn_auth_list_absent") == 0  # no CA certificate carries one
    assert _details_containing(survey, "e_tn_auth_list_strict_der", "untagged PrintableString") == 6


def test_key_and_signature_counts_match_the_readme(survey: Survey) -> None:
    assert _details_containing(survey, "e_subject_public_key_curve", "rsaEncryption") == 4
    assert _details_containing(survey, "e_subject_public_key_curve", "secp521r1") == 1
    assert _details_containing(survey, "e_signature_algorithm", "sha256WithRSAEncryption") == 43
    assert _details_containing(survey, "e_signature_algorithm", "ecdsa-with-SHA512") == 1


def test_crl_distribution_point_counts_match_the_readme(survey: Survey) -> None:
    # README: 17,678 certificates with a CRL DP, 11,689 of them naming a cRLIssuer.
    sp, ca = survey.profiles["shaken_sp"].by_lint, survey.profiles["shaken_ca"].by_lint
    root = survey.profiles["shaken_root"].by_lint
    with_dp = (
        sp["e_crl_distribution_points_present"][LintStatus.PASS]
        + ca["e_crl_distribution_points_present"][LintStatus.PASS]
        + root["e_crl_distribution_points_absent"][LintStatus.ERROR]
    )
    assert 17_678 - len(survey.unparsable) <= with_dp <= 17_678
    # cRLIssuer is required by both profiles, so a pass means one is present.
    named = sum(p["e_crl_distribution_points_crl_issuer"][LintStatus.PASS] for p in (sp, ca))
    assert named == 11_689
