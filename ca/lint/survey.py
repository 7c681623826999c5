"""Lint a corpus of other parties' certificates and count the results per lint.

Each certificate gets the plain SHAKEN profile for its kind: ``shaken_sp`` for end entities
(basicConstraints cA false or absent), ``shaken_ca`` for intermediates and ``shaken_root`` for
self-issued CA certificates. Files cryptography cannot load are counted apart, classified with
asn1crypto. Run ``python -m ca.lint.survey DIR --at 2025-09-01T00:00:00Z`` for a Markdown report.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509

from ca.errors import CAError
from ca.issuance.profiles import load_profile
from ca.lint.base import LintStatus
from ca.lint.files import iter_certificates
from ca.lint.runner import run_lints

STATUS_COLUMNS = (
    LintStatus.PASS,
    LintStatus.NOTICE,
    LintStatus.WARN,
    LintStatus.ERROR,
    LintStatus.FATAL,
    LintStatus.NOT_APPLICABLE,
)

_FAILURES = frozenset({LintStatus.WARN, LintStatus.ERROR, LintStatus.FATAL})


@dataclass
class ProfileCounts:
    """Per-lint status counts for the certificates one profile was applied to."""

    certificates: int = 0
    clean: int = 0  # certificates with no ERROR or FATAL
    by_lint: dict[str, Counter[LintStatus]] = field(default_factory=dict)
    details: Counter[tuple[str, str]] = field(default_factory=Counter)  # (lint, detail) of failures


@dataclass
class Survey:
    """What a corpus run found."""

    files: int = 0
    profiles: dict[str, ProfileCounts] = field(default_factory=dict)
    unparsable: list[tuple[str, str, str]] = field(default_factory=list)  # name, kind, reason


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def profile_name_for(cert: x509.Certificate) -> str:
    """The plain SHAKEN profile for a certificate's kind."""
    if not _is_ca(cert):
        return "shaken_sp"
    return "shaken_root" if cert.issuer == cert.subject else "shaken_ca"


def _kind_of_unloadable(path: str) -> str:
    """End entity or CA, read with asn1crypto for files cryptography refuses."""
    try:
        parsed = asn1_x509.Certificate.load(Path(path.split("#")[0]).read_bytes())
        constraints = parsed["tbs_certificate"]["extensions"]
        for extension in constraints:
            if extension["extn_id"].native == "basic_constraints":
                return "ca" if extension["extn_value"].parsed["ca"].native else "end entity"
        return "end entity"
    except Exception:  # anything asn1crypto cannot read stays unclassified
        return "unknown"


def survey_paths(paths: Iterable[str | Path], *, now: dt.datetime) -> Survey:
    """Lint every certificate under ``paths`` with the profile for its kind."""
    survey = Survey()
    for name, item in iter_certificates(paths):
        survey.files += 1
        if isinstance(item, CAError):
            survey.unparsable.append((name, _kind_of_unloadable(name), item.detail))
            continue
        profile = load_profile(profile_name_for(item))
        counts = survey.profiles.setdefault(profile.name, ProfileCounts())
        report = run_lints(item, profile, now=now)
        counts.certificates += 1
        counts.clean += report.ok
        for result in report.results:
            counts.by_lint.setdefault(result.lint_id, Counter())[result.status] += 1
            if result.status in _FAILURES:
                counts.details[result.lint_id, result.detail] += 1
    return survey


def render_markdown(survey: Survey) -> str:
    """One table per profile: lint id, then the count of each status."""
    lines = [
        f"Files read: {survey.files}; not loadable by cryptography: {len(survey.unparsable)}",
        "",
    ]
    for profile_name in sorted(survey.profiles, key=lambda n: -survey.profiles[n].certificates):
        counts = survey.profiles[profile_name]
        lines += [
            f"### {profile_name}: {counts.certificates} certificates, "
            f"{counts.clean} without errors",
            "",
            "| lint | " + " | ".join(s.value for s in STATUS_COLUMNS) + " |",
            "|---|" + "---:|" * len(STATUS_COLUMNS),
        ]
        for lint_id in load_profile(profile_name).lints:
            row = counts.by_lint.get(lint_id, Counter())
            cells = " | ".join(str(row[status]) for status in STATUS_COLUMNS)
            lines.append(f"| `{lint_id}` | {cells} |")
        lines.append("")
    if survey.unparsable:
        lines += ["### Not loadable", "", "| file | kind | reason |", "|---|---|---|"]
        for name, kind, reason in survey.unparsable:
            lines.append(f"| `{Path(name).name[:16]}…` | {kind} | {reason} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--at", default=None, help="lint as of this ISO-8601 time (default: now)")
    args = parser.parse_args(argv)
    now = dt.datetime.fromisoformat(args.at.replace("Z", "+00:00")) if args.at else None
    print(render_markdown(survey_paths(args.paths, now=now or dt.datetime.now(dt.UTC))), end="")


if __name__ == "__main__":
    main()
