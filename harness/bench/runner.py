"""Side-by-side runs: every chosen variant on the same fixture, outputs proven equal to the
reference before any speed is reported.

The reference is the workload's independent implementation (the oracle, e.g. the cascade's
rules as SQL on DuckDB), never one of the variants; every variant, vectorised included, is
judged by it. A workload without one is judged by its vectorised implementation, and the
report says so: that variant is "reference", not "equal". Legacy variants run against a
fresh legacy database (dimensions loaded first, not timed); the row-at-a-time ones run on a
sample by default (the workload's tables cut as `Workload.cut` says) and are judged by the
reference computed on that same cut, their full-size time projected (and marked so). Spark
runs as a real spark-submit of the workload's job.
"""

from __future__ import annotations

import contextlib
import gc
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from harness.bench.equivalence import compare_outputs, digest
from harness.config import LatencyProfile
from harness.db import LegacyDatabase, sqlite_url
from harness.errors import FixtureError, UsageError, WorkloadError
from harness.spark import java_executable
from harness.targets import EmrStep, LocalSpark, Target, runtime_description, this_python

if TYPE_CHECKING:
    from harness.aws.endpoint import Endpoint
    from harness.runtimes import InstalledRuntime
from harness.workloads.base import VECTORISED, LegacyContext, Outputs, Tables, Workload
from harness.workloads.fixtures import Fixture

SPARK = "spark"
EMR_STEP = "spark-emr"  # the Spark job as a step on a job flow through the local EMR API
# A variant's verdict: equal to an independent reference, different, or (for the variant
# that is itself the reference, when the workload has no independent one) unjudged.
EQUAL, DIFFERS, IS_REFERENCE = "equal", "differs", "reference"


def variant_names(workload: Workload, emr_step: bool = False) -> list[str]:
    """The variants of a workload in report order, legacy ones first: what `all` runs, and
    with `emr_step` also spark-emr (it starts a job flow, so it runs only when named)."""
    return [*workload.legacy, VECTORISED, SPARK, *([EMR_STEP] if emr_step else [])]


class ProgressSink(Protocol):
    def begin(self, variant: str, total: int | None) -> None: ...
    def advance(self, n: int) -> None: ...
    def end(self, variant: str) -> None: ...


class NoProgress:
    def begin(self, variant: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def end(self, variant: str) -> None:
        pass


@dataclass
class BenchOptions:
    variants: list[str]
    profile: LatencyProfile
    work_dir: Path
    db_url: str | None = None
    sample: int | None = None  # None: the profile's default; 0: run everything in full
    spark_master: str = "local[*]"
    spark_conf: dict[str, str] = field(default_factory=dict)
    spark_cores: int | None = None  # executor cores available (default: this machine's)
    spark_driver_memory: str = "2g"
    java_home: Path | None = None
    async_concurrency: int = 8
    chunk_rows: int = 1_000
    storage: str = "local"  # or "s3": the Spark job reads and writes s3:// on the endpoint
    endpoint: Endpoint | None = None
    s3a_jars: list[Path] = field(default_factory=list)
    buckets: str = "harness"  # the Spark targets' buckets: harness-raw, harness-curated, ...
    # a Spark variant's target, owned by the caller (kept across runs); others are made
    # from the options above for one run
    targets: dict[str, Target] = field(default_factory=dict)
    # the Spark variants' runtime: a release label's (--release-label), else the harness's
    # own pyspark
    runtime: InstalledRuntime | None = None


@dataclass
class VariantResult:
    """One variant's figures. `seconds` and `rows_per_s` are for the whole fixture
    (`rows_full`): measured, or projected from `measured_rows` when `projected` is true.
    Both are None when the output did not match the reference. `verdict` is "equal",
    "differs", or "reference" for the variant that is itself the judge (a workload without
    an independent reference): nothing checked it, though `output_equal` stays true so
    readers that only know that field do not take it for a wrong variant."""

    variant: str
    profile: str
    rows_in: int
    rows_enriched: int
    rows_quarantined: int
    seconds: float | None
    rows_per_s: float | None
    projected: bool
    output_equal: bool
    rows_full: int
    measured_rows: int
    measured_seconds: float
    db_rtt_ms: float | None = None
    modelled_latency: bool = False
    setup_seconds: float | None = None
    round_trips: int | None = None
    speedup_vs_baseline: float | None = None  # rows/s over the baseline legacy variant's
    legacy: bool = False  # one of the workload's legacy variants
    mismatch: str | None = None
    output_digest: str | None = None  # see equivalence.digest: the gate's output check
    details: dict[str, Any] = field(default_factory=dict)
    verdict: str = EQUAL


@dataclass
class BenchReport:
    workload: str
    fixture: dict[str, Any]
    profile: dict[str, Any]
    database: str | None
    reference: str
    machine: dict[str, Any]
    results: list[VariantResult]
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                               time.gmtime()))
    reference_description: str = ""
    reference_independent: bool = True  # False: `reference` is one of the variants
    baseline: str | None = None  # the legacy variant speed-ups are against
    # what the Spark variants ran on: label, spark, scala, python, ansi, describe
    runtime: dict[str, Any] = field(default_factory=dict)

    @property
    def all_equal(self) -> bool:
        return all(r.output_equal for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "created": self.created,
            "machine": self.machine,
            "fixture": self.fixture,
            "profile": self.profile,
            "database": self.database,
            "reference": self.reference,
            "reference_description": self.reference_description,
            "reference_independent": self.reference_independent,
            "baseline": self.baseline,
            "runtime": self.runtime,
            "results": [asdict(r) for r in self.results],
        }


def _check_variants(workload: Workload, variants: list[str]) -> None:
    known = variant_names(workload, emr_step=True)
    unknown = [v for v in variants if v not in known]
    if unknown:
        raise UsageError(f"unknown variant(s): {', '.join(unknown)}",
                         f"choose from: {', '.join(known)}")
    if not variants:
        raise UsageError("no variants chosen", f"choose from: {', '.join(known)}")


class BenchRun:
    """One side-by-side benchmark of a workload on a fixture."""

    def __init__(self, workload: Workload, fixture: Fixture, options: BenchOptions,
                 progress: ProgressSink | None = None,
                 machine: Callable[[], dict] | None = None) -> None:
        workload.validate()
        _check_variants(workload, options.variants)
        if fixture.workload != workload.name:
            raise FixtureError(
                f"fixture {fixture.path} belongs to workload {fixture.workload!r}, "
                f"not {workload.name!r}",
                f"pass a fixture generated for {workload.name!r}",
            )
        self.workload = workload
        self.fixture = fixture
        self.options = options
        self.progress = progress or NoProgress()
        self._machine = machine
        self._tables: dict | None = None
        self._reference: Outputs | None = None  # the judge's outputs on the whole fixture
        # per sample size: the tables cut for it and the judge's outputs on them
        self._samples: dict[int, tuple[Tables, Outputs | None]] = {}
        self.options.work_dir.mkdir(parents=True, exist_ok=True)

    def preflight(self) -> None:
        """Fail fast, before anything is timed: the database answers, Java is there, the
        fixture's files are readable."""
        if any(v in self.workload.legacy for v in self.options.variants) and \
                self.options.db_url:
            db = LegacyDatabase(self.options.db_url)
            try:
                db.check_reachable()
            finally:
                db.dispose()
        if {SPARK, EMR_STEP} & set(self.options.variants):
            java_executable(self.options.java_home)
        self._tables = self.fixture.read_tables()  # every file readable, read once

    def _cut(self, tables: Tables, rows: int) -> Tables:
        """The tables a sample of `rows` fact rows sees (cut once per size)."""
        if rows not in self._samples:
            self._samples[rows] = (self.workload.cut(tables, rows), None)
        return self._samples[rows][0]

    def _expected(self, sample: int | None = None) -> Outputs:
        """The judge's outputs: on the whole fixture, or on the cut for a sample of that
        many rows; each computed once per run."""
        if sample is not None:
            cut, expected = self._samples[sample]
            if expected is None:
                expected = self.workload.reference_outputs(cut)
                self._samples[sample] = (cut, expected)
            return expected
        if self._reference is None:
            whole = self._tables if self._tables is not None else self.fixture.read_tables()
            self.progress.begin(self.workload.reference_name, None)
            self._reference = self.workload.reference_outputs(whole)
            self.progress.end(self.workload.reference_name)
        return self._reference

    def run(self) -> BenchReport:
        if self._tables is None:
            self.preflight()
        tables = self._tables
        self._expected()
        results: list[VariantResult] = []
        for name in variant_names(self.workload, emr_step=True):
            if name not in self.options.variants:
                continue
            if name in self.workload.legacy:
                result = self._run_legacy(name, tables)
            elif name == VECTORISED:
                result = self._run_vectorised()
            else:
                result = self._run_spark(name)
            outputs = result.pop("outputs")
            expected = self._expected(result.pop("sample", None))
            results.append(self._verify(name, result, outputs, expected))
        baseline = self.workload.baseline_variant
        base = next((r for r in results if r.variant == baseline and r.rows_per_s), None)
        for r in results:
            r.legacy = r.variant in self.workload.legacy
            if base and r.rows_per_s:
                r.speedup_vs_baseline = r.rows_per_s / base.rows_per_s
        from harness.bench.machine import machine_info

        return BenchReport(
            # local and cluster drivers run on this interpreter (EMR steps: the job flow's)
            runtime=runtime_description(self.options.runtime, this_python()),
            workload=self.workload.name,
            fixture={
                "path": str(self.fixture.path),
                "rows": self.fixture.rows,
                "seed": self.fixture.seed,
                "bad_share": self.fixture.manifest.get("bad_share"),
                "sha256": {name: t["files"]["parquet"]["sha256"]
                           for name, t in self.fixture.manifest["tables"].items()},
            },
            profile={
                "name": self.options.profile.name,
                "db_rtt_ms": self.options.profile.rtt_ms,
                "modelled": self.options.profile.rtt_ms > 0,
                "description": self.options.profile.description,
            },
            database=self._db_label(),
            reference=self.workload.reference_name,
            reference_description=(self.workload.reference.description
                                   if self.workload.reference is not None else
                                   "the vectorised variant (the workload gives no "
                                   "independent reference; nothing checks that variant)"),
            reference_independent=self.workload.independent_reference,
            baseline=baseline,
            machine=(self._machine or (lambda: machine_info(self.options.java_home)))(),
            results=results,
        )

    # -- variants -------------------------------------------------------------------------

    def _db_label(self) -> str | None:
        if not any(v in self.workload.legacy for v in self.options.variants):
            return None
        if self.options.db_url:
            return LegacyDatabase(self.options.db_url).display_url
        return "sqlite (embedded, one file per variant)"

    def _sample_size(self, name: str, total: int) -> int:
        impl = self.workload.legacy[name]
        sample = self.options.sample
        if sample is None:
            sample = self.options.profile.legacy_sample if impl.row_at_a_time else 0
        if sample < 0:
            raise UsageError(f"--sample must be >= 0, got {sample}", "pass 0 to run in full")
        return total if sample == 0 else min(sample, total)

    def _run_legacy(self, name: str, tables: dict) -> dict[str, Any]:
        fact = tables[self.workload.fact_table]
        n = self._sample_size(name, fact.num_rows)
        # A sample sees the workload's tables cut as it says, and so does its judge.
        sample = None if n == fact.num_rows else n
        cut = tables if sample is None else self._cut(tables, sample)
        rows = cut[self.workload.fact_table]
        n = rows.num_rows
        if self.options.db_url:
            url = self.options.db_url
        else:
            path = self.options.work_dir / f"legacy-{name}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            url = sqlite_url(path)
        db = LegacyDatabase(url, rtt_ms=0.0)
        try:
            from sqlalchemy import MetaData

            db.recreate(self.workload.legacy_schema or MetaData())
            started = time.perf_counter()
            if self.workload.load_legacy_db is not None:
                self.workload.load_legacy_db(db.engine, cut)
            setup = time.perf_counter() - started
            db.rtt_s = self.options.profile.rtt_ms / 1000.0
            db.round_trips = 0
            ctx = LegacyContext(
                rows=rows, db=db, progress=self.progress.advance,
                options={"async_concurrency": self.options.async_concurrency},
                chunk_rows=self.options.chunk_rows,
            )
            self.progress.begin(name, n)
            with _own_heap_frozen():
                started = time.perf_counter()
                returned = self.workload.legacy[name].run(ctx)
                seconds = time.perf_counter() - started
            self.progress.end(name)
            db.rtt_s = 0.0
            if returned is not None:  # the implementation handed its outputs back
                outputs = {o: pd.DataFrame(returned.get(o, []))
                           for o in self.workload.output_names}
            else:  # it wrote them into the legacy database, as the original job did
                with db.engine.connect() as conn:
                    outputs = {
                        o: pd.read_sql_query(f"SELECT * FROM {o}", conn)
                        for o in self.workload.output_names
                    }
            trips = db.round_trips
        finally:
            db.dispose()
        return {
            "outputs": outputs, "sample": sample,
            "measured_rows": n, "measured_seconds": seconds,
            "setup_seconds": setup, "round_trips": trips,
            "db_rtt_ms": self.options.profile.rtt_ms,
            "modelled_latency": self.options.profile.rtt_ms > 0,
        }

    def _run_vectorised(self) -> dict[str, Any]:
        out = self.options.work_dir / "vectorised-out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        self.progress.begin(VECTORISED, None)
        started = time.perf_counter()
        tables = self.fixture.read_tables()  # reading the files is part of the job, as in Spark
        outputs = self.workload.vectorised(tables)
        for name, frame in outputs.items():
            frame.to_parquet(out / f"{name}.parquet", index=False)
        seconds = time.perf_counter() - started
        self.progress.end(VECTORISED)
        return {"outputs": outputs, "measured_rows": self.fixture.rows,
                "measured_seconds": seconds}

    def _spark_target(self, name: str) -> tuple[Target, bool]:
        """The target the variant runs on, and whether this run made it (and so cleans it
        up): the caller's from options.targets, else local[*] or the master in the options
        for `spark`, an EMR step through the options' endpoint (or one started for the run)
        for `spark-emr`."""
        given = self.options.targets.get(name)
        if given is not None:
            return given, False
        common = {"endpoint": self.options.endpoint, "s3a_jars": self.options.s3a_jars or None,
                  "buckets": self.options.buckets, "java_home": self.options.java_home,
                  "driver_memory": self.options.spark_driver_memory,
                  "runtime": self.options.runtime}
        if name == EMR_STEP:
            return EmrStep(self.options.work_dir, **common), True
        return LocalSpark(self.options.work_dir, master=self.options.spark_master,
                          conf=self.options.spark_conf, cores=self.options.spark_cores,
                          storage=self.options.storage, **common), True

    def _run_spark(self, name: str = SPARK) -> dict[str, Any]:
        target, owned = self._spark_target(name)
        self.progress.begin(name, None)
        try:
            run = target.run(self.workload, self.fixture, name=name)
        finally:
            if owned:
                target.cleanup()
            self.progress.end(name)
        return {
            "outputs": run.outputs,
            "measured_rows": self.fixture.rows,
            "measured_seconds": run.wall_s,
            "details": {"target": run.target, **run.details,
                        "session_start_s": run.session_start_s, "job_s": run.job_s,
                        "submit_wall_s": round(run.wall_s, 3)},
        }

    # -- verification ---------------------------------------------------------------------

    def verify(self, name: str, outputs: Outputs, seconds: float,
               details: dict[str, Any] | None = None) -> VariantResult:
        """Judge outputs made elsewhere (an EMR step, a user's own run) of the whole fixture
        against the reference, as the variants run here are judged."""
        run = {"measured_rows": self.fixture.rows, "measured_seconds": seconds,
               "details": details or {}}
        return self._verify(name, run, outputs, self._expected())

    def _verify(self, name: str, run: dict[str, Any], outputs: Outputs,
                expected: Outputs) -> VariantResult:
        """Compare a variant's outputs with the judge's on the same input (`expected`) and
        turn its timing into figures, withheld unless the outputs are equal."""
        measured_rows = run.pop("measured_rows")
        measured_seconds = run.pop("measured_seconds")
        full = self.fixture.rows
        for spec in self.workload.outputs:
            frame = outputs.get(spec.name)
            missing = [k for k in spec.key if frame is not None and len(frame.columns)
                       and k not in frame.columns]
            if missing:
                raise WorkloadError(
                    f"workload {self.workload.name!r}: the {name} output {spec.name!r} has no "
                    f"key column(s) {missing} (it has {list(frame.columns)[:8]})",
                    f"make {name} write the key columns, or fix the OutputSpec's key")
        comparison = compare_outputs(self.workload.outputs, expected, outputs,
                                     self.workload.float_tolerance,
                                     self.workload.timestamp_tolerance)
        counts = {o: len(outputs.get(o, ())) for o in self.workload.output_names}
        problems = [str(d) for d in comparison.differences]
        try:
            produced = self.workload.rows_accounted(outputs)
        except (KeyError, TypeError, ValueError) as exc:
            produced = -1
            problems.insert(0, f"row accounting failed: {exc!r}")
        if produced != measured_rows:
            problems.insert(0, f"row accounting: {measured_rows} in, {produced} accounted "
                               f"for ({', '.join(f'{k} {v}' for k, v in counts.items())})")
        equal = not problems
        verdict = DIFFERS if not equal else (
            IS_REFERENCE if name == self.workload.reference_name else EQUAL)
        names = list(counts)
        rate = measured_rows / measured_seconds if measured_seconds > 0 else None
        projected = measured_rows < full
        return VariantResult(
            variant=name,
            profile=self.options.profile.name,
            rows_in=measured_rows,
            rows_enriched=counts.get(names[0], 0),
            rows_quarantined=sum(counts[n] for n in names[1:]),
            seconds=(full / rate if projected else measured_seconds) if equal and rate else None,
            rows_per_s=rate if equal else None,
            projected=projected,
            output_equal=equal,
            rows_full=full,
            measured_rows=measured_rows,
            measured_seconds=measured_seconds,
            mismatch="; ".join(problems[:3]) if problems else None,
            output_digest=digest(self.workload.outputs, outputs, self.workload.float_tolerance),
            verdict=verdict,
            **run,
        )


@contextlib.contextmanager
def _own_heap_frozen() -> Iterator[None]:
    """The job's time without the collector walking the harness's own objects: what this
    process held before the job (the fixture, the reference, pytest's and the benchmark's
    state) is moved out of the collector's generations (gc.freeze) while the job runs, so
    a pure-Python job pays for its own garbage only, as it would in a process of its own
    (benchmarks/test_overhead.py). Unfrozen after, collected as before."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
