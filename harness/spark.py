"""pyspark's own Spark: finding it, checking Java, and running spark-submit as an owned
child process (its whole process group is stopped on every exit path, Ctrl-C included)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import logs
from harness.errors import SparkError
from harness.jvm import FAST_JVM_OPTS
from harness.phases import parse_metrics  # noqa: F401  (callers find it here too)
from harness.procs import OwnedProcess

DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.executor.extraJavaOptions": FAST_JVM_OPTS,
}
# event logs as the harness records them for a run's phases: uncompressed (Spark 4 would
# write zstd, which Python's standard library cannot read)
EVENT_LOG_CONF = {"spark.eventLog.enabled": "true", "spark.eventLog.compress": "false"}


def spark_home() -> Path:
    """The Spark distribution inside the installed pyspark (bin/spark-submit, jars)."""
    import pyspark

    return Path(pyspark.__file__).parent


def spark_version() -> str:
    """The Spark version pyspark brings, e.g. 4.0.1."""
    import pyspark

    return pyspark.__version__


def java_executable(java_home: Path | None = None) -> Path:
    """The java binary Spark will use; SparkError with the remedy when there is none."""
    home = java_home or (Path(os.environ["JAVA_HOME"]) if os.environ.get("JAVA_HOME") else None)
    candidate = home / "bin" / "java" if home else None
    if candidate is None:
        found = shutil.which("java")
        candidate = Path(found) if found else None
    if candidate is None or not candidate.exists():
        raise SparkError(
            "no Java runtime found (Spark needs Java 17 or newer)",
            "install one (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME",
        )
    return candidate


def java_version(java_home: Path | None = None) -> str:
    """The version `java -version` reports, e.g. 17.0.12."""
    out = subprocess.run(
        [str(java_executable(java_home)), "-version"], capture_output=True, text=True, check=False
    ).stderr
    match = re.search(r'version "([^"]+)"', out)
    return match.group(1) if match else out.strip().splitlines()[0] if out.strip() else "unknown"


@dataclass
class SubmitResult:
    """A finished spark-submit: exit code, wall time, output and the job's metrics line."""

    returncode: int
    seconds: float
    stdout: str
    stderr: str
    metrics: dict = field(default_factory=dict)
    # where the wall time went (harness.phases), when the job printed its marks
    phases: dict = field(default_factory=dict)

    def error_excerpt(self, lines: int = 6) -> str:
        """The most telling lines of a failed job's output (Python traceback or exception):
        stdout last, since PySpark's driver prints the Python traceback there."""
        return logs.error_excerpt(self.stderr + "\n" + self.stdout, lines)


def submit_command(script: Path, args: Sequence[str], java: Path, home: Path,
                   master: str = "local[*]", conf: Mapping[str, str] | None = None,
                   driver_memory: str = "2g", event_log_dir: Path | None = None,
                   jvm_opts: str | None = None) -> tuple[list[str], Path | None]:
    """spark-submit's command line as the harness runs it (its settings: DEFAULT_CONF, the
    JVM options, the event log), and the event log directory it records into (None when
    there is none, or `conf` sets its own). See spark_submit for the parameters."""
    from harness import jvm

    jvm_opts = jvm_opts or jvm.driver_opts(home, java)
    merged = {**DEFAULT_CONF, "spark.executor.extraJavaOptions": jvm_opts, **(conf or {})}
    if event_log_dir is not None and "spark.eventLog.enabled" not in merged:
        event_log_dir.mkdir(parents=True, exist_ok=True)
        merged.update(EVENT_LOG_CONF, **{"spark.eventLog.dir": event_log_dir.resolve().as_uri()})
    else:
        event_log_dir = None
    cmd = [str(home / "bin" / "spark-submit"), "--master", master,
           "--driver-memory", driver_memory, "--driver-java-options", jvm_opts]
    for key, value in merged.items():
        cmd += ["--conf", f"{key}={value}"]
    return [*cmd, str(script), *args], event_log_dir


def spark_submit(
    script: Path,
    args: Sequence[str],
    master: str = "local[*]",
    conf: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    driver_memory: str = "2g",
    java_home: Path | None = None,
    timeout: float | None = None,
    home: Path | None = None,
    event_log_dir: Path | None = None,
    jvm_opts: str | None = None,
) -> SubmitResult:
    """Run `spark-submit script args...` and wait; returns output, wall time and the
    job's `*-metrics {json}` line if it printed one, and its phases (harness.phases).
    `home`: another Spark distribution (a release label's runtime) instead of the
    harness's own pyspark. `event_log_dir`: record the application's Spark event log
    there (as EMR does by default), for the finer phases, unless `conf` sets its own.
    `jvm_opts`: the driver's and executors' JVM options (default: harness.jvm's, with the
    class-data-sharing archive of this Java and Spark where one was built)."""
    java = java_executable(java_home)
    home = home or spark_home()
    cmd, event_log_dir = submit_command(script, args, java, home, master=master, conf=conf,
                                        driver_memory=driver_memory,
                                        event_log_dir=event_log_dir, jvm_opts=jvm_opts)
    child_env = {
        **os.environ,
        "JAVA_HOME": str(java.resolve().parent.parent),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",  # never bind a driver to a public interface
        **(env or {}),
    }
    started, launched_at = time.perf_counter(), time.time()
    # owned (harness.procs): its own process group, stopped with the JVM on every exit path,
    # and reaped by the next harness command if we are killed
    proc = OwnedProcess(cmd, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True)
    try:
        stdout, stderr = proc.proc.communicate(timeout=timeout)
    finally:  # a timeout, Ctrl-C, SIGTERM: the JVM goes with us; done: its leftovers do
        proc.stop(grace_s=10.0)
    seconds, ended_at = time.perf_counter() - started, time.time()
    metrics = parse_metrics(stdout)
    from harness.phases import event_log_file, spark_phases
    event_log = event_log_file(event_log_dir, metrics.get("app_id")) if event_log_dir else None
    return SubmitResult(proc.proc.returncode, seconds, stdout, stderr, metrics,
                        spark_phases(metrics, launched_at, ended_at, event_log))
