"""Benchmark results read back from JSON, the one reader of each format:

- pytest-benchmark's `--benchmark-json` files, as the suite in benchmarks/ writes them
  (`read_suite`: every entry with its `extra_info`, the machine, the commit and the suite's
  own record of how it ran and which benchmark is the reference), read by `harness gate`;
- `harness bench --json` files (`read_bench`), read by `harness plan`;

and both turned into one list of samples with the machine and commit they came from
(`load`), read by `harness report`.

Which variants are a workload's legacy ones, and which of those speed-ups are against (its
baseline), is read from the files: the bench JSON records `baseline` and each result's
`legacy`, the suite each legacy benchmark's `legacy` and `baseline` in its extra_info.
Files written before they were recorded are read as they were meant: every variant that is
not one of the harness's own (vectorised, the Spark ones) was legacy, and the baseline was
the one named "per-row" (what their speed-ups were against).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UsageError

SPARK = ("spark-local", "spark-cluster", "spark-emr")
# the suite's name for its default runtime (benchmarks/conftest.py, --bench-runtimes)
DEFAULT_RUNTIME = "default"
VECTORISED = "vectorised"
REFERENCE = "reference"  # a fixed computation timed only to normalise the gate's figures
# the harness's own variants, in report order after the legacy ones (a workload's own)
OWN_VARIANTS = (VECTORISED, "spark", *SPARK)
# the baseline of files written before the baseline was recorded (it was always this one)
_UNRECORDED_BASELINE = "per-row"
MEASURES = ("total", "startup", "job")

_REMEDY = ("pass files written by pytest benchmarks --benchmark-json FILE "
           "(or by harness bench --json FILE)")


class ResultsError(UsageError):
    """A results file is missing, not JSON, or not the format it is read as."""


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
    legacy: bool = False  # one of the workload's legacy variants
    # a start-up measured once for every size (a cluster's cold start), not in `total`
    startup_shared: bool = False
    name: str = ""
    source: str = ""
    # a Spark total's phases (harness.phases) as (name, seconds) pairs, in run order
    phases: tuple[tuple[str, float], ...] = ()
    # the release runtime a Spark figure ran on where it is not the run's default one (the
    # suite's --bench-runtimes label): the report shows it apart, as PLATFORM@LABEL
    runtime: str | None = None
    runtime_describe: str | None = None  # "Spark 3.5.6 / Scala 2.12 / ...", where recorded


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
    baselines: dict[str, str] = field(default_factory=dict)  # workload: its baseline variant

    @property
    def workloads(self) -> list[str]:
        return sorted({s.workload for s in self.samples})


def _read(path: Path, role: str = "results", remedy: str = _REMEDY) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"the {role} file {path} does not exist", remedy) from None
    except IsADirectoryError:
        raise ResultsError(f"{path} is a directory, not a {role} file", remedy) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"the {role} file {path} is not JSON ({exc})", remedy) from None
    except OSError as exc:
        raise ResultsError(f"cannot read the {role} file {path}: {exc}", remedy) from None


def _is_suite(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("benchmarks"), list)


def _is_bench(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("results"), list)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)


# -- pytest-benchmark: the suite's runs -------------------------------------------------------

@dataclass(frozen=True)
class Benchmark:
    """One pytest-benchmark entry: its node id, the suite's `extra_info` and pytest-benchmark's
    own `stats` (which the project's tools never read as a figure: `seconds` is the figure)."""

    name: str  # the node id (pytest-benchmark's fullname)
    short_name: str
    info: dict[str, Any]
    stats: dict[str, Any]
    source: str

    def _seconds_field(self, key: str) -> float | None:
        value = self.info.get(key)
        if value is None:
            return None
        if not _number(value) or value < 0:
            raise ResultsError(f"{self.source}: benchmark {self.name}: extra_info {key} is "
                               f"{value!r}, not a number of seconds",
                               "fix the suite that wrote it")
        return float(value)

    @property
    def seconds(self) -> float | None:
        """The suite's own figure (extra_info.seconds); None when it recorded none."""
        return self._seconds_field("seconds")

    @property
    def paired_reference_s(self) -> float | None:
        """The short fixed computation timed right before this benchmark (its paired
        reference), where the suite recorded one."""
        return self._seconds_field("paired_reference_s")

    @property
    def output_equal(self) -> bool:
        return self.info.get("output_equal") is not False

    @property
    def output_digest(self) -> str | None:
        return self.info.get("output_digest")

    @property
    def variant(self) -> str | None:
        return self.info.get("variant")


@dataclass
class SuiteRun:
    """One pytest-benchmark JSON file."""

    path: Path
    benchmarks: list[Benchmark]
    machine_info: dict[str, Any] = field(default_factory=dict)
    commit_info: dict[str, Any] = field(default_factory=dict)
    datetime: str | None = None
    version: str | None = None
    # the suite's own record (benchmarks/conftest.py): rootdir, options, reference
    suite: dict[str, Any] | None = None

    @property
    def reference(self) -> str | None:
        """The reference benchmark the suite named in its record, if it named one."""
        return (self.suite or {}).get("reference")

    def find(self, name: str) -> Benchmark | None:
        """The benchmark with this node id, or this short name when only one has it."""
        exact = [b for b in self.benchmarks if b.name == name]
        short = [b for b in self.benchmarks if b.short_name == name]
        return exact[0] if exact else short[0] if len(short) == 1 else None

    def cpu_label(self) -> str:
        cpu = self.machine_info.get("cpu") or {}
        return f"{cpu.get('brand_raw', '?')} x{cpu.get('count', '?')}"


SUITE_REMEDY = "pass a file written by pytest benchmarks --benchmark-json FILE"


def _suite(data: dict, path: Path) -> SuiteRun:
    benchmarks = []
    for bench in data["benchmarks"]:
        if not isinstance(bench, dict):
            raise ResultsError(f"{path}: a benchmark entry is {bench!r}, not an object",
                               SUITE_REMEDY)
        short = str(bench.get("name") or bench.get("fullname") or "?")
        benchmarks.append(Benchmark(str(bench.get("fullname") or short), short,
                                    bench.get("extra_info") or {}, bench.get("stats") or {},
                                    str(path)))
    suite = data.get("suite")
    return SuiteRun(path, benchmarks, data.get("machine_info") or {},
                    data.get("commit_info") or {}, data.get("datetime"), data.get("version"),
                    suite if isinstance(suite, dict) else None)


def read_suite(path: Path, role: str = "results", remedy: str = SUITE_REMEDY) -> SuiteRun:
    """A pytest-benchmark JSON file; a one-line ResultsError naming `role` ("baseline",
    "current") when it is missing, not JSON or not pytest-benchmark output."""
    data = _read(path, role, remedy)
    if not _is_suite(data):
        raise ResultsError(f"the {role} file {path} is not pytest-benchmark output "
                           "(no 'benchmarks' list)", remedy)
    return _suite(data, path)


# -- harness bench --json ---------------------------------------------------------------------

@dataclass(frozen=True)
class BenchResult:
    """One variant's result in a `harness bench --json` file."""

    variant: str
    rows_in: int | None
    rows_full: int | None
    seconds: float | None
    measured_seconds: float | None
    measured_rows: int | None
    rows_per_s: float | None
    projected: bool
    output_equal: bool
    profile: str | None
    details: dict[str, Any]
    legacy: bool = False  # one of the workload's legacy variants
    speedup_vs_baseline: float | None = None


@dataclass
class BenchFile:
    """One `harness bench --json` file."""

    path: Path
    workload: str | None
    results: list[BenchResult]
    created: str | None = None
    machine: dict[str, Any] = field(default_factory=dict)
    fixture: dict[str, Any] = field(default_factory=dict)
    baseline: str | None = None  # the legacy variant speed-ups are against
    runtime: dict[str, Any] = field(default_factory=dict)  # the Spark variants' runtime

    def result(self, variant: str | None) -> BenchResult | None:
        """The first result of this variant (e.g. the baseline's), if the file has one."""
        return next((r for r in self.results if variant and r.variant == variant), None)


BENCH_REMEDY = "pass a file written by harness bench --json FILE"


def _bench(data: dict, path: Path) -> BenchFile:
    results = []
    for r in data["results"]:
        if not isinstance(r, dict) or not r.get("variant"):
            raise ResultsError(f"{path}: a result has no variant ({str(r)[:60]})",
                               BENCH_REMEDY)
        results.append(BenchResult(
            variant=str(r["variant"]), rows_in=r.get("rows_in"), rows_full=r.get("rows_full"),
            seconds=r.get("seconds"), measured_seconds=r.get("measured_seconds"),
            measured_rows=r.get("measured_rows"), rows_per_s=r.get("rows_per_s"),
            projected=bool(r.get("projected")), output_equal=r.get("output_equal", True)
            is not False, profile=r.get("profile"), details=r.get("details") or {},
            legacy=_is_legacy(r, str(r["variant"])),
            # files before the baseline was named called it speedup_vs_per_row
            speedup_vs_baseline=r.get("speedup_vs_baseline", r.get("speedup_vs_per_row"))))
    workload = data.get("workload")
    baseline = data.get("baseline") if "baseline" in data else \
        _unrecorded_baseline([r.variant for r in results if r.legacy])
    return BenchFile(path, str(workload) if workload else None, results, data.get("created"),
                     data.get("machine") or {}, data.get("fixture") or {},
                     str(baseline) if baseline else None, data.get("runtime") or {})


def _is_legacy(record: dict[str, Any], variant: str) -> bool:
    """Whether a result (or a benchmark's extra_info) is of a legacy variant: as recorded,
    else (files from before it was recorded) any variant not one of the harness's own."""
    if "legacy" in record:
        return bool(record["legacy"])
    return variant not in (*OWN_VARIANTS, REFERENCE)


def _unrecorded_baseline(legacy: list[str]) -> str | None:
    """The baseline of a file that recorded none but has legacy figures (written before it
    was recorded): per-row, as it then always was, whether or not per-row ran."""
    return _UNRECORDED_BASELINE if legacy else None


def read_bench(path: Path, role: str = "bench results", remedy: str = BENCH_REMEDY
               ) -> BenchFile:
    """A `harness bench --json` file; a one-line ResultsError when it is missing, not JSON
    or not bench output."""
    data = _read(path, role, remedy)
    if not _is_bench(data):
        raise ResultsError(f"the {role} file {path} is not harness bench output "
                           "(no 'results' list)", remedy)
    return _bench(data, path)


# -- the report's samples, from either format -------------------------------------------------

def load(paths: list[Path]) -> Results:
    """Every suite sample in the given files; a one-line UsageError for a file that is not
    benchmark output, or when no file carries any figure a report can use."""
    if not paths:
        raise UsageError("no results file given", "pass --json FILE (repeat for several)")
    samples: list[Sample] = []
    runs: list[RunInfo] = []
    warnings: list[str] = []
    baselines: dict[str, str] = {}
    for path in paths:
        data = _read(path)
        if _is_suite(data):
            suite = _suite(data, path)
            run, found = _suite_info(suite), _from_suite(suite, warnings)
            recorded = {str(b.info.get("workload")): str(b.info["baseline"])
                        for b in suite.benchmarks if b.info.get("baseline")}
        elif _is_bench(data) and data.get("workload"):
            bench = _bench(data, path)
            run, found = _bench_info(bench), _from_bench(bench)
            recorded = {str(bench.workload): bench.baseline} if bench.baseline else {}
        else:
            raise ResultsError(f"{path} is neither pytest-benchmark output nor harness bench "
                               "output (no 'benchmarks' list)", _REMEDY)
        if not found:
            warnings.append(f"{path}: no benchmark carries extra_info workload, variant, rows "
                            "and seconds; nothing from it is reported")
        for workload in dict.fromkeys(s.workload for s in found):
            baseline = recorded.get(workload) or _unrecorded_baseline(
                [s.variant for s in found if s.workload == workload and s.legacy])
            if baseline and baselines.setdefault(workload, baseline) != baseline:
                warnings.append(f"{path}: {workload}'s baseline is {baseline!r}, another "
                                f"file's {baselines[workload]!r}; speed-ups are against "
                                f"{baselines[workload]!r}")
        samples.extend(found)
        runs.append(run)
    if not samples:
        names = ", ".join(str(p) for p in paths)
        raise ResultsError(
            f"no benchmark in {names} carries the extra_info a report needs "
            "(workload, variant, rows, measure, seconds)",
            "run the suite in benchmarks/, which records them, with --benchmark-json FILE")
    return Results(samples, runs, warnings, baselines)


def _positive_int(value: Any, what: str, name: str, path: Path, zero: bool = False) -> int:
    ok = _number(value) and float(value).is_integer() and (value >= 0 if zero else value > 0)
    if not ok:
        raise ResultsError(f"{path}: benchmark {name}: extra_info {what} is {value!r}, not a "
                           "positive whole number", "fix the suite that wrote it")
    return int(value)


def _from_suite(run: SuiteRun, warnings: list[str]) -> list[Sample]:
    """The report's samples. A Spark benchmark is one (platform, size) and carries its
    start-up and job times in `startup_s` / `job_s`; a start-up measured once for all sizes
    (a cluster's cold start) is its own benchmark with `rows` 0. Runs recorded before that
    held start-up and job as benchmarks of their own (`measure` startup / job): read too."""
    samples = []
    path = run.path
    for bench in run.benchmarks:
        info, name = bench.info, bench.name
        if not {"workload", "variant", "rows"} <= info.keys():
            continue
        variant = str(info["variant"])
        if variant == REFERENCE:
            continue
        measure = str(info.get("measure", "total"))
        if measure not in MEASURES:
            raise ResultsError(f"{path}: benchmark {name}: extra_info measure is {measure!r}",
                               f"use one of {', '.join(MEASURES)}")
        projected = bool(info.get("projected", False))
        equal = bench.output_equal
        seconds = bench.seconds  # no figure, no sample: pytest-benchmark's stats never stand in
        if seconds is None and equal:
            warnings.append(f"{path}: benchmark {name} recorded no seconds; left out")
            continue
        rows = _positive_int(info["rows"], "rows", name, path, zero=measure == "startup")
        sample_rows = info.get("sample_rows")
        # runs before the flag: the cluster's and the job flow's start-ups were shared
        shared = bool(info.get("startup_shared", measure == "startup" and
                               variant in ("spark-cluster", "spark-emr")))
        bench_runtime = info.get("bench_runtime")
        common = dict(workload=str(info["workload"]), variant=variant, rows=rows,
                      output_equal=equal, profile=info.get("profile"),
                      backend=info.get("backend"), legacy=_is_legacy(info, variant),
                      name=name, source=str(path),
                      runtime=str(bench_runtime) if bench_runtime not in
                      (None, "", DEFAULT_RUNTIME) else None,
                      runtime_describe=_describe(info.get("runtime")))
        samples.append(Sample(
            measure=measure,
            # a figure whose output differs is withheld: its seconds may be missing
            seconds=math.nan if seconds is None else seconds, projected=projected,
            sample_rows=_positive_int(sample_rows, "sample_rows", name, path)
            if sample_rows is not None else None,
            startup_shared=shared and measure == "startup",
            phases=phase_pairs(info.get("phases")), **common))
        for key, part in (("startup_s", "startup"), ("job_s", "job")):
            if measure != "total" or key not in info:
                continue
            value = bench._seconds_field(key)
            if value is None:
                if equal:
                    warnings.append(f"{path}: benchmark {name} recorded no {key}; its {part} "
                                    "time is left out")
                continue
            samples.append(Sample(measure=part, seconds=value,
                                  startup_shared=part == "startup" and shared, **common))
    return samples


def _describe(runtime: Any) -> str | None:
    """A recorded runtime's one-line description (runtime_description's `describe`)."""
    if isinstance(runtime, dict) and runtime.get("describe"):
        label = runtime.get("label")
        described = str(runtime["describe"])
        return f"{label}: {described}" if label else described
    return None


def phase_pairs(phases: Any) -> tuple[tuple[str, float], ...]:
    """A run's recorded phases ({name: seconds}) as pairs; () when absent (runs before
    phases were recorded) or not a mapping of numbers."""
    if not isinstance(phases, dict):
        return ()
    return tuple((str(k), float(v)) for k, v in phases.items() if _number(v))


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "")), None)


def _suite_info(suite: SuiteRun) -> RunInfo:
    info, cpu = suite.machine_info, suite.machine_info.get("cpu") or {}
    extra: dict[str, Any] = {}
    for bench in suite.benchmarks:  # the suite's own machine record, where it gave one
        extra = {**(bench.info.get("machine") or {}), **extra}
    commit = suite.commit_info
    return RunInfo(str(suite.path), "pytest-benchmark", suite.datetime,
                   {k: commit.get(k) for k in ("id", "branch", "dirty", "time") if k in commit},
                   {"cores": _first(extra.get("cores"), cpu.get("count")),
                    "memory_gib": extra.get("memory_gib"),
                    "cpu": _first(cpu.get("brand_raw"), info.get("processor")),
                    "python": _first(info.get("python_version"), extra.get("python")),
                    "java": extra.get("java"),
                    "spark": extra.get("spark"),
                    "pyspark": _first(extra.get("pyspark"), extra.get("spark")),
                    "platform": _first(extra.get("platform"),
                                       " ".join(str(info[k]) for k in ("system", "release")
                                                if info.get(k))),
                    "pytest-benchmark": suite.version,
                    "runtime": _suite_runtimes(suite.suite or {})})


def _suite_runtimes(suite: dict[str, Any]) -> str | None:
    """The Spark variants' runtime(s) a suite ran: its default one, or each of
    --bench-runtimes by name when it ran several."""
    runtimes = suite.get("runtimes")
    if isinstance(runtimes, dict) and len(runtimes) > 1:
        return "; ".join(f"{name}: {(r or {}).get('describe', '?')}"
                         for name, r in runtimes.items())
    return (suite.get("runtime") or {}).get("describe")


def _from_bench(bench: BenchFile) -> list[Sample]:
    workload = str(bench.workload)
    samples = []
    for r in bench.results:
        variant = r.variant
        rows = r.rows_full or bench.fixture.get("rows") or r.rows_in
        if not rows:
            continue
        details = r.details
        if variant == "spark":
            master = str(details.get("master") or "local")
            variant = "spark-local" if master.startswith("local") else "spark-cluster"
        seconds = r.seconds if r.seconds is not None else r.measured_seconds
        if seconds is None:
            continue
        recorded = details.get("runtime") or bench.runtime
        common = dict(workload=workload, variant=variant, rows=int(rows),
                      output_equal=r.output_equal,
                      profile=r.profile if r.legacy else None, legacy=r.legacy,
                      name=f"{workload}/{variant}", source=str(bench.path),
                      runtime=_release_runtime(variant, bench.runtime) if variant in SPARK
                      else None,
                      runtime_describe=_describe(recorded) if variant in SPARK else None)
        samples.append(Sample(measure="total", seconds=float(seconds), projected=r.projected,
                              sample_rows=r.measured_rows if r.projected else None,
                              phases=phase_pairs(details.get("phases")), **common))
        for key, measure in (("session_start_s", "startup"), ("job_s", "job")):
            if details.get(key) is not None:
                samples.append(Sample(measure=measure, seconds=float(details[key]), **common))
    return samples


def _release_runtime(variant: str, runtime: dict[str, Any]) -> str | None:
    """A `harness bench --release-label` file's label, shown apart as the suite shows a
    runtime other than its default: not for the harness's own pyspark, nor for spark-emr on
    the release its job flows run anyway (JOB_FLOW_RELEASE)."""
    from harness.targets import JOB_FLOW_RELEASE

    label = runtime.get("label")
    if not label or label == "embedded" or (variant == "spark-emr" and
                                            label == JOB_FLOW_RELEASE):
        return None
    return str(label)


def _bench_info(bench: BenchFile) -> RunInfo:
    m = bench.machine
    return RunInfo(str(bench.path), "harness bench", bench.created,
                   {"id": m["commit"]} if m.get("commit") else {},
                   {"cores": m.get("cores"), "memory_gib": m.get("memory_gib"), "cpu": None,
                    "python": m.get("python"), "java": m.get("java"), "spark": m.get("spark"),
                    "pyspark": _first(m.get("pyspark"), m.get("spark")),
                    "platform": m.get("platform"),
                    "runtime": (bench.runtime or {}).get("describe")})
