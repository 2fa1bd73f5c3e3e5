"""JVM options for the harness's short-lived Spark JVMs, and their class-data-sharing
(AppCDS) archive: the classes a Spark driver loads (Spark, Scala, Hadoop, Parquet), dumped
once per Java and Spark distribution with `-XX:ArchiveClassesAtExit` (JDK 17 has no
auto-create) and mapped by later JVMs with `-XX:SharedArchiveFile`, so they skip loading
and verifying those classes again. Results are unchanged: CDS only changes where class
metadata comes from. An archive that does not match a JVM's class path (another
SPARK_CONF_DIR, extra class-path jars) is ignored by that JVM, silently (`-Xlog` off for
cds), and `-Xshare:auto` lets every JVM run without one.

    harness jvm archive      build the archive of the harness's pyspark (make runtimes does)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

# Start-up matters more than peak throughput for jobs of seconds: C1 only and the serial
# collector cut a local job's wall time by about a third on 2 cores.
FAST_JVM_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto"
# a JVM whose class path does not match the archive says so on stdout unless told not to
QUIET_CDS = "-Xlog:cds=off -Xlog:cds+dynamic=off"


def cache_dir() -> Path:
    from harness.config import Settings

    return Settings().jar_cache.parent / "cds"


def archive_path(spark_home: Path, java: Path) -> Path:
    """Where the archive of this Java and Spark distribution lives (built or not): keyed by
    the java binary and the distribution's jars, names and sizes."""
    jars = sorted((p.name, p.stat().st_size) for p in (spark_home / "jars").glob("*.jar"))
    java = java.resolve()
    key = hashlib.sha256(repr((str(java), java.stat().st_mtime_ns, str(spark_home.resolve()),
                               jars)).encode()).hexdigest()[:16]
    return cache_dir() / f"driver-{key}.jsa"


def archive_for(spark_home: Path, java: Path) -> Path | None:
    """The built archive for this Java and Spark, or None."""
    try:
        path = archive_path(spark_home, java)
    except OSError:
        return None
    return path if path.is_file() else None


def driver_opts(spark_home: Path, java: Path) -> str:
    """The JVM options of a driver (or executor) of this Spark: the fast-start ones, and
    the class-data-sharing archive where one was built."""
    archive = archive_for(spark_home, java)
    if archive is None:
        return FAST_JVM_OPTS
    return f"{FAST_JVM_OPTS} -XX:SharedArchiveFile={archive} {QUIET_CDS}"


def build_archive(spark_home: Path | None = None, java_home: Path | None = None,
                  force: bool = False) -> tuple[Path, bool]:
    """Build the archive by running the cascade job once on a small local fixture with
    `-XX:ArchiveClassesAtExit` (about a minute on 2 cores); returns its path and whether
    it was built now (False: it was there). The archive appears whole or not at all."""
    from harness.errors import SparkError
    from harness.spark import java_executable, spark_submit
    from harness.spark import spark_home as embedded_home
    from harness.workloads import get_workload
    from harness.workloads.fixtures import resolve_fixture

    home = spark_home or embedded_home()
    java = java_executable(java_home)
    path = archive_path(home, java)
    if path.is_file() and not force:
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    work = path.parent / f"build-{os.getpid()}"
    partial = work / "driver.jsa"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        workload = get_workload("cascade")
        fixture, _ = resolve_fixture(workload, rows=2_000)
        result = spark_submit(workload.spark_job, [fixture.uri(), (work / "out").as_uri()],
                              java_home=java_home, home=home, timeout=600,
                              jvm_opts=f"{FAST_JVM_OPTS} -XX:ArchiveClassesAtExit={partial}")
        if result.returncode != 0 or not partial.is_file():
            raise SparkError("the class-data-sharing archive was not built: "
                             f"{result.error_excerpt(3) or 'no archive written'}",
                             "run `harness jvm archive --debug`; Spark runs without it")
        os.replace(partial, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"class-data-sharing archive {path} ({path.stat().st_size >> 20} MB)",
          file=sys.stderr)
    return path, True
