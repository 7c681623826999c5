"""A CRL parsed once for every CRL lint, the CRL lint base class and its registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from asn1crypto import crl as asn1_crl
from cryptography import x509

from ca.lint.base import LintResult, Rule, _check_identity
from ca.lint.inputs import IssuerFacts, issuer_facts


@dataclass(frozen=True)
class CRLEntry:
    """One revoked-certificate entry with its extensions parsed (or the reason they were not)."""

    index: int
    serial: int
    extensions: dict[str, x509.Extension[Any]] | None
    error: str | None

    @property
    def label(self) -> str:
        return f"entry {self.index} (serial {self.serial:x})"


class CRLInput:
    """A CRL and what the caller expects of it, with parsed parts cached."""

    def __init__(
        self,
        crl: x509.CertificateRevocationList,
        *,
        issuer_certificate: x509.Certificate,
        expected_idp_url: str,
        indirect: bool,
        max_next_update: dt.timedelta,
        now: dt.datetime,
    ) -> None:
        self.crl = crl
        self.issuer_certificate = issuer_certificate
        self.expected_idp_url = expected_idp_url
        self.indirect = indirect
        self.max_next_update = max_next_update
        self.now = now

    @cached_property
    def extensions(self) -> dict[str, x509.Extension[Any]]:
        return {ext.oid.dotted_string: ext for ext in self.crl.extensions}

    def extension(self, oid: x509.ObjectIdentifier) -> x509.Extension[Any] | None:
        return self.extensions.get(oid.dotted_string)

    @cached_property
    def issuer(self) -> IssuerFacts:
        return issuer_facts(self.issuer_certificate)

    @cached_property
    def version(self) -> str:
        """The version as encoded (cryptography does not expose it): ``v1`` or ``v2``."""
        version = asn1_crl.TbsCertList.load(self.crl.tbs_certlist_bytes)["version"].native
        return "v1" if version is None else str(version)

    @cached_property
    def entries(self) -> tuple[CRLEntry, ...]:
        entries = []
        for index, revoked in enumerate(self.crl):
            try:
                parsed = {ext.oid.dotted_string: ext for ext in revoked.extensions}
                entries.append(CRLEntry(index, revoked.serial_number, parsed, None))
            except ValueError as exc:
                entries.append(CRLEntry(index, revoked.serial_number, None, str(exc)))
        return tuple(entries)

    def entry_problems(self, problem: Callable[[CRLEntry], str | None]) -> list[str]:
        """``problem`` applied to every entry; unparsable entries are problems of their own."""
        found = []
        for entry in self.entries:
            if entry.extensions is None:
                found.append(f"{entry.label}: extensions are unparsable: {entry.error}")
                continue
            detail = problem(entry)
            if detail:
                found.append(f"{entry.label}: {detail}")
        return found


def summarise(problems: list[str], limit: int = 5) -> str:
    """The first ``limit`` problems joined, with a count of the rest."""
    shown = "; ".join(problems[:limit])
    return shown + (f"; and {len(problems) - limit} more" if len(problems) > limit else "")


class CRLLint(Rule[CRLInput]):
    """A CRL lint: ``check`` one CRL against the caller's expectations."""

    def check(self, crl: CRLInput) -> LintResult:
        raise NotImplementedError


#: Every CRL lint, by id, in the order ``lint_crl`` runs them.
CRL_LINTS: dict[str, CRLLint] = {}
CRLLintT = TypeVar("CRLLintT", bound=type[CRLLint])


def register_crl(cls: CRLLintT) -> CRLLintT:
    """Class decorator: add one instance of a CRL lint to :data:`CRL_LINTS`."""
    _check_identity(cls, CRL_LINTS)
    CRL_LINTS[cls.id] = cls()
    return cls
