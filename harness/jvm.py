"""JVM options for the harness's short-lived Spark JVMs, and their class-data-sharing
(AppCDS) archive: the classes a Spark driver loads (Spark, Scala, Hadoop, Parquet), dumped
once per Java and Spark distribution with `-XX:ArchiveClassesAtExit` (JDK 17 has no
auto-create) and mapped by later JVMs with `-XX:SharedArchiveFile`, so they skip loading
and verifying those classes again. Results are unchanged: CDS only changes where class
metadata comes from. An archive that does not match a JVM's class path (another
SPARK_CONF_DIR, extra class-path jars) is ignored by that JVM, silently (`-Xlog` off for
cds), and `-Xshare:auto` lets every JVM run without one.

    harness jvm archive      build the archive of the harness's pyspark (make runtimes does;
                             harness.runtimes.cds)
"""

from __future__ import annotations

import hashlib
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


def driver_opts(spark_home: Path, java: Path, cds: bool | None = None) -> str:
    """The JVM options of a driver (or executor) of this Spark: the fast-start ones, and
    the class-data-sharing archive where one was built (unless `cds` is false; default
    HARNESS_CDS)."""
    if cds is None:
        from harness.config import Settings

        cds = Settings().cds
    archive = archive_for(spark_home, java) if cds else None
    if archive is None:
        return FAST_JVM_OPTS
    return f"{FAST_JVM_OPTS} -XX:SharedArchiveFile={archive} {QUIET_CDS}"
