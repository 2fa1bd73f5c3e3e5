"""pyspark's own Spark: finding it, checking Java, and running spark-submit as an owned
child process (its whole process group is stopped on every exit path, Ctrl-C included)."""

from __future__ import annotations

import contextlib
import json
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
from harness.procs import OwnedProcess

# Start-up matters more than peak throughput for jobs of seconds: C1 only and the serial
# collector cut a local job's wall time by about a third on 2 cores.
FAST_JVM_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto"
DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.executor.extraJavaOptions": FAST_JVM_OPTS,
}


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

    def error_excerpt(self, lines: int = 6) -> str:
        """The most telling lines of a failed job's output (Python traceback or exception):
        stdout last, since PySpark's driver prints the Python traceback there."""
        return logs.error_excerpt(self.stderr + "\n" + self.stdout, lines)


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
) -> SubmitResult:
    """Run `spark-submit script args...` and wait; returns output, wall time and the
    job's `*-metrics {json}` line if it printed one. `home`: another Spark distribution
    (a release label's runtime) instead of the harness's own pyspark."""
    java = java_executable(java_home)
    home = home or spark_home()
    submit = home / "bin" / "spark-submit"
    merged = {**DEFAULT_CONF, **(conf or {})}
    cmd = [str(submit), "--master", master, "--driver-memory", driver_memory,
           "--driver-java-options", FAST_JVM_OPTS]
    for key, value in merged.items():
        cmd += ["--conf", f"{key}={value}"]
    cmd += [str(script), *args]
    child_env = {
        **os.environ,
        "JAVA_HOME": str(java.resolve().parent.parent),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",  # never bind a driver to a public interface
        **(env or {}),
    }
    started = time.perf_counter()
    # owned (harness.procs): its own process group, stopped with the JVM on every exit path,
    # and reaped by the next harness command if we are killed
    proc = OwnedProcess(cmd, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True)
    try:
        stdout, stderr = proc.proc.communicate(timeout=timeout)
    finally:  # a timeout, Ctrl-C, SIGTERM: the JVM goes with us; done: its leftovers do
        proc.stop(grace_s=10.0)
    seconds = time.perf_counter() - started
    return SubmitResult(proc.proc.returncode, seconds, stdout, stderr, parse_metrics(stdout))


def parse_metrics(stdout: str) -> dict:
    """The last `<name>-metrics {json}` line a job printed (session_start_s, job_s, ...)."""
    metrics: dict = {}
    for line in stdout.splitlines():
        name, _, payload = line.partition(" ")
        if name.endswith("-metrics") and payload.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                metrics = json.loads(payload)
    return metrics

