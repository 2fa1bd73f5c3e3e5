"""Where a Spark run's time goes: its wall time cut into consecutive phases, from the
launcher's clock, the epoch `marks` the job prints on its metrics line, and the run's Spark
event log (the History Server's record: executors added, jobs, SQL executions).

    driver start  spark-submit until the driver's Python runs (the launcher, the JVM)
    session       SparkSession.getOrCreate (SparkContext, the master's registration)
    read          the input planned (files listed, Parquet footers read on the driver)
    executors     the first job waiting for an executor to register
    compute       the jobs running (the read, the joins, the writes' tasks)
    commit        each write's job commit (files renamed or S3A uploads completed)
    write         the writes' driver-side rest (planning, output set-up)
    stop          spark.stop() and the JVMs' exit

Without an event log, executors, compute, commit and write are one phase, `write`. The
phases sum to the wall time; a phase that cannot be measured is left out, never guessed.
The EMR step path adds its bookkeeping (`step ...` phases) around these.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

PHASE_PREFIX = "PHASE "  # a controller log line: PHASE <name>=<seconds>
ORDER = ("step queued", "step downloads", "step environment", "driver start", "session",
         "read", "executors", "compute", "commit", "write", "stop", "command", "step after exit",
         "polling")


def _r(seconds: float) -> float:
    return round(max(seconds, 0.0), 3)


def event_log_file(directory: Path, app_id: str | None) -> Path | None:
    """The (uncompressed) event log of application `app_id` under `directory`: a file
    (finished or in progress), or Spark 4's rolling `eventlog_v2_<app>` directory; None
    when there is none."""
    if not app_id or not directory.is_dir():
        return None
    for name in (app_id, f"{app_id}.inprogress", f"eventlog_v2_{app_id}"):
        if (directory / name).exists():
            return directory / name
    return None


def event_log_lines(path: Path) -> Iterable[str]:
    """The lines of an event log file, or of a rolling one's `events_N_*` files in order
    (compressed ones are skipped: their phases stay lumped)."""
    if path.is_file():
        files = [path]
    else:
        def number(p: Path) -> int:
            part = p.name.split("_")[1]
            return int(part) if part.isdigit() else 0

        files = sorted((p for p in path.glob("events_*") if "." not in p.name.split("_")[-1]
                        or p.name.endswith(".inprogress")), key=number)
    for file in files:
        with file.open(errors="replace") as fh:
            yield from fh


def _union(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by intervals that may overlap (broadcasts run beside a write)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def event_log_figures(lines: Iterable[str], window: tuple[float, float] | None = None,
                      ) -> dict[str, float]:
    """From a Spark event log: seconds the first job waited for an executor, the seconds
    some job ran (overlapping jobs counted once) and the SQL executions' commit time (after
    their last job ended), within `window` (epoch seconds: the job's writes) if given."""
    lo, hi = window or (float("-inf"), float("inf"))
    executor_added: list[float] = []
    job_start: dict[int, tuple[float, str | None]] = {}
    job_end: dict[int, float] = {}
    sql_end: dict[str, float] = {}
    for line in lines:
        if '"Event"' not in line:
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # the last line of a log still being written
        kind = event.get("Event", "")
        if kind == "SparkListenerExecutorAdded":
            executor_added.append(event["Timestamp"] / 1000)
        elif kind == "SparkListenerJobStart":
            props = event.get("Properties") or {}
            job_start[event["Job ID"]] = (event["Submission Time"] / 1000,
                                          props.get("spark.sql.execution.id"))
        elif kind == "SparkListenerJobEnd":
            job_end[event["Job ID"]] = event["Completion Time"] / 1000
        elif kind.endswith("SparkListenerSQLExecutionEnd"):
            sql_end[str(event["executionId"])] = event["time"] / 1000
    jobs = sorted((max(start, lo), min(job_end[j], hi), sql)
                  for j, (start, sql) in job_start.items() if j in job_end)
    jobs = [j for j in jobs if j[1] > j[0]]
    if not jobs:
        return {}
    first_job = jobs[0][0]
    waited = 0.0
    if executor_added and min(executor_added) > first_job:
        waited = min(min(executor_added), hi) - first_job
    running = _union([(start, end) for start, end, _ in jobs])
    last_job_of: dict[str, float] = {}
    for _, end, sql in jobs:
        if sql is not None:
            last_job_of[sql] = max(end, last_job_of.get(sql, end))
    commit = _union([(end, min(sql_end[sql], hi)) for sql, end in last_job_of.items()
                     if sql in sql_end])
    return {"executors": waited, "compute": max(running - waited, 0.0), "commit": commit}


def spark_phases(metrics: Mapping, launched_at: float | None, ended_at: float | None,
                 event_log: Path | None = None) -> dict[str, float]:
    """The phases of one spark-submit: `launched_at`/`ended_at` the launcher's epoch
    seconds, `metrics` the job's metrics line (its `marks`), `event_log` its Spark event
    log when there is one. Empty when the job printed no marks."""
    marks = metrics.get("marks") or {}
    if not {"python", "main", "session", "read", "written"} <= marks.keys():
        return {}
    phases: dict[str, float] = {}
    if launched_at is not None:
        phases["driver start"] = _r(marks["main"] - launched_at)
    phases["session"] = _r(marks["session"] - marks["main"])
    phases["read"] = _r(marks["read"] - marks["session"])
    writing = marks["written"] - marks["read"]
    figures: dict[str, float] = {}
    if event_log is not None and event_log.exists():
        figures = event_log_figures(event_log_lines(event_log),
                                    (marks["read"], marks["written"]))
    inside = sum(figures.values())
    if figures and inside <= writing + 0.05:
        phases.update({k: _r(v) for k, v in figures.items()})
        phases["write"] = _r(writing - inside)
    else:
        phases["write"] = _r(writing)
    if ended_at is not None:
        phases["stop"] = _r(ended_at - marks["written"])
    return phases


def parse_metrics(stdout: str) -> dict:
    """The last `<name>-metrics {json}` line a job printed (session_start_s, job_s, ...)."""
    metrics: dict = {}
    for line in stdout.splitlines():
        name, _, payload = line.partition(" ")
        if name.endswith("-metrics") and payload.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                metrics = json.loads(payload)
    return metrics


def controller_lines(phases: Mapping[str, float]) -> list[str]:
    """The phases as controller log lines (`PHASE name=seconds`)."""
    return [f"{PHASE_PREFIX}{name}={seconds:.3f}" for name, seconds in phases.items()]


def parse_controller(text: str) -> dict[str, float]:
    """The phases a step's controller log records."""
    phases: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(PHASE_PREFIX):
            name, _, value = line[len(PHASE_PREFIX):].rpartition("=")
            try:
                phases[name] = float(value)
            except ValueError:
                continue
    return phases


def ordered(phases: Mapping[str, float]) -> dict[str, float]:
    """The phases in the order a run passes them (unknown names last, as given)."""
    known = [p for p in ORDER if p in phases]
    return {**{p: phases[p] for p in known},
            **{p: v for p, v in phases.items() if p not in ORDER}}


class StepClock:
    """The step runner's own phases: `lap(name)` ends a phase of its bookkeeping (downloads,
    the environment check), `launch()` marks the step's command starting; then
    `controller_lines` adds the Spark phases of the command (from its stdout's metrics line
    and the job flow's event log) for the step's controller log."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._last = time.time()
        self.launched_at: float | None = None

    def lap(self, name: str) -> None:
        now = time.time()
        self.phases[name] = _r(now - self._last)
        self._last = now

    def launch(self) -> None:
        self.launched_at = time.time()

    def controller_lines(self, stdout: Path, event_logs: Path) -> list[str]:
        ended_at = time.time()
        try:
            metrics = parse_metrics(stdout.read_text(errors="replace"))
        except OSError:
            metrics = {}
        spark = spark_phases(metrics, self.launched_at, ended_at,
                             event_log_file(event_logs, metrics.get("app_id")))
        if not spark and self.launched_at is not None:  # not a job that prints its marks
            spark = {"command": _r(ended_at - self.launched_at)}
        return controller_lines({**self.phases, **spark})


def step_phases(controller: Mapping[str, float], timeline: Mapping, added_at: float,
                seen_at: float) -> dict[str, float]:
    """An EMR step's phases as its client sees them: queued (add_job_flow_steps until the
    step started), the controller log's phases, the runner's bookkeeping after the command
    exited (log upload, the state change), and the client's polling lag; from the step's
    Timeline (StartDateTime, EndDateTime) and the client's clock."""
    start, end = timeline.get("StartDateTime"), timeline.get("EndDateTime")
    if not controller or start is None or end is None:
        return dict(controller)
    start_s, end_s = start.timestamp(), end.timestamp()
    inside = sum(controller.values())
    return ordered({"step queued": _r(start_s - added_at), **controller,
                    "step after exit": _r(end_s - start_s - inside),
                    "polling": _r(seen_at - end_s)})
