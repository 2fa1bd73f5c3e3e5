"""The workload contract: what a pipeline must declare to be benchmarked side by side.

A workload is data, not a subclass: its input tables come from a seeded generator, its
legacy implementations are plain callables run against a real database, its Spark job is
a spark-submit-able script taking an input and an output URI, and its outputs are named
tables compared by key. The built-in cascade enrichment is defined through this contract
with no special path; user workloads (`harness bench --workload PKG.MODULE:NAME`) use it too.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class OutputSpec:
    """One output table: its name (a folder under the output URI, a table in the legacy DB)
    and the key columns that identify a row across variants."""

    name: str
    key: tuple[str, ...]


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
    default_rows: int = 400_000
    default_seed: int = 42
    default_bad_share: float = 0.02

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outputs)

    def output(self, name: str) -> OutputSpec:
        return next(o for o in self.outputs if o.name == name)

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
