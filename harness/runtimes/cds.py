"""The class-data-sharing archive of a Spark distribution (harness.jvm), built by running
the cascade job once on a small local fixture with `-XX:ArchiveClassesAtExit`."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from harness.jvm import FAST_JVM_OPTS, archive_path


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
