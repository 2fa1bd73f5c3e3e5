"""The benchmark suite on several runtimes (--bench-runtimes): each Spark benchmark is
parametrised by runtime, the default runtime's keep their names (the stored baselines
match them), another runtime's carry its label and run after the default's, start-ups
first; `harness report` shows each runtime's series apart. Collection and synthetic
results only; nothing is started."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.conftest import SparkCase, spark_cases
from harness.bench import report_analysis, results
from harness.cli import app

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = ["spark-local", "spark-cluster", "spark-emr"]


def collect(*options: str) -> subprocess.CompletedProcess:
    """The suite's node ids as pytest collects them with these options (nothing runs)."""
    return subprocess.run([sys.executable, "-m", "pytest", "benchmarks/test_suite.py",
                           "--collect-only", "-q", "-p", "no:cacheprovider", *options],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def ids(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line.split("::", 1)[1] for line in proc.stdout.splitlines() if "::" in line]


def test_each_platform_on_each_runtime_with_the_default_runtime_named_as_before():
    cases = spark_cases(PLATFORMS, [None, "emr-7.12.0"])
    assert [c.id for c in cases] == [
        "spark-local", "spark-cluster", "spark-emr",
        # spark-emr's job flow runs emr-7.12.0 already: the same benchmark, run once
        "spark-local@emr-7.12.0", "spark-cluster@emr-7.12.0"]
    assert [c.id for c in spark_cases(PLATFORMS, [None, "emr-7.11.0"])][3:] == [
        "spark-local@emr-7.11.0", "spark-cluster@emr-7.11.0", "spark-emr@emr-7.11.0"]
    # a release alone: local[*] and the cluster on it, spark-emr the default's job flow
    assert [c.id for c in spark_cases(PLATFORMS, ["emr-7.12.0"])] == [
        "spark-local@emr-7.12.0", "spark-cluster@emr-7.12.0", "spark-emr"]
    # the plugin's --harness-release-label is the default runtime: named again, it is that
    assert spark_cases(PLATFORMS, [None, "emr-7.12.0"], default_label="emr-7.12.0") == [
        SparkCase(p) for p in PLATFORMS]
    assert [c.id for c in spark_cases(["spark-emr"], [None, "emr-7.12.0"],
                                      default_label="emr-7.11.0")] == [
        "spark-emr", "spark-emr@emr-7.12.0"]


def test_the_suite_collects_the_default_runtime_first_under_its_stored_names():
    default = ids(collect("--bench-sizes=10000"))
    both = ids(collect("--bench-sizes=10000", "--bench-runtimes", "default,emr-7.12.0"))
    # the default runtime's benchmarks: the same names, in the same order, first
    assert both[:len(default)] == default
    assert both[len(default):] == [
        "test_spark_startup[spark-cluster@emr-7.12.0]",
        "test_spark[spark-local@emr-7.12.0-10000]",
        "test_spark[spark-cluster@emr-7.12.0-10000]"]
    # the stored baseline's Spark benchmarks (recorded with both runtimes) are all still
    # there under their names, the default runtime's among the default's
    stored = json.loads((ROOT / "benchmarks/baselines/cascade-2core/run1.json").read_text())
    spark = {b["name"] for b in stored["benchmarks"] if "spark" in b["name"]
             and not b["name"].endswith(("-100000]", "-400000]"))}
    assert spark and spark <= set(both)
    assert {n for n in spark if "@" not in n} <= set(default)
    assert any("@emr-7.12.0" in n for n in spark)


def test_a_runtimes_benchmark_can_be_selected_by_its_node_id_as_the_gate_reruns_it():
    node = "benchmarks/test_suite.py::test_spark[spark-local@emr-7.12.0-10000]"
    proc = subprocess.run([sys.executable, "-m", "pytest", node, "--collect-only", "-q",
                           "-p", "no:cacheprovider", "--bench-sizes=10000",
                           "--bench-runtimes=default,emr-7.12.0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ids(proc) == ["test_spark[spark-local@emr-7.12.0-10000]"]


@pytest.mark.parametrize(("runtimes", "message"), [
    ("emr-7.99.0", "not in the harness's runtime catalog"),
    ("emr-6.10.0", "which the harness cannot run"),
    ("embedded", "is not a release"),
    (",", "name at least one runtime"),
])
def test_a_runtime_the_suite_cannot_run_is_a_usage_error_naming_it(runtimes, message):
    proc = collect("--bench-sizes=10000", f"--bench-runtimes={runtimes}")
    assert proc.returncode != 0
    assert "--bench-runtimes" in proc.stdout + proc.stderr
    assert message in proc.stdout + proc.stderr


def _spark(variant, rows, seconds, runtime=None, measure="total", **extra):
    label = "default" if runtime is None else runtime
    spark = "4.3.0" if runtime is None and variant != "spark-emr" else "3.5.6"
    name = f"{variant}{'' if runtime is None else '@' + runtime}"
    return {"name": f"test_spark[{name}-{rows}]",
            "fullname": f"benchmarks/test_suite.py::test_spark[{name}-{rows}]",
            "stats": {"median": seconds},
            "extra_info": {"workload": "cascade", "variant": variant, "rows": rows,
                           "measure": measure, "seconds": seconds, "output_equal": True,
                           "bench_runtime": label, "backend": "process",
                           "runtime": {"label": runtime or (
                               "emr-7.12.0" if variant == "spark-emr" else "embedded"),
                               "spark": spark,
                                       "describe": f"Spark {spark} / Scala 2.12"},
                           **extra}}


def _two_runtimes(tmp_path):
    benchmarks = [{"name": f"test_vectorised[{n}]", "fullname": f"v{n}", "stats": {},
                   "extra_info": {"workload": "cascade", "variant": "vectorised",
                                  "rows": n, "measure": "total", "seconds": 1e-5 * n}}
                  for n in (10_000, 400_000)]
    for runtime, slower in ((None, 1.0), ("emr-7.12.0", 1.2)):
        for n in (10_000, 400_000):
            benchmarks.append(_spark("spark-local", n, slower * (8 + 1e-5 * n), runtime,
                                     startup_s=6.0 * slower, job_s=slower * (2 + 1e-5 * n),
                                     phases={"driver start": 3.0 * slower, "compute": 1.0}))
            benchmarks.append(_spark("spark-cluster", n, slower * (12 + 2e-6 * n), runtime,
                                     job_s=slower * (1 + 2e-6 * n)))
    benchmarks.append(_spark("spark-emr", 10_000, 30.0, job_s=10.0))
    path = tmp_path / "run.json"
    path.write_text(json.dumps({
        "machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}},
        "benchmarks": benchmarks,
        "suite": {"runtime": {"label": "embedded", "describe": "Spark 4.3.0 / Scala 2.13"},
                  "runtimes": {"default": {"describe": "Spark 4.3.0 / Scala 2.13"},
                               "emr-7.12.0": {"describe": "Spark 3.5.6 / Scala 2.12"}}}}))
    return path


def test_the_report_shows_each_runtimes_series_apart(tmp_path):
    path = _two_runtimes(tmp_path)
    report = report_analysis.build(results.load([path]))
    (w,) = report.workloads
    assert w.series == ["vectorised", "spark-local", "spark-local@emr-7.12.0",
                        "spark-cluster", "spark-cluster@emr-7.12.0", "spark-emr"]
    assert w.variants["spark-local@emr-7.12.0"] == "spark-local"
    seconds = {(r.series, r.rows): r.seconds for r in w.rows if not r.projected}
    assert seconds[("spark-local", 400_000)] == pytest.approx(12.0)
    assert seconds[("spark-local@emr-7.12.0", 400_000)] == pytest.approx(14.4)
    assert w.runtimes["spark-local"] == "embedded: Spark 4.3.0 / Scala 2.12"
    assert w.runtimes["spark-cluster@emr-7.12.0"] == "emr-7.12.0: Spark 3.5.6 / Scala 2.12"
    assert w.runtimes["spark-emr"] == "emr-7.12.0: Spark 3.5.6 / Scala 2.12"
    # the phases' stacked bars and the start-up/job split name the runtime too
    assert {e["variant"] for e in w.phases} == {"spark-local", "spark-local@emr-7.12.0"}
    assert {e["variant"] for e in w.startup_job} >= {"spark-local@emr-7.12.0",
                                                     "spark-cluster@emr-7.12.0"}
    # the cluster is held against local[*] of its own runtime
    pairs = {(c.challenger, c.incumbent) for c in w.crossovers}
    assert ("spark-cluster", "spark-local") in pairs
    assert ("spark-cluster@emr-7.12.0", "spark-local@emr-7.12.0") in pairs
    assert ("spark-cluster@emr-7.12.0", "spark-local") not in pairs
    assert report.runs[0].machine["runtime"] == (
        "default: Spark 4.3.0 / Scala 2.13; emr-7.12.0: Spark 3.5.6 / Scala 2.12")


def test_the_report_page_and_json_name_the_runtimes(tmp_path):
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", "--json", str(_two_runtimes(tmp_path)),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert "<td>spark-local@emr-7.12.0</td>" in page
    assert "<td>emr-7.12.0: Spark 3.5.6 / Scala 2.12</td>" in page
    assert "emr-7.12.0: Spark 3.5.6 / Scala 2.12" in page.split("Runs and machine")[1]
    data = json.loads((out / "report.json").read_text())["workloads"]["cascade"]
    assert {r["variant"] for r in data["table"]} >= {"spark-local", "spark-local@emr-7.12.0"}
    assert data["spark_runtimes"]["spark-local@emr-7.12.0"].startswith("emr-7.12.0: Spark 3.5.6")
    assert (out / "phases.png").read_bytes()[:4] == b"\x89PNG"


def test_runs_without_runtimes_read_as_before(tmp_path):
    """A suite run recorded before --bench-runtimes: no bench_runtime, one series each."""
    path = _two_runtimes(tmp_path)
    data = json.loads(path.read_text())
    for b in data["benchmarks"]:
        b["extra_info"].pop("bench_runtime", None)
    path.write_text(json.dumps(data))
    (w,) = report_analysis.build(results.load([path])).workloads
    assert "spark-local@emr-7.12.0" not in w.series and "spark-local" in w.series
