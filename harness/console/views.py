"""The data each console page shows, shaped from what harness.console.reads returned: rows
of the cluster list, a cluster's nodes, steps and estimated cost, a step's logs with the
failure line, the benchmark runs under the work directory."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from harness.aws.s3 import cluster_log_base
from harness.console import helpers
from harness.console.reads import LOG_NAMES, Reads, now
from harness.errors import HarnessError
from harness.verdicts import last_verdict

_LOCAL_NODE = re.compile(r"(?:local worker|local Spark master) (\S+?)(?:,|$|\s)")
_HISTORY_IN_LOG = re.compile(r"Spark History Server[^:]*: (http://\S+)")
_UI_IN_LOG = re.compile(r"started at (http://\S+)")


def cluster_rows(clusters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cluster list's rows, newest first."""
    at = now()
    rows = []
    for c in clusters:
        timeline = c["Status"].get("Timeline") or {}
        created = timeline.get("CreationDateTime")
        rows.append({
            "id": c["Id"], "name": c["Name"], "state": c["Status"]["State"],
            "reason": (c["Status"].get("StateChangeReason") or {}).get("Message", ""),
            "release": c.get("ReleaseLabel") or "-", "spark": c.get("Spark", "?"),
            "created": created,
            "age": helpers.span(helpers.elapsed(created, None, at)),
            "ran": helpers.span(helpers.elapsed(created, timeline.get("EndDateTime"), at)),
            "hours": c.get("NormalizedInstanceHours", 0),
        })
    rows.sort(key=lambda r: r["created"] or at, reverse=True)
    return rows


def step_rows(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps table: newest first, as ListSteps answers and EMR's console shows."""
    at = now()
    rows = []
    for s in steps:
        status = s["Status"]
        timeline = status.get("Timeline") or {}
        start, end = timeline.get("StartDateTime"), timeline.get("EndDateTime")
        failure = status.get("FailureDetails") or {}
        rows.append({
            "id": s["Id"], "name": s["Name"], "state": status["State"],
            "action_on_failure": s.get("ActionOnFailure", ""),
            "created": timeline.get("CreationDateTime"), "start": start, "end": end,
            "duration": helpers.span(helpers.elapsed(start, end, at)),
            "reason": failure.get("Message") or
            (status.get("StateChangeReason") or {}).get("Message", ""),
            "jar": (s.get("Config") or {}).get("Jar", ""),
            "args": (s.get("Config") or {}).get("Args", []),
        })
    return rows


def node_rows(instances: list[dict[str, Any]], groups: list[dict[str, Any]],
              fleets: list[dict[str, Any]], local: dict[str, Any] | None,
              cluster_id: str) -> list[dict[str, Any]]:
    """Every EMR instance with the local node that rehearses it and that node's size."""
    owners = {g["Id"]: (g.get("InstanceGroupType"), g.get("Name")) for g in groups}
    owners |= {f["Id"]: (f.get("InstanceFleetType"), f.get("Name")) for f in fleets}
    nodes = (local or {}).get("nodes", {})
    rows = []
    for i in instances:
        role, group = owners.get(i.get("InstanceGroupId") or i.get("InstanceFleetId") or "",
                                 ("?", "?"))
        reason = (i["Status"].get("StateChangeReason") or {}).get("Message", "")
        match = _LOCAL_NODE.search(reason)
        name = match.group(1) if match else None
        node = nodes.get(name) if name else None
        size = None
        if node is not None and node.spec.daemon == "worker":
            cores = node.spec.cores
            size = f"{cores} core{'s' if cores != 1 else ''}, {node.spec.memory_mb} MB"
        elif node is not None:
            size = "Spark master (no executors)"
        ec2 = i.get("Ec2InstanceId") or i["Id"]
        rows.append({
            "id": i["Id"], "ec2": ec2, "role": role, "group": group,
            "type": i.get("InstanceType", ""), "market": i.get("Market", ""),
            "state": i["Status"]["State"], "reason": reason, "local": name,
            "size": size, "ui_url": node.ui_url if node is not None else None,
            "logs": f"/console/clusters/{cluster_id}/logs?prefix=node/{ec2}/",
        })
    order = {"MASTER": 0, "CORE": 1, "TASK": 2}
    rows.sort(key=lambda r: (order.get(r["role"], 3), r["group"] or "", r["ec2"]))
    return rows


def cost(cluster: dict[str, Any], groups: list[dict[str, Any]],
         instances: list[dict[str, Any]], region: str) -> dict[str, Any]:
    """What the time the cluster ran would cost on EMR (on-demand, and as declared: its
    SPOT groups at spot prices), or why it cannot be priced."""
    from harness.cost.estimate import estimate

    timeline = cluster["Status"].get("Timeline") or {}
    seconds = helpers.elapsed(timeline.get("CreationDateTime"), timeline.get("EndDateTime"),
                              now()) or 0.0
    if groups:
        specs = [{"Name": g.get("Name"), "InstanceRole": g["InstanceGroupType"],
                  "InstanceType": g["InstanceType"],
                  "InstanceCount": g.get("RequestedInstanceCount", 0),
                  "Market": g.get("Market", "ON_DEMAND")} for g in groups]
    else:  # fleets: the instances they got, by type and market
        counted = Counter((i.get("InstanceType"), i.get("Market", "ON_DEMAND"))
                          for i in instances)
        specs = [{"Name": f"{t} {m.lower()}", "InstanceRole": "CORE", "InstanceType": t,
                  "InstanceCount": n, "Market": m} for (t, m), n in counted.items()]
    specs = [s for s in specs if s["InstanceCount"]]
    try:
        result = estimate(specs, seconds, region)
    except HarnessError as exc:
        return {"error": exc.one_line(), "seconds": seconds}
    return {"seconds": seconds, "span": helpers.span(seconds),
            "on_demand": result.on_demand_total, "as_declared": result.spot_total,
            "groups": result.groups, "region": region}


def timeline(cluster: dict[str, Any], steps: list[dict[str, Any]],
             most: int = 30) -> list[dict[str, Any]]:
    """The cluster's status timeline, newest first: created, ready, each step's start and
    end, the end with its state-change reason (EMR keeps times, not a history of states)."""
    status = cluster["Status"]
    times = status.get("Timeline") or {}
    reason = status.get("StateChangeReason") or {}
    events = [(times.get("CreationDateTime"), "STARTING", "Cluster created", "")]
    if times.get("ReadyDateTime"):
        events.append((times["ReadyDateTime"], "WAITING", "Cluster ready: nodes up, "
                       "bootstrap actions run, applications started", ""))
    for step in steps:
        step_times = step["Status"].get("Timeline") or {}
        name = f"Step {step['Name']} ({step['Id']})"
        if step_times.get("StartDateTime"):
            events.append((step_times["StartDateTime"], "RUNNING", f"{name} started", ""))
        if step_times.get("EndDateTime"):
            failure = step["Status"].get("FailureDetails") or {}
            events.append((step_times["EndDateTime"], step["Status"]["State"],
                           f"{name} {step['Status']['State'].lower()}",
                           failure.get("Message") or ""))
    if times.get("EndDateTime"):
        events.append((times["EndDateTime"], status["State"], "Cluster ended",
                       ": ".join(p for p in (reason.get("Code"), reason.get("Message")) if p)))
    events = [e for e in events if e[0] is not None]
    events.sort(key=lambda e: e[0], reverse=True)
    return [{"when": w, "state": st, "what": what, "reason": why}
            for w, st, what, why in events[:most]]


def cluster_page(reads: Reads, cluster_id: str) -> dict[str, Any]:
    """Everything the cluster page shows."""
    data = reads.cluster(cluster_id)
    cluster = data["cluster"]
    local = reads.local_cluster(cluster_id)
    request = helpers.clone_request(cluster, data["groups"], data["fleets"],
                                    data["bootstrap"], data["steps"])
    order = {"MASTER": 0, "CORE": 1, "TASK": 2}
    groups = sorted(data["groups"], key=lambda g: (order.get(g["InstanceGroupType"], 3),
                                                   g.get("Name") or ""))
    fleets = sorted(data["fleets"], key=lambda f: order.get(f["InstanceFleetType"], 3))
    return {
        "cluster": cluster, "status": cluster["Status"],
        "active": cluster["Status"]["State"] in helpers.ACTIVE_CLUSTER_STATES,
        "groups": groups, "fleets": fleets,
        "nodes": node_rows(data["instances"], data["groups"], data["fleets"], local,
                           cluster_id),
        "local": local, "bootstrap": data["bootstrap"],
        "configurations": json.dumps(cluster.get("Configurations") or [], indent=2),
        "steps": step_rows(data["steps"]),
        "timeline": timeline(cluster, data["steps"]),
        "cost": cost(cluster, data["groups"], data["instances"], reads.region),
        "clone_json": json.dumps(request, indent=2, default=str),
        "clone_cli": helpers.create_cluster_command(request, reads.endpoint_url),
        "logs": str(cluster_log_base(cluster.get("LogUri"), cluster_id) or ""),
    }


def log_lines(text: str | None, failed: bool = True) -> dict[str, Any] | None:
    """A log for the page: its lines as HTML (one span each, the failure line marked when
    `failed`; built here, as a template loop over thousands of lines is the slowest part of
    a step page), the failure line's index; None for no such log."""
    if text is None:
        return None
    lines = text.splitlines()
    failure = helpers.failure_line(text) if failed else None
    escaped = str(escape(text)).splitlines()  # one pass; escaping adds no line break
    spans = ['<span class="line">' + line + "</span>" for line in escaped]
    if failure is not None:
        spans[failure] = ('<span class="line failure" data-failure>' + escaped[failure]
                          + "</span>")
    html = "".join(spans)
    return {"html": Markup(html), "lines": len(lines), "failure": failure,
            "failure_text": lines[failure] if failure is not None else None,
            "size": len(text)}


def step_page(reads: Reads, cluster_id: str, step_id: str) -> dict[str, Any]:
    """Everything the step page shows: the step, its logs, its application's UIs."""
    step, fixed = reads.step(cluster_id, step_id)
    texts = reads.step_logs(fixed.get("LogUri"), cluster_id, step_id)
    # a completed step's logs may hold error-looking lines: only a failure has a failure line
    failed = step["Status"]["State"] in {"FAILED", "INTERRUPTED", "CANCELLED"}
    logs = {name: log_lines(texts[name], failed) for name in LOG_NAMES}
    local = reads.local_cluster(cluster_id)
    controller = texts.get("controller") or ""
    history = (local or {}).get("history_url")
    if history is None:
        match = _HISTORY_IN_LOG.search(controller)
        history = match.group(1) if match else None
    apps = helpers.application_ids(texts.get("stderr") or "", texts.get("stdout") or "")
    ui = _UI_IN_LOG.search(texts.get("stderr") or "")
    status = step["Status"]
    failed = {name for name, log in logs.items() if log and log["failure"] is not None}
    # the log EMR's FailureDetails points at is shown first
    log_file = (status.get("FailureDetails") or {}).get("LogFile", "")
    first = next((n for n in LOG_NAMES if log_file.endswith(f"/{n}.gz")), None)
    return {
        "step": step, "row": step_rows([step])[0], "cluster": fixed, "logs": logs,
        "active": status["State"] in helpers.ACTIVE_STEP_STATES,
        "failure": status.get("FailureDetails"), "failed_logs": failed,
        "open": first or ("stdout" if status["State"] == "COMPLETED" else
                          next(iter(sorted(failed)), "controller")),
        "history_url": history, "applications": apps,
        "app_ui": ui.group(1) if ui else None,
        "master_ui_url": (local or {}).get("master_ui_url"),
        "log_prefix": str(cluster_log_base(fixed.get("LogUri"), cluster_id) or ""),
    }


# -- benchmarks ------------------------------------------------------------------------------

def _kind(data: Any) -> str | None:
    if isinstance(data, dict) and "benchmarks" in data and "machine_info" in data:
        return "pytest-benchmark"
    if isinstance(data, dict) and "machine" in data and ("results" in data or "runs" in data):
        return "harness bench"
    return None


def benchmark_runs(work_dir: Path) -> dict[str, Any]:
    """The benchmark JSON runs, `harness report` pages and the gate's last verdict under
    the work directory (.harness/)."""
    runs, reports = [], []
    files = _files(work_dir)
    if files:
        for path in (p for p in files if p.suffix == ".json"):
            if path.stat().st_size > 50_000_000:
                continue
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError, UnicodeDecodeError):
                continue
            kind = _kind(data)
            if kind is None:
                continue
            names = [b.get("name", "?") for b in data.get("benchmarks", [])] \
                if kind == "pytest-benchmark" else []
            runs.append({"path": path.relative_to(work_dir).as_posix(), "kind": kind,
                         "when": datetime.fromtimestamp(path.stat().st_mtime),
                         "count": len(names) or len(data.get("results") or []),
                         "commit": ((data.get("commit_info") or {}).get("id") or "")[:10]})
        for index in (p for p in files if p.name == "index.html"):
            reports.append({"path": index.relative_to(work_dir).as_posix(),
                            "when": datetime.fromtimestamp(index.stat().st_mtime)})
    runs.sort(key=lambda r: r["when"], reverse=True)
    reports.sort(key=lambda r: r["when"], reverse=True)
    return {"runs": runs, "reports": reports, "gate": last_verdict(work_dir),
            "work_dir": work_dir}


# what job flows, endpoints and clusters keep under the work directory: no benchmark there
_NOT_BENCHMARKS = {"jobflows", "glue-catalog", "logs", "endpoint", "clusters", "spark-events"}


def _files(work_dir: Path, depth: int = 4) -> list[Path]:
    """The files under the work directory where benchmark runs and reports are written."""
    found: list[Path] = []
    for root, dirs, names in os.walk(work_dir):
        level = len(Path(root).relative_to(work_dir).parts)
        dirs[:] = [] if level >= depth else sorted(d for d in dirs if d not in _NOT_BENCHMARKS)
        found += [Path(root) / n for n in sorted(names)
                  if n.endswith(".json") or n == "index.html"]
    return found
