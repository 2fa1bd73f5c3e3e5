"""The gate on real suite runs, asserted where it is not a timing question: a run compared
with itself passes; the faults it must catch fail it, naming the benchmark: a missing
benchmark, one without its figure, a renamed suite, a changed output and a variant four
times slower (re-run included). The changed variants are user workloads wrapping the
built-in cascade, the way a regression would come in. No assertion needs two runs to agree
in time (that is the flake rate's business: scripts/ci-gate-flake-rate)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import procs

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
    proc = procs.run(
        [sys.executable, "-m", "pytest", "benchmarks/test_suite.py", "-q",
         "-p", "no:cacheprovider", "--bench-sizes=2000", "--bench-variants=batched,vectorised",
         f"--bench-workload={workload}", "--benchmark-json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    return out, proc.returncode


def gate(baseline: Path, current: Path, *args: str) -> subprocess.CompletedProcess:
    return procs.run(
        [sys.executable, "-m", "harness.cli", "gate", "--baseline", str(baseline),
         "--current", str(current), "--threshold", "30", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        # a re-run imports the user workload the run was made with, as the suite did
        env={**os.environ, "PYTHONPATH": str(current.parent)})


def edited(source: Path, target: Path, edit) -> Path:  # noqa: ANN001
    data = json.loads(source.read_text())
    edit(data)
    target.write_text(json.dumps(data))
    return target


BATCHED = "benchmarks/test_suite.py::test_legacy[batched-2000]"
VECTORISED = "benchmarks/test_suite.py::test_vectorised[2000]"


def test_gate_passes_a_run_against_itself_and_fails_every_injected_fault(tmp_path):
    (tmp_path / "changes.py").write_text(CHANGES)
    run, code = suite(tmp_path, "run")
    assert code == 0
    data = json.loads(run.read_text())
    assert data["suite"]["reference"] == "benchmarks/test_suite.py::test_reference_computation"
    assert all(b["extra_info"].get("seconds") is not None for b in data["benchmarks"])
    assert all(b["extra_info"].get("paired_reference_s") for b in data["benchmarks"]
               if b["name"] != "test_reference_computation")
    passed = gate(run, run)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "gate passed" in passed.stdout and "2 benchmarks judged" in passed.stdout

    def drop_vectorised(d):
        d["benchmarks"] = [b for b in d["benchmarks"] if b["fullname"] != VECTORISED]

    missing = gate(run, edited(run, tmp_path / "missing.json", drop_vectorised))
    assert missing.returncode == 1
    assert f"missing         {VECTORISED}" in missing.stdout

    def no_figure(d):
        next(b for b in d["benchmarks"] if b["fullname"] == BATCHED)["extra_info"].pop("seconds")

    unmeasured = gate(run, edited(run, tmp_path / "nofigure.json", no_figure))
    assert unmeasured.returncode == 1
    assert f"no-figure       {BATCHED}: recorded no measured time" in unmeasured.stdout

    def rename(d):
        for b in d["benchmarks"]:
            b["fullname"] = b["fullname"].replace("test_suite.py", "test_renamed.py")
        d["suite"]["reference"] = d["suite"]["reference"].replace("test_suite", "test_renamed")

    renamed = gate(run, edited(run, tmp_path / "renamed.json", rename), "--allow-new")
    assert renamed.returncode == 1 and "renamed suite" in renamed.stdout

    changed, code = suite(tmp_path, "changed", "changes:CHANGED")
    assert code == 1  # the suite itself fails: a variant's output no longer verifies
    failed = gate(run, changed)
    assert failed.returncode == 1
    # caught by its fingerprint against the baseline, or by the reference in its run
    assert any(ln.startswith(f"output-changed  {VECTORISED}")
               for ln in failed.stdout.splitlines()), failed.stdout

    slowed, code = suite(tmp_path, "slowed", "changes:SLOW")
    assert code == 0  # slower, but its output is still right
    failed = gate(run, slowed)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"re-running {BATCHED}" in failed.stdout
    assert any(ln.startswith(f"regressed       {BATCHED}") and "after a re-run" in ln
               for ln in failed.stdout.splitlines()), failed.stdout
    assert "gate failed" in failed.stderr and "test_legacy[batched-2000]" in failed.stderr
