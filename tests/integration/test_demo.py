"""`delegato demo` tells the whole story against a live `delegato serve`, on each database."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from tests.support import pgcluster
from tests.support.server import DELEGATO, free_ports, init_home, running_server


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_demo_completes_against_a_live_server(backend, request, tmp_path):
    if backend == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'delegato.db'}"
    else:
        cluster = request.getfixturevalue("postgres_cluster")
        database_url = pgcluster.create_database(cluster, f"demo_{uuid.uuid4().hex[:12]}")
    (port,) = free_ports(1)
    home = init_home(tmp_path / "home", database_url, f"http://127.0.0.1:{port}")
    with running_server(home, port=port) as server:
        done = subprocess.run(
            [DELEGATO, "--home", str(home.path), "demo", "--url", server.url, "--json"],
            env={**os.environ, **home.environment},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        story = json.loads(done.stdout)
        text = subprocess.run(
            [DELEGATO, "--home", str(home.path), "demo", "--url", server.url],
            env={**os.environ, **home.environment},
            capture_output=True,
            text=True,
            timeout=120,
        )
    titles = [step["title"] for step in story["steps"]]
    assert len(titles) == 8
    last = story["steps"][-1]
    assert last["certificate"].startswith("revoked") and last["subscription"] == "ended"
    assert story["steps"][6]["verstat"] == "TN-Validation-Passed"
    # A second run on the same server picks fresh numbers and tells the same story, step by step.
    assert text.returncode == 0, text.stderr
    assert "8. The campaign ends" in text.stdout and "The story is complete" in text.stdout
