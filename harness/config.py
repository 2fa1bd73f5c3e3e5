"""One typed settings object: defaults, then HARNESS_* environment variables, then CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from harness.errors import UsageError


@dataclass(frozen=True)
class LatencyProfile:
    """A modelled database round trip added to every statement and commit of the legacy jobs.

    `legacy_sample` is how many fact rows the row-at-a-time legacy variants (the cascade's
    per-row and async) process by default before their time is projected to the full
    fixture.
    """

    name: str
    rtt_ms: float
    legacy_sample: int
    description: str


# `rds`'s 2.0 ms is a model fitted to the seed's figure, not a measurement of RDS: the
# original job took ~2 hours for 400,000 rows (18 ms a row), the per-row cascade makes 6
# round trips a row (4 lookups, 1 insert, 1 commit), and the ORM job's own work on the
# 2-core machine is ~5 ms a row (4-6 ms measured), so (18 - 5) / 6 ~ 2 ms was chosen to make
# the per-row projection land near the two hours. A projection near 7,200 s is therefore the
# input coming back out (tests/unit/test_rds_model.py checks the arithmetic).
PROFILES: dict[str, LatencyProfile] = {
    "local": LatencyProfile(
        "local", 0.0, 5_000, "no modelled latency: the database is local"
    ),
    "rds": LatencyProfile(
        "rds", 2.0, 1_000, "modelled 2.0 ms round trip per statement and commit, like RDS"
    ),
}


def check_positive(name: str, value: int | None) -> None:
    """UsageError unless the option `name`'s value is a positive whole number (or not given)."""
    if value is not None and value < 1:
        raise UsageError(f"{name} must be a positive whole number, got {value}",
                         f"pass e.g. {name} 400000")


def get_profile(name: str, rtt_ms: float | None = None) -> LatencyProfile:
    """The named profile, with its round trip overridden by `--db-rtt-ms` when given."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise UsageError(
            f"unknown latency profile {name!r}",
            f"use one of: {', '.join(PROFILES)} (or --db-rtt-ms to set the round trip)",
        ) from None
    if rtt_ms is None:
        return profile
    if rtt_ms < 0:
        raise UsageError(f"--db-rtt-ms must be >= 0, got {rtt_ms}", "pass a round trip in ms")
    return LatencyProfile(profile.name, rtt_ms, profile.legacy_sample, f"modelled {rtt_ms} ms")


class Settings(BaseSettings):
    """Harness-wide settings; every field can be set as HARNESS_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="HARNESS_", extra="ignore")

    fixtures_dir: Path = Field(default=Path("fixtures"), description="fixture cache root")
    work_dir: Path = Field(default=Path(".harness"), description="scratch space for runs")
    db_url: str | None = Field(default=None, description="legacy database (default SQLite)")
    spark_master: str = Field(default="local[*]", description="Spark master URL")
    spark_driver_memory: str = Field(default="2g")
    java_home: Path | None = Field(default=None)
    cluster_memory_mb: int | None = Field(default=None, description="memory for all workers")
    emr_jobflow_memory_mb: int = Field(default=3072, description="workers of one job flow")
    emr_capacity_mb: int | None = Field(default=None, description="workers of all job flows")
    spot_provisioning_s: float = Field(default=120.0, ge=0, description="modelled time EC2 "
                                       "takes to fulfil spot capacity (on-demand: at once)")
    emr_time_scale: float = Field(default=0.05, ge=0, description="real seconds waited per "
                                  "modelled EMR second (spot delays, spot timeouts)")
    cds: bool = Field(default=True, description="Spark JVMs map the class-data-sharing "
                      "archive where one was built (harness jvm archive); 0 to compare")
    emr_idle_scale: float = Field(default=1.0, gt=0, le=1, description="real seconds "
                                  "waited per second of an AutoTerminationPolicy's "
                                  "IdleTimeout (1: as EMR; the tests wait a tenth)")
    emr_executor_wait_s: float = Field(default=120.0, gt=0, description="a Spark step "
                                       "fails when its application gets no executors for "
                                       "this long (while no other application holds any)")
    endpoint_url: str | None = Field(default=None, description="attach to this endpoint")
    jar_cache: Path = Field(default=Path.home() / ".cache" / "emr-rehearsal" / "jars",
                            description="hadoop-aws and AWS SDK jars from Maven Central")
    runtime_cache: Path = Field(default=Path.home() / ".cache" / "emr-rehearsal" / "runtimes",
                                description="release labels' Spark (pyspark from PyPI)")
    emr_backend: str = Field(default="process",
                             description="cluster backend of EMR job flows: process | docker")
    docker_network: str = Field(default="host", description="docker backend: host | bridge")
    docker_image: str | None = Field(default=None, description="docker backend's node image "
                                     "(default emr-rehearsal/node:spark-<pyspark version>)")
    docker_mounts: list[Path] = Field(default_factory=list, description="more host paths the "
                                      "docker backend bind-mounts at the same path (JSON list)")
    docker_session: str | None = Field(default=None, description="also label the docker "
                                       "backend's containers and networks with "
                                       "emr-rehearsal.session=<this> (a test run's own)")
    owners_dir: Path = Field(default=Path(f"/tmp/emr-rehearsal-{os.getuid()}") / "owners",
                             description="the registry of child processes and containers "
                             "by owner, which the reaper reads (harness.procs)")
