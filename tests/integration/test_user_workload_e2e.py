"""The README's workload runs with one command, every variant (Spark included) equal."""

from __future__ import annotations

import json
import os
import sys

import pytest

from harness import procs
from tests.readme_example import write_example

pytestmark = pytest.mark.integration


def test_readme_workload_runs_with_one_command(tmp_path):
    write_example(tmp_path)
    proc = procs.run(
        [sys.executable, "-m", "harness.cli", "bench", "--workload", "store_revenue:WORKLOAD",
         "--rows", "20000", "--json", "out.json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600, check=False,
        env={**os.environ, "HARNESS_WORK_DIR": str(tmp_path / ".harness"),
             "HARNESS_FIXTURES_DIR": str(tmp_path / "fixtures")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((tmp_path / "out.json").read_text())["results"]
    assert [r["variant"] for r in results] == ["per-row", "vectorised", "spark"]
    assert all(r["output_equal"] for r in results)
