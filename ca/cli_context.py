"""What every `delegato` command shares: the context object, --json, errors as one line."""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from ca.config import Config
from ca.errors import CAError, ErrorKind
from ca.services import Services, build_services

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CLIContext:
    home: str | None
    as_json: bool = False
    _services: Services | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        return Config.load(self.home)

    def services(self) -> Services:
        """The services of an initialized home, checked once (schema, issuer keys)."""
        if self._services is None:
            self._services = build_services(self.config)
            self._services.check_ready()
        return self._services

    def adopt(self, services: Services) -> Services:
        """Use ``services`` (built from a config this command made) and close them at exit."""
        self._services = services
        return services

    def close(self) -> None:
        if self._services is not None:
            self._services.close()

    def emit(self, data: dict[str, Any], text: str | None = None) -> None:
        """Print ``data`` as one JSON line with --json, else ``text`` (or a key: value listing)."""
        if self.as_json:
            click.echo(json.dumps(data, default=str, sort_keys=True))
        else:
            click.echo(
                text if text is not None else "\n".join(f"{k}: {v}" for k, v in data.items())
            )


def actor() -> str:
    """Who is acting, for the audit trail: the operator at this terminal."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"operator:{user}@{socket.gethostname()}"


class DelegatoGroup(click.Group):
    """Turns CAError into one clear stderr line and a non-zero exit; nothing else leaks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CAError as exc:
            click.echo(f"delegato: error: {exc}", err=True)
            for sub in exc.subproblems[:20]:
                where = f"{sub.field}: " if sub.field else ""
                value = f" ({sub.value})" if sub.value else ""
                click.echo(f"  - {where}{sub.detail}{value}", err=True)
            ctx.exit(2 if exc.kind is ErrorKind.MALFORMED else 1)
        finally:
            obj = ctx.find_object(CLIContext)
            if obj is not None:
                obj.close()


def json_option(func: F) -> F:
    """``--json`` on every command (as well as on the group)."""

    def _set(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(CLIContext).as_json = True

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=_set,
        is_eager=True,
        help="Print machine-readable JSON.",
    )(func)


pass_cli: Callable[[Callable[..., Any]], Callable[..., Any]] = click.make_pass_decorator(CLIContext)
