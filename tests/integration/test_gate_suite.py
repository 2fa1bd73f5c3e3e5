"""The gate on real suite runs: an unchanged tree passes; a deliberately slowed variant and
a deliberately changed output each fail, naming the benchmark. The changed variants are
user workloads wrapping the built-in cascade, the way a regression would come in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

CHANGES = '''
import dataclasses
import time

from harness.workloads import get_workload

CASCADE = get_workload("cascade")


def slow_batched(ctx):
    """The batched legacy job, four times slower."""
    started = time.perf_counter()
    result = CASCADE.legacy["batched"].run(ctx)
    time.sleep(3 * (time.perf_counter() - started))
    return result


def shifted_vectorised(tables):
    """The vectorised job with one value of its first output off by one."""
    outputs = CASCADE.vectorised(tables)
    first = CASCADE.outputs[0].name
    frame = outputs[first].copy()
    column = frame.select_dtypes("float").columns[0]
    frame.loc[frame.index[0], column] += 1.0
    return {**outputs, first: frame}


SLOW = dataclasses.replace(CASCADE, legacy={
    **CASCADE.legacy, "batched": dataclasses.replace(CASCADE.legacy["batched"],
                                                     run=slow_batched)})
CHANGED = dataclasses.replace(CASCADE, vectorised=shifted_vectorised)
'''


def suite(tmp_path: Path, name: str, workload: str = "cascade") -> tuple[Path, int]:
    out = tmp_path / f"{name}.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks/test_suite.py", "-q",
         "-p", "no:cacheprovider", "--bench-sizes=2000", "--bench-variants=batched,vectorised",
         f"--bench-workload={workload}", "--benchmark-json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    return out, proc.returncode


def gate(baseline: Path, current: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "gate", "--baseline", str(baseline),
         "--current", str(current), "--threshold", "30"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        # a re-run imports the user workload the run was made with, as the suite did
        env={**os.environ, "PYTHONPATH": str(current.parent)})


def test_gate_passes_unchanged_and_fails_slowed_or_changed(tmp_path):
    (tmp_path / "changes.py").write_text(CHANGES)
    # the baseline is three runs, as in benchmarks/baselines/: one run alone understates
    # this machine's noise (batched at 2,000 rows once came out 47% slow, re-run included)
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    for run in range(3):
        _, code = suite(tmp_path, f"baseline/run{run}")
        assert code == 0
    unchanged, code = suite(tmp_path, "unchanged")
    assert code == 0
    passed = gate(baseline, unchanged)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "gate passed" in passed.stdout

    slowed, code = suite(tmp_path, "slowed", "changes:SLOW")
    assert code == 0  # slower, but its output is still right
    failed = gate(baseline, slowed)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "re-running benchmarks/test_suite.py::test_legacy[batched-2000]" in failed.stdout
    assert any(ln.startswith("regressed       benchmarks/test_suite.py::test_legacy[batched-2000]")
               and "after a re-run" in ln for ln in failed.stdout.splitlines())
    assert "gate failed" in failed.stderr and "test_legacy[batched-2000]" in failed.stderr
    assert "ok              benchmarks/test_suite.py::test_vectorised[2000]" in failed.stdout

    changed, code = suite(tmp_path, "changed", "changes:CHANGED")
    assert code == 1  # the suite itself fails: batched no longer equals the reference
    failed = gate(baseline, changed)
    assert failed.returncode == 1
    lines = failed.stdout.splitlines()
    assert any(ln.startswith("output-changed  benchmarks/test_suite.py::test_vectorised[2000]")
               and "fingerprint" in ln for ln in lines), failed.stdout
    assert any(ln.startswith("output-changed  benchmarks/test_suite.py::test_legacy[batched")
               for ln in lines), failed.stdout
