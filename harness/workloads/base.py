"""The workload contract: what a pipeline must declare to be benchmarked side by side.

A workload is data, not a subclass: its input tables come from a seeded generator, its
legacy implementations are plain callables run against a real database, its Spark job is
a spark-submit-able script taking an input and an output URI, and its outputs are named
tables compared by key with what an independent reference implementation (the oracle)
computes from the same tables. The built-in cascade enrichment is defined through this
contract with no special path; user workloads (`harness bench --workload PKG.MODULE:NAME`)
use it too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from sqlalchemy import MetaData
    from sqlalchemy.engine import Engine

    from harness.db import LegacyDatabase

Tables = dict[str, pa.Table]
Outputs = dict[str, pd.DataFrame]

VECTORISED = "vectorised"  # the variant name of a workload's vectorised implementation
# The Spark variants' names as the bench (spark, spark-emr) and the suite (spark-local,
# spark-cluster, spark-emr) record them: no legacy variant may take one.
HARNESS_VARIANTS = ("spark", "spark-local", "spark-cluster", "spark-emr")


@dataclass(frozen=True)
class OutputSpec:
    """One output table: its name (a folder under the output URI, a table in the legacy DB)
    and the key columns that identify a row across variants. `ignore` names columns a
    variant may add that are not part of the result (a surrogate id its database assigns);
    any other column the reference lacks is reported as a difference."""

    name: str
    key: tuple[str, ...]
    ignore: tuple[str, ...] = ()


@dataclass
class LegacyContext:
    """What a legacy implementation is given: the fact rows to process and the database."""

    rows: pa.Table
    db: LegacyDatabase
    progress: Callable[[int], None] = lambda n: None
    options: Mapping[str, Any] = field(default_factory=dict)
    chunk_rows: int = 1_000

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        """The fact rows as lists of plain dicts (None for nulls), `chunk_rows` at a time."""
        for batch in self.rows.to_batches(max_chunksize=self.chunk_rows):
            yield batch.to_pylist()


@dataclass(frozen=True)
class LegacyImpl:
    """A legacy implementation. `run` either writes its outputs into the legacy database
    (tables named like the outputs) and returns None, or returns them: a dict of output
    name to a DataFrame or a list of row dicts. `row_at_a_time` marks variants slow enough
    that the bench runs them on a sample of the fact table and projects the full time."""

    name: str
    run: Callable[[LegacyContext], Any]
    description: str
    row_at_a_time: bool = False


@dataclass(frozen=True)
class ReferenceImpl:
    """The independent implementation every variant is judged by (the oracle): written from
    the workload's rules in another engine or style than the variants, never timed, never a
    variant itself. `run` takes the input tables and returns every output."""

    name: str
    run: Callable[[Tables], Outputs]
    description: str


@dataclass(frozen=True)
class Workload:
    """Everything the harness needs to generate, run, compare and time one pipeline."""

    name: str
    description: str
    fact_table: str
    generate: Callable[[int, int, float], Tables]
    generator_version: str
    outputs: tuple[OutputSpec, ...]
    legacy: Mapping[str, LegacyImpl]
    vectorised: Callable[[Tables], Outputs]
    spark_job: Path
    legacy_schema: MetaData | None = None
    load_legacy_db: Callable[[Engine, Tables], None] | None = None
    accounted_rows: Callable[[Outputs], int] | None = None
    float_tolerance: float = 1e-9
    # Timestamps compare exactly unless the workload states a tolerance here.
    timestamp_tolerance: dt.timedelta = dt.timedelta(0)
    # The judge. Without one, the vectorised implementation is the reference: the bench
    # says so and shows no "equal" for it, since nothing independent checked it.
    reference: ReferenceImpl | None = None
    # How the tables are cut for a sampled run of `rows` fact rows (default: the first
    # `rows` rows of the fact table, other tables whole). The sampled legacy run and the
    # reference it is judged by both get the cut tables.
    sample_tables: Callable[[Tables, int], Tables] | None = None
    # The legacy variant every speed-up is against (the job as it runs today); default: the
    # first of `legacy`. Recorded in the bench JSON and the suite's results, so reports
    # name it rather than assume one.
    baseline: str | None = None
    default_rows: int = 400_000
    default_seed: int = 42
    default_bad_share: float = 0.02

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outputs)

    @property
    def baseline_variant(self) -> str:
        """The legacy variant speed-ups are against: `baseline`, else the first legacy one."""
        return self.baseline if self.baseline is not None else next(iter(self.legacy))

    @property
    def reference_name(self) -> str:
        """What the bench judges by: the oracle's name, else "vectorised"."""
        return self.reference.name if self.reference is not None else VECTORISED

    @property
    def independent_reference(self) -> bool:
        """Whether the judge is an implementation of its own rather than a variant."""
        return self.reference is not None

    def reference_outputs(self, tables: Tables) -> Outputs:
        """The outputs every variant must equal, computed by the judge from `tables`."""
        if self.reference is not None:
            return self.reference.run(tables)
        return self.vectorised(tables)

    def cut(self, tables: Tables, rows: int) -> Tables:
        """The tables a sampled run of `rows` fact rows sees (see `sample_tables`)."""
        from harness.errors import WorkloadError

        if self.sample_tables is None:
            return {**tables, self.fact_table: tables[self.fact_table].slice(0, rows)}
        cut = self.sample_tables(tables, rows)
        if not isinstance(cut, Mapping) or self.fact_table not in cut:
            raise WorkloadError(
                f"workload {self.name!r}: its sample_tables returned no {self.fact_table!r} "
                "table",
                "return every input table, the fact table cut to the sample")
        return dict(cut)

    def rows_accounted(self, outputs: Outputs) -> int:
        """How many fact rows the outputs account for (default: one output row each)."""
        if self.accounted_rows is not None:
            return int(self.accounted_rows(outputs))
        return sum(len(frame) for frame in outputs.values())

    def validate(self) -> Workload:
        """Every required part present and usable; WorkloadError naming it otherwise."""
        from harness.errors import WorkloadError

        def fail(problem: str, remedy: str) -> WorkloadError:
            return WorkloadError(f"workload {self.name!r}: {problem}", remedy)

        if not self.outputs:
            raise fail("declares no outputs", "give outputs=(OutputSpec(name, key), ...)")
        for spec in self.outputs:
            if not spec.key:
                raise fail(f"output {spec.name!r} has no key columns",
                           "name the columns that identify a row, e.g. ('order_id',)")
        for part in ("generate", "vectorised"):
            if not callable(getattr(self, part)):
                raise fail(f"its {part} is missing or not callable",
                           f"set {part}= to a function")
        if not self.legacy:
            raise fail("has no legacy implementation", "add legacy={'name': LegacyImpl(...)}")
        if self.baseline is not None and self.baseline not in self.legacy:
            raise fail(f"its baseline {self.baseline!r} is not one of its legacy variants "
                       f"({', '.join(self.legacy)})",
                       "set baseline= to a key of legacy, or leave it out for the first")
        own = [n for n in self.legacy if n in (VECTORISED, *HARNESS_VARIANTS)]
        if own:
            raise fail(f"its legacy variant {own[0]!r} has the name of one of the harness's "
                       "own variants", "give the legacy implementation a name of its own, "
                       "e.g. 'row-by-row'")
        if self.reference is not None and not (
                isinstance(self.reference, ReferenceImpl) and callable(self.reference.run)):
            raise fail("its reference is not a ReferenceImpl with a callable run",
                       "set reference=ReferenceImpl(name, run, description), or leave it out")
        if self.reference is not None and \
                self.reference.name in (VECTORISED, *HARNESS_VARIANTS, *self.legacy):
            raise fail(f"its reference is named {self.reference.name!r}, like a variant",
                       "give the reference a name of its own, e.g. 'duckdb-sql'")
        if not isinstance(self.timestamp_tolerance, dt.timedelta) or \
                self.timestamp_tolerance < dt.timedelta(0):
            raise fail(f"its timestamp_tolerance {self.timestamp_tolerance!r} is not a "
                       "timedelta >= 0", "e.g. timestamp_tolerance=timedelta(seconds=1)")
        if self.sample_tables is not None and not callable(self.sample_tables):
            raise fail("its sample_tables is not callable",
                       "set sample_tables= to a function (tables, rows) -> tables")
        if not Path(self.spark_job).is_file():
            raise fail(f"its Spark job {self.spark_job} does not exist",
                       "point spark_job= at a spark-submit-able script")
        return self


def load_tables_into(
    engine: Engine, tables: Tables, *, metadata: MetaData, names: list[str]
) -> None:
    """Bulk-insert the named fixture tables into the same-named tables of the legacy DB:
    the state the legacy job found in its database before it ran."""
    from sqlalchemy import insert

    with engine.begin() as conn:
        for name in names:
            rows = tables[name].to_pylist()
            if rows:
                conn.execute(insert(metadata.tables[name]), rows)
