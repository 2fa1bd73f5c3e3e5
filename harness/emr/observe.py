"""What EMR gives a user to look at a job flow, locally:

- `syslog` beside a step's controller/stdout/stderr (uploaded as syslog.gz). On EMR a
  step's syslog holds the step runner's log4j lines (for Hadoop jobs, the job's own); for a
  command-runner spark-submit step the Spark driver's log4j output goes to stderr, as it
  does here. So syslog holds the local step runner's record in log4j layout: what it ran,
  the signals a cancellation sent, the exit code and run time.
- Spark event logs for every application of the job flow (EMR enables them by default) in
  one directory per job flow, and a Spark History Server reading it (EMR's persistent
  application UI): the runtime's own `org.apache.spark.deploy.history.HistoryServer` on
  127.0.0.1, started and stopped with the job flow; its URL is in `harness status` and in
  every step's controller log.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from harness.cluster.base import port_open
from harness.net import free_port
from harness.procs import OwnedProcess

SYSLOG = "syslog"
HISTORY_SERVER_CLASS = "org.apache.spark.deploy.history.HistoryServer"
_LOGGER = "harness.emr.StepRunner"


def syslog(step_dir: Path, message: str, level: str = "INFO") -> None:
    """Append one log4j-layout line to the step's syslog."""
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    with (step_dir / SYSLOG).open("a") as fh:
        fh.write(f"{stamp} {level} {_LOGGER} (main): {message}\n")


def event_log_dir(jobflow_dir: Path) -> Path:
    path = jobflow_dir / "spark-events"
    path.mkdir(parents=True, exist_ok=True)
    return path


def event_log_conf(jobflow_dir: Path) -> dict[str, str]:
    """spark-defaults that record every application's events for the History Server (the
    job flow's directory is at the same path inside the docker backend's nodes)."""
    return {"spark.eventLog.enabled": "true",
            "spark.eventLog.dir": f"file://{event_log_dir(jobflow_dir)}"}


class HistoryServer:
    """One job flow's Spark History Server, a process of the runtime's Spark."""

    def __init__(self, spark_home: Path, log_dir: Path, work_dir: Path,
                 java_home: Path | None = None) -> None:
        self.spark_home, self.log_dir, self.work_dir = spark_home, log_dir, work_dir
        self.java_home = java_home
        self.port: int | None = None
        self._process: OwnedProcess | None = None

    @property
    def url(self) -> str | None:
        return None if self.port is None else f"http://127.0.0.1:{self.port}"

    def start(self) -> HistoryServer:
        """Launch it (readiness is `ready()`: a job flow does not wait for its UI)."""
        from harness.spark import FAST_JVM_OPTS, java_executable

        self.port = free_port()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        java = java_executable(self.java_home)
        env = {
            **os.environ,
            "JAVA_HOME": str(java.resolve().parent.parent),
            "SPARK_HOME": str(self.spark_home),
            "SPARK_LOCAL_IP": "127.0.0.1",  # its UI binds loopback only
            "SPARK_DAEMON_MEMORY": "256m",
            "SPARK_LOG_DIR": str(self.work_dir),
            "SPARK_NO_DAEMONIZE": "1",
            "SPARK_HISTORY_OPTS": " ".join([
                FAST_JVM_OPTS,
                f"-Dspark.history.fs.logDirectory=file://{self.log_dir}",
                f"-Dspark.history.ui.port={self.port}",
                "-Dspark.history.fs.update.interval=3s",
                "-Dspark.history.retainedApplications=20",
            ]),
        }
        # at the lowest priority: its JVM's start must not slow the job flow's own start
        # and first step on a small machine (the UI is read later, by a person)
        self._process = OwnedProcess(
            [str(self.spark_home / "bin" / "spark-class"), HISTORY_SERVER_CLASS], env=env,
            cwd=self.work_dir, log=self.work_dir / "history-server.log", niceness=19)
        return self

    def ready(self) -> bool:
        return self.port is not None and port_open(self.port)

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(grace_s=5.0)
            self._process = None
