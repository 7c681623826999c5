"""Running `delegato` commands in tests as an operator types them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ca.cli import cli


def run(home: Path, *args: str, ok: bool = True) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.stderr or result.stdout
    return result.exit_code, result.stdout, result.stderr


def run_json(home: Path, *args: str) -> dict:
    _, out, _ = run(home, *args, "--json")
    assert out.count("\n") == 1, out  # one JSON line
    return json.loads(out)
