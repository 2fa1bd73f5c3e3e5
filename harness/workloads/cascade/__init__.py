"""The built-in workload: order enrichment through cascading dimension lookups."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from harness.workloads.base import (
    LegacyImpl,
    OutputSpec,
    Workload,
    load_tables_into,
)
from harness.workloads.cascade import generator, legacy, oracle, vectorised
from harness.workloads.cascade.schema import DIMENSIONS, Base

WORKLOAD = Workload(
    name="cascade",
    description="orders enriched by cascading lookups: customer -> region, product -> category",
    fact_table="orders",
    generate=generator.generate,
    generator_version=generator.GENERATOR_VERSION,
    outputs=(OutputSpec("enriched", ("order_id",)), OutputSpec("quarantine", ("order_id",))),
    legacy={
        "per-row": LegacyImpl(
            "per-row", legacy.per_row,
            "ORM query per lookup (4 dependent), insert + commit per order",
            row_at_a_time=True,
        ),
        "batched": LegacyImpl(
            "batched", legacy.batched, "IN-query lookups and one insert + commit per chunk"
        ),
        "async": LegacyImpl(
            "async", legacy.async_,
            "asyncio: concurrent lookups, one writer committing per order",
            row_at_a_time=True,
        ),
    },
    legacy_schema=Base.metadata,
    load_legacy_db=partial(load_tables_into, metadata=Base.metadata, names=list(DIMENSIONS)),
    vectorised=vectorised.enrich,
    reference=oracle.REFERENCE,
    spark_job=Path(__file__).with_name("spark_job.py"),
)
