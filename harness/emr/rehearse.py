"""`harness rehearse JOBFLOW.json`: the job flow that will go to EMR, run unchanged on the
local endpoint and cluster, followed step by step, summarised, and cleaned up."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.aws.endpoint import Endpoint
from harness.aws.s3 import S3Uri, ensure_bucket, upload_dir
from harness.emr import validation
from harness.emr.controls import release_protection
from harness.emr.refusals import application_notes
from harness.errors import HarnessError, UsageError

TERMINAL = {"TERMINATED", "TERMINATED_WITH_ERRORS"}
STEP_END_STATES = {"COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED"}
TARGETS = ("local", "aws")  # the rehearsal, or the real run


def load_job_flow(path: Path) -> dict[str, Any]:
    """The run_job_flow request in the file, validated as EMR would before anything runs."""
    from harness.catalog import instance_types

    try:
        request = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"job flow file {path} does not exist", "pass the path of the "
                         "run_job_flow JSON") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc})", "fix the file") from None
    try:
        validation.check_shape("RunJobFlow", request)
        validation.check_run_job_flow(request, set(instance_types()))
    except validation.EmrApiError as exc:
        raise UsageError(f"{path}: {exc.code}: {exc.message}",
                         "fix the job flow; EMR would reject it the same way") from None
    return request


def real_aws(region: str | None) -> Endpoint:
    """The real-AWS target: the user's own credentials and region, both required."""
    import os

    import boto3

    from harness.aws import aws_target

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    endpoint = aws_target(region)
    if boto3.Session(region_name=endpoint.region).get_credentials() is None:
        raise HarnessError("no AWS credentials found for --target aws",
                           "configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID "
                           "and AWS_SECRET_ACCESS_KEY)")
    return endpoint


def confirm(question: str) -> bool:
    """Ask on the terminal; anything but y/yes (or no terminal at all) means no."""
    import sys

    if not sys.stdin or not sys.stdin.isatty():
        try:
            answer = input(f"{question} [y/N] ")
        except EOFError:
            return False
    else:
        answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in {"y", "yes"}


def runtime_note(release_label: str | None) -> str | None:
    """What the job flow runs: its release label's runtime (Spark, Scala, Python, ANSI),
    which the rehearsal installs and runs as EMR would (harness.runtimes)."""
    from harness.runtimes import UnknownReleaseLabel, runtime_for

    if not release_label:
        return None
    try:
        runtime = runtime_for(release_label)
    except UnknownReleaseLabel as exc:
        return exc.one_line()
    return f"runtime: {release_label} = {runtime.describe()}"


@dataclass
class StepSummary:
    id: str
    name: str
    state: str
    seconds: float | None
    logs: str | None
    reason: str | None


@dataclass
class RehearsalResult:
    cluster_id: str
    state: str
    state_reason: str
    steps: list[StepSummary]
    seconds_to_ready: float | None
    seconds_total: float = 0.0
    outputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.state == "COMPLETED" for s in self.steps)

    @property
    def step_seconds(self) -> float:
        """Seconds the steps ran, together."""
        return sum(s.seconds or 0 for s in self.steps)


def upload(endpoint: Endpoint, spec: str) -> str:
    """--upload DIR=s3://bucket/prefix: the directory's files, idempotently."""
    local, sep, target = spec.partition("=")
    if not sep or not target.startswith("s3://"):
        raise UsageError(f"--upload {spec!r} is not DIR=s3://BUCKET/PREFIX",
                         "e.g. --upload jobs=s3://my-code/jobs")
    path = Path(local)
    if not path.exists():
        raise UsageError(f"--upload: {path} does not exist", "pass an existing directory")
    uri = S3Uri.parse(target)
    s3 = endpoint.client("s3")
    ensure_bucket(s3, uri.bucket, endpoint.region)
    if path.is_file():
        s3.upload_file(str(path), uri.bucket, uri.key or path.name)
        return f"{path} -> {uri}"
    report = upload_dir(s3, path, uri)
    return f"{path} -> {uri} ({len(report.uploaded)} uploaded, {len(report.skipped)} unchanged)"


def parse_reclaim(spec: str) -> tuple[str, float]:
    """--reclaim NODE@SECONDS: the node, and seconds after the first step starts running."""
    node, sep, seconds = spec.partition("@")
    try:
        at = float(seconds)
        if not sep or not node or at < 0:
            raise ValueError
    except ValueError:
        raise UsageError(f"--reclaim {spec!r} is not NODE@SECONDS",
                         "e.g. --reclaim task-1@20 (20 s after the first step starts)") \
            from None
    return node, at


def rehearse(endpoint: Endpoint, request: dict[str, Any],
             on_event: Callable[[str], None] = print, timeout_s: float = 3600,
             reclaims: list[tuple[str, float]] | None = None,
             reclaim_notice_s: float | None = None) -> RehearsalResult:
    """Run the job flow through the EMR API and follow it to the end; `reclaims` (node,
    seconds after the first step starts) are spot reclaims the endpoint performs."""
    notes = []
    runtime = runtime_note(request.get("ReleaseLabel"))
    for note in ([runtime] if runtime else []) + application_notes(
            request.get("Applications", [])):
        notes.append(note)
        on_event(f"note: {note}")
    s3 = endpoint.client("s3")
    if request.get("LogUri") and endpoint.target == "local":
        # EMR needs the log bucket to exist; a fresh emulator has none (on AWS it is yours)
        log_bucket = S3Uri.parse(request["LogUri"].replace("s3n://", "s3://")).bucket
        if ensure_bucket(s3, log_bucket, endpoint.region):
            notes.append(f"created the LogUri bucket {log_bucket}")
    started = time.time()
    emr = endpoint.client("emr")
    try:
        cluster_id = emr.run_job_flow(**request)["JobFlowId"]
    except Exception as exc:  # noqa: BLE001 - the API's own validation message
        raise HarnessError(f"run_job_flow was rejected: {exc}", "fix the job flow") from None
    on_event(f"{cluster_id}: submitted")
    seen: dict[str, str] = {}
    ready_at = None
    deadline = time.time() + timeout_s
    pending = sorted(reclaims or [], key=lambda r: r[1])
    steps_from: float | None = None
    while True:
        cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
        state = cluster["Status"]["State"]
        reason = cluster["Status"].get("StateChangeReason", {}).get("Message") or ""
        if seen.get(cluster_id) != f"{state} {reason}":  # e.g. STARTING: how it is mapped
            seen[cluster_id] = f"{state} {reason}"
            on_event(f"{cluster_id}: {state}" + (f" ({reason})" if reason else ""))
        if ready_at is None and state in {"RUNNING", "WAITING"}:
            ready_at = time.time() - started
        steps = emr.list_steps(ClusterId=cluster_id)["Steps"]
        for step in reversed(steps):
            key, step_state = step["Id"], step["Status"]["State"]
            if seen.get(key) != step_state:
                seen[key] = step_state
                on_event(f"  step {step['Name']} ({key}): {step_state}")
        if steps_from is None and any(s["Status"]["State"] != "PENDING" for s in steps):
            steps_from = time.time()
        while pending and steps_from is not None and state not in TERMINAL \
                and time.time() >= steps_from + pending[0][1]:
            node, at = pending.pop(0)
            from harness.emr.admin import reclaim

            done = reclaim(endpoint.url or "", cluster_id, node, reclaim_notice_s)
            on_event(f"{cluster_id}: spot reclaim of {node} at {at:g} s (notice "
                     f"{done['notice_s']:g} s): instances {', '.join(done['instance_ids'])}")
        all_done = steps and all(s["Status"]["State"] in STEP_END_STATES for s in steps)
        if state in TERMINAL:
            break
        if state == "WAITING" and (all_done or not steps):
            # the rehearsal is over; a real cluster's protection stays the user's to remove
            local = endpoint.target == "local"
            if release_protection(emr, force=local, cluster_ids=[cluster_id]):
                notes.append("the job flow was termination protected: the rehearsal removed "
                             "the protection to end it once its steps were done")
            emr.terminate_job_flows(JobFlowIds=[cluster_id])
        if time.time() > deadline:
            release_protection(emr, force=endpoint.target == "local", cluster_ids=[cluster_id])
            emr.terminate_job_flows(JobFlowIds=[cluster_id])
            raise HarnessError(f"the job flow did not finish within {timeout_s:.0f} s",
                               "raise --timeout, or look at the step logs")
        time.sleep(0.5 if pending else 1.0)
    summaries = []
    listed = emr.list_steps(ClusterId=cluster_id)["Steps"]
    for step in reversed(listed):
        status = step["Status"]
        timeline = status.get("Timeline", {})
        seconds = None
        if timeline.get("StartDateTime") and timeline.get("EndDateTime"):
            seconds = (timeline["EndDateTime"] - timeline["StartDateTime"]).total_seconds()
        failure = status.get("FailureDetails") or {}
        logs = None
        if request.get("LogUri"):
            logs = f"{request['LogUri'].rstrip('/')}/{cluster_id}/steps/{step['Id']}/"
        summaries.append(StepSummary(step["Id"], step["Name"], status["State"], seconds, logs,
                                     failure.get("Message") or
                                     status.get("StateChangeReason", {}).get("Message")
                                     if status["State"] != "COMPLETED" else None))
    args = [arg for step in listed for arg in step.get("Config", {}).get("Args", [])]
    outputs, unreadable = written_since(s3, named_locations(args), started,
                                        request.get("LogUri"))
    notes += [f"outputs not looked for at {where}: {why}" for where, why in unreadable]
    status = cluster["Status"]
    return RehearsalResult(cluster_id, status["State"],
                           status.get("StateChangeReason", {}).get("Message", ""), summaries,
                           ready_at, time.time() - started, outputs, notes)


_S3_URI = re.compile(r"s3[an]?://[^\s,;'\"]+")


def named_locations(args: list[str]) -> list[S3Uri]:
    """The s3:// locations steps' arguments name (`s3://b/k`, `--opt=s3://...`, comma
    lists; s3a:// and s3n:// as s3://), each once."""
    found = {S3Uri.parse("s3://" + uri.split("://", 1)[1])
             for arg in args for uri in _S3_URI.findall(str(arg))}
    return sorted(found, key=str)


def written_since(s3, locations: list[S3Uri], since: float,  # noqa: ANN001
                  log_uri: str | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """Objects written at or under the named locations (as folders) since `since`, the
    job flow's logs under LogUri left out; and the locations that could not be listed, with
    S3's reason. Nothing else of the account is listed (on AWS: buckets the run never
    touched, some of them unreadable to these credentials)."""
    from harness.aws.s3 import S3Error, list_keys, under

    logs = S3Uri.parse(log_uri.replace("s3n://", "s3://")) if log_uri else None
    outputs: set[str] = set()
    unreadable = []
    for location in locations:
        try:
            for obj in list_keys(s3, location):
                if obj["LastModified"].timestamp() < since or (
                        logs and location.bucket == logs.bucket and under(obj["Key"], logs.key)):
                    continue
                outputs.add(f"s3://{location.bucket}/{obj['Key']}")
        except S3Error as exc:
            unreadable.append((str(location), exc.problem))
    return sorted(outputs), unreadable


# -- `harness rehearse` as functions: the CLI parses, asks for confirmation, prints --------


def check_target(target: str) -> None:
    """UsageError unless `target` is local (the rehearsal) or aws (the real run)."""
    if target not in TARGETS:
        raise UsageError(f"unknown target {target!r}", "use --target local or --target aws")


@contextmanager
def target_endpoint(real: Endpoint | None, endpoint_url: str | None, log: Path | None = None,
                    on_start: Callable[[], None] | None = None) -> Iterator[Endpoint]:
    """Where the job flow goes: real AWS (`real`, from real_aws), the endpoint at
    `endpoint_url`, or an embedded one started for the rehearsal and stopped after it."""
    from harness.aws import open_endpoint

    if real is not None:
        yield real
        return
    with open_endpoint(endpoint_url, None, log=log, on_start=on_start) as endpoint:
        yield endpoint


def check_completed(result: RehearsalResult) -> None:
    """HarnessError naming the steps that did not complete (exit 0 only when all did)."""
    if not result.ok:
        bad = [s.name for s in result.steps if s.state != "COMPLETED"] or ["(no steps)"]
        raise HarnessError(f"not every step completed: {', '.join(bad)}",
                           "read the step's stderr.gz under LogUri")
