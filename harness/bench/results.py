"""Benchmark results read back from JSON: pytest-benchmark's `--benchmark-json` files (the
suite in benchmarks/ records what each figure is in `extra_info`) and `harness bench --json`
files, both turned into one list of samples with the machine and commit they came from."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UsageError

LEGACY = ("per-row", "batched", "async")
SPARK = ("spark-local", "spark-cluster", "spark-emr")
REFERENCE = "reference"  # a fixed computation timed only to normalise the gate's ratios
VARIANTS = (*LEGACY, "vectorised", *SPARK)
MEASURES = ("total", "startup", "job")

_REMEDY = ("pass files written by pytest benchmarks --benchmark-json FILE "
           "(or by harness bench --json FILE)")


@dataclass(frozen=True)
class Sample:
    """One timed figure: `seconds` for `rows` rows of `workload` by `variant`, as `measure`
    (total, startup or job); projected figures say from how many rows (`sample_rows`)."""

    workload: str
    variant: str
    rows: int
    measure: str
    seconds: float
    projected: bool = False
    output_equal: bool = True
    sample_rows: int | None = None
    profile: str | None = None  # latency profile of the legacy database
    backend: str | None = None
    # a start-up measured once for every size (a cluster's cold start), not in `total`
    startup_shared: bool = False
    name: str = ""
    source: str = ""

    @property
    def is_spark(self) -> bool:
        return self.variant in SPARK or self.variant.startswith("spark")


@dataclass
class RunInfo:
    """Where and when one input file's figures were taken."""

    source: str
    format: str  # pytest-benchmark | harness bench
    datetime: str | None = None
    commit: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)

    def machine_label(self) -> str:
        m = self.machine
        parts = [f"{m['cores']} cores" if m.get("cores") else None,
                 f"{m['memory_gib']} GiB" if m.get("memory_gib") else None, m.get("cpu")]
        return ", ".join(p for p in parts if p) or "machine not recorded"


@dataclass
class Results:
    samples: list[Sample]
    runs: list[RunInfo]
    warnings: list[str] = field(default_factory=list)

    @property
    def workloads(self) -> list[str]:
        return sorted({s.workload for s in self.samples})


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"the results file {path} does not exist", _REMEDY) from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a results file", _REMEDY) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"the results file {path} is not JSON ({exc})", _REMEDY) from None
    except OSError as exc:
        raise UsageError(f"cannot read the results file {path}: {exc}", _REMEDY) from None


def load(paths: list[Path]) -> Results:
    """Every suite sample in the given files; a one-line UsageError for a file that is not
    benchmark output, or when no file carries any figure a report can use."""
    if not paths:
        raise UsageError("no results file given", "pass --json FILE (repeat for several)")
    samples: list[Sample] = []
    runs: list[RunInfo] = []
    warnings: list[str] = []
    for path in paths:
        data = _read(path)
        if isinstance(data, dict) and isinstance(data.get("benchmarks"), list):
            run = RunInfo(str(path), "pytest-benchmark")
            found = _from_pytest_benchmark(data, path, warnings)
            _pytest_benchmark_info(data, run)
        elif isinstance(data, dict) and isinstance(data.get("results"), list) and \
                "workload" in data:
            run, found = RunInfo(str(path), "harness bench"), _from_bench(data, path)
            _bench_info(data, run)
        else:
            raise UsageError(f"{path} is neither pytest-benchmark output nor harness bench "
                             "output (no 'benchmarks' list)", _REMEDY)
        if not found:
            warnings.append(f"{path}: no benchmark carries extra_info workload, variant, rows "
                            "and seconds; nothing from it is reported")
        samples.extend(found)
        runs.append(run)
    if not samples:
        names = ", ".join(str(p) for p in paths)
        raise UsageError(
            f"no benchmark in {names} carries the extra_info a report needs "
            "(workload, variant, rows, measure, seconds)",
            "run the suite in benchmarks/, which records them, with --benchmark-json FILE")
    return Results(samples, runs, warnings)


# -- pytest-benchmark -----------------------------------------------------------------------

def _positive_int(value: Any, what: str, name: str, path: Path, zero: bool = False) -> int:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and \
        float(value).is_integer() and (value >= 0 if zero else value > 0)
    if not ok:
        raise UsageError(f"{path}: benchmark {name}: extra_info {what} is {value!r}, not a "
                         "positive whole number", "fix the suite that wrote it")
    return int(value)


def _seconds(value: Any, name: str, path: Path) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value) and value >= 0
    if not ok:
        raise UsageError(f"{path}: benchmark {name}: extra_info seconds is {value!r}, not a "
                         "number of seconds", "fix the suite that wrote it")
    return float(value)


def _from_pytest_benchmark(data: dict, path: Path, warnings: list[str]) -> list[Sample]:
    samples = []
    for bench in data["benchmarks"]:
        info = bench.get("extra_info") or {}
        name = bench.get("fullname") or bench.get("name") or "?"
        if not {"workload", "variant", "rows"} <= info.keys():
            continue
        variant = str(info["variant"])
        if variant == REFERENCE:
            continue
        measure = str(info.get("measure", "total"))
        if measure not in MEASURES:
            raise UsageError(f"{path}: benchmark {name}: extra_info measure is {measure!r}",
                             f"use one of {', '.join(MEASURES)}")
        projected = bool(info.get("projected", False))
        equal = info.get("output_equal", True) is not False
        seconds = info.get("seconds")
        if "seconds" not in info and measure == "total" and not projected:
            seconds = (bench.get("stats") or {}).get("median")  # older suites: the median
        if seconds is None and equal:
            warnings.append(f"{path}: benchmark {name} recorded no seconds; left out")
            continue
        rows = _positive_int(info["rows"], "rows", name, path, zero=measure == "startup")
        sample_rows = info.get("sample_rows")
        samples.append(Sample(
            workload=str(info["workload"]), variant=variant, rows=rows, measure=measure,
            # a figure whose output differs is withheld: its seconds may be missing
            seconds=math.nan if seconds is None else _seconds(seconds, name, path),
            projected=projected, output_equal=equal,
            sample_rows=_positive_int(sample_rows, "sample_rows", name, path)
            if sample_rows is not None else None,
            profile=info.get("profile"), backend=info.get("backend"),
            # runs before the flag: the cluster's and the job flow's start-ups were shared
            startup_shared=bool(info.get("startup_shared", measure == "startup" and
                                         variant in ("spark-cluster", "spark-emr"))),
            name=name,
            source=str(path)))
    return samples


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "")), None)


def _pytest_benchmark_info(data: dict, run: RunInfo) -> None:
    info = data.get("machine_info") or {}
    cpu = info.get("cpu") or {}
    extra: dict[str, Any] = {}
    for bench in data["benchmarks"]:  # the suite's own machine record, where it gave one
        extra = {**((bench.get("extra_info") or {}).get("machine") or {}), **extra}
    run.datetime = data.get("datetime")
    commit = data.get("commit_info") or {}
    run.commit = {k: commit.get(k) for k in ("id", "branch", "dirty", "time") if k in commit}
    run.machine = {
        "cores": _first(extra.get("cores"), cpu.get("count")),
        "memory_gib": extra.get("memory_gib"),
        "cpu": _first(cpu.get("brand_raw"), info.get("processor")),
        "python": _first(info.get("python_version"), extra.get("python")),
        "java": extra.get("java"),
        "spark": extra.get("spark"),
        "pyspark": _first(extra.get("pyspark"), extra.get("spark")),
        "platform": _first(extra.get("platform"),
                           " ".join(str(info[k]) for k in ("system", "release") if info.get(k))),
        "pytest-benchmark": data.get("version"),
    }


# -- harness bench --json ---------------------------------------------------------------------

def _from_bench(data: dict, path: Path) -> list[Sample]:
    workload = str(data["workload"])
    samples = []
    for r in data["results"]:
        variant = r.get("variant")
        rows = r.get("rows_full") or (data.get("fixture") or {}).get("rows") or r.get("rows_in")
        if not variant or not rows:
            continue
        details = r.get("details") or {}
        if variant == "spark":
            master = str(details.get("master") or "local")
            variant = "spark-local" if master.startswith("local") else "spark-cluster"
        equal = r.get("output_equal", True) is not False
        seconds = r.get("seconds")
        if seconds is None:
            seconds = r.get("measured_seconds")
        if seconds is None:
            continue
        common = dict(workload=workload, variant=variant, rows=int(rows), output_equal=equal,
                      profile=r.get("profile") if variant in LEGACY else None,
                      name=f"{workload}/{variant}", source=str(path))
        projected = bool(r.get("projected"))
        samples.append(Sample(measure="total", seconds=float(seconds), projected=projected,
                              sample_rows=r.get("measured_rows") if projected else None,
                              **common))
        for key, measure in (("session_start_s", "startup"), ("job_s", "job")):
            if details.get(key) is not None:
                samples.append(Sample(measure=measure, seconds=float(details[key]), **common))
    return samples


def _bench_info(data: dict, run: RunInfo) -> None:
    m = data.get("machine") or {}
    run.datetime = data.get("created")
    run.commit = {"id": m["commit"]} if m.get("commit") else {}
    run.machine = {"cores": m.get("cores"), "memory_gib": m.get("memory_gib"), "cpu": None,
                   "python": m.get("python"), "java": m.get("java"), "spark": m.get("spark"),
                   "pyspark": _first(m.get("pyspark"), m.get("spark")),
                   "platform": m.get("platform")}
