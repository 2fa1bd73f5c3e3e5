"""Independent references on DuckDB: a workload's rules as SQL over its input tables.

SQL in an embedded analytical engine shares no code with the pandas, SQLAlchemy and Spark
variants it judges, so a bug in one of them cannot become the truth the others are held to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from harness.errors import FixtureError, WorkloadError
from harness.workloads.base import Outputs, ReferenceImpl, Tables

# Nullable integers stay integers (pandas' Int64) rather than turning into floats.
_TYPES = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype()}.get


def run_sql(tables: Tables, queries: Mapping[str, str], *, setup: Sequence[str] = (),
            parameters: Mapping[str, Any] | None = None,
            checks: Mapping[str, str] | None = None, label: str = "SQL") -> Outputs:
    """Run one query per output over the tables (each registered as a view of its name) in
    a fresh in-memory DuckDB. `parameters` become SQL variables (`getvariable('name')`);
    `setup` statements (views, macros) run next; each of
    `checks` (an assumption the SQL relies on -> a query listing the rows that break it)
    must return no rows, else FixtureError."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        for name, table in tables.items():
            con.register(name, table)
        for assumption, sql in (checks or {}).items():
            broken = con.sql(sql).limit(1).fetchall()
            if broken:
                raise FixtureError(
                    f"the input tables break an assumption of the reference ({assumption}): "
                    f"{broken[0]}",
                    "fix the fixture (or its generator) so the rule holds")
        for name, value in (parameters or {}).items():
            con.execute(f"SET VARIABLE {name} = ?", [value])
        for statement in setup:
            con.execute(statement)
        outputs = {}
        for name, sql in queries.items():
            try:
                outputs[name] = con.sql(sql).to_arrow_table().to_pandas(types_mapper=_TYPES)
            except duckdb.Error as exc:
                raise WorkloadError(
                    f"reference {label}: the SQL for output {name!r} failed: "
                    f"{' '.join(str(exc).split())}",
                    "fix the query (the input tables are views named like the tables)",
                ) from None
        return outputs
    finally:
        con.close()


def duckdb_reference(name: str, queries: Mapping[str, str], description: str, *,
                     setup: Sequence[str] = (),
                     parameters: Mapping[str, Any] | None = None,
                     checks: Mapping[str, str] | None = None) -> ReferenceImpl:
    """A ReferenceImpl that computes each output with its SQL query on DuckDB (see run_sql)."""

    def run(tables: Tables) -> Outputs:
        return run_sql(tables, queries, setup=setup, parameters=parameters, checks=checks,
                       label=name)

    return ReferenceImpl(name, run, description)
