"""The cascade's legacy job run by hand: the plain script a developer would write, with
none of the harness around it (no latency model, no round-trip counting, no progress).

    python benchmarks/by_hand_legacy.py FIXTURE_DIR DATABASE_FILE batched|per-row

The database already holds the job's tables and the dimensions (as the legacy database did
before each nightly run); the job writes `enriched` and `quarantine` into it. Prints the
job's seconds, timed around the job function alone.
"""

import sys
import time
from types import SimpleNamespace

import pyarrow.parquet as pq
from sqlalchemy import create_engine

from harness.workloads.base import LegacyContext  # the job functions' argument
from harness.workloads.cascade import legacy

JOBS = {"batched": legacy.batched, "per-row": legacy.per_row}


def main(fixture: str, database: str, job: str) -> None:
    orders = pq.read_table(f"{fixture}/parquet/orders.parquet")
    engine = create_engine(f"sqlite:///{database}")
    # the orders a chunk at a time, and a plain engine where the harness passes its own
    args = LegacyContext(rows=orders, db=SimpleNamespace(engine=engine))
    started = time.perf_counter()
    JOBS[job](args)
    seconds = time.perf_counter() - started
    engine.dispose()
    print(seconds)


if __name__ == "__main__":
    main(*sys.argv[1:])
