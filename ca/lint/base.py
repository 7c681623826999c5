"""Lint results, reports and the registry: one rule per class, each citing its source.

After zmap/zlint and letsencrypt/boulder's linter: a lint has a stable id whose prefix gives the
severity of a failure (``e_`` error, ``w_`` warning, ``n_`` notice), a one-line description and the
clause it enforces. Profiles choose which lints run.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from ca.issuance.profiles import Profile
    from ca.lint.inputs import LintInput


class LintStatus(enum.Enum):
    """The outcome of one lint on one object."""

    PASS = "pass"
    NOTICE = "notice"
    WARN = "warn"
    ERROR = "error"
    FATAL = "fatal"  # the lint could not run: part of the object is unparsable
    NOT_APPLICABLE = "na"


_FAILURE_BY_PREFIX = {"e_": LintStatus.ERROR, "w_": LintStatus.WARN, "n_": LintStatus.NOTICE}


@dataclass(frozen=True)
class LintResult:
    """What one lint found; ``detail`` says why for anything but a pass."""

    lint_id: str
    status: LintStatus
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"lint": self.lint_id, "status": self.status.value, "detail": self.detail}


@dataclass(frozen=True)
class LintReport:
    """All results of one lint run, in the order the profile lists its lints."""

    profile: str
    results: tuple[LintResult, ...]

    def _with(self, *statuses: LintStatus) -> tuple[LintResult, ...]:
        return tuple(result for result in self.results if result.status in statuses)

    @property
    def errors(self) -> tuple[LintResult, ...]:
        """Results that make the object unacceptable: ERROR and FATAL."""
        return self._with(LintStatus.ERROR, LintStatus.FATAL)

    @property
    def warnings(self) -> tuple[LintResult, ...]:
        return self._with(LintStatus.WARN)

    @property
    def notices(self) -> tuple[LintResult, ...]:
        return self._with(LintStatus.NOTICE)

    @property
    def ok(self) -> bool:
        """True when no lint reported ERROR or FATAL."""
        # By identity: an Enum's hash runs in Python, and this runs on every certificate issued.
        error, fatal = LintStatus.ERROR, LintStatus.FATAL
        return not any(r.status is error or r.status is fatal for r in self.results)

    def result(self, lint_id: str) -> LintResult:
        """The result of ``lint_id``; KeyError when the profile did not run it."""
        for result in self.results:
            if result.lint_id == lint_id:
                return result
        raise KeyError(lint_id)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary: verdict, counts and every result that is not a pass or N/A."""
        return {
            "profile": self.profile,
            "ok": self.ok,
            "counts": {
                status.value: sum(1 for r in self.results if r.status is status)
                for status in LintStatus
            },
            "results": [r.to_json() for r in self.results],
        }


InputT = TypeVar("InputT")


class Rule(Generic[InputT]):
    """Common shape of certificate and CRL lints: id, description, source and result helpers."""

    id: ClassVar[str]
    description: ClassVar[str]
    source: ClassVar[str]

    def _result(self, status: LintStatus, detail: str) -> LintResult:
        return LintResult(self.id, status, detail)

    def passed(self, detail: str = "") -> LintResult:
        if detail:
            return self._result(LintStatus.PASS, detail)
        # A plain pass is the commonest result by far; results are immutable, so share one.
        shared = self.__dict__.get("_pass")
        if shared is None:
            shared = self.__dict__["_pass"] = self._result(LintStatus.PASS, "")
        return shared

    def failed(self, detail: str) -> LintResult:
        """A failure at the severity the id's prefix names."""
        return self._result(_FAILURE_BY_PREFIX[self.id[:2]], detail)

    def warn(self, detail: str) -> LintResult:
        return self._result(LintStatus.WARN, detail)

    def not_applicable(self, detail: str = "") -> LintResult:
        return self._result(LintStatus.NOT_APPLICABLE, detail)

    def fatal(self, detail: str) -> LintResult:
        return self._result(LintStatus.FATAL, detail)

    def describe(self) -> dict[str, str]:
        return {"id": self.id, "description": self.description, "source": self.source}


class Lint(Rule["LintInput"]):
    """A certificate lint: ``check`` one parsed certificate against a profile."""

    def check(self, cert: LintInput, profile: Profile) -> LintResult:
        raise NotImplementedError


#: Every certificate lint, by id. Filled by the ``@register`` decorator as rule modules load.
LINTS: dict[str, Lint] = {}

LintT = TypeVar("LintT", bound=type[Lint])


def _check_identity(cls: type[Rule[Any]], known: Iterable[str]) -> None:
    for attribute in ("id", "description", "source"):
        if not getattr(cls, attribute, ""):
            raise TypeError(f"{cls.__name__} has no {attribute}")
    if cls.id[:2] not in _FAILURE_BY_PREFIX:
        raise TypeError(f"{cls.id}: a lint id starts with e_, w_ or n_")
    if cls.id in known:
        raise TypeError(f"{cls.id}: registered twice")


def register(cls: LintT) -> LintT:
    """Class decorator: add one instance of a certificate lint to :data:`LINTS`."""
    _check_identity(cls, LINTS)
    LINTS[cls.id] = cls()
    return cls
