"""Resource arguments written for EMR, rehearsed on the local workers.

A step's spark-submit asks for executors sized for EMR's instances (`--executor-memory 8g
--executor-cores 4 --num-executors 4` on r5.2xlarge). Locally the same request would ask
the standalone master for executors no worker can host, and the application would wait for
ever. So, as the README's "Resource arguments" section states:

1. First, what YARN on EMR would do: an executor container (memory + overhead + PySpark
   memory + off-heap) larger than yarn.scheduler.maximum-allocation-mb of the cluster's
   executor instance type fails the application at once, with Spark's own message (Spark's
   yarn Client.verifyClusterResources); in cluster deploy mode the driver's container (the
   AM) is checked too.
2. Then every size is scaled keeping its ratio to the EMR instance: an executor that takes
   a share of an instance's YARN memory (or vCPUs) takes the same share of the local worker
   (at least Spark's minimum, at most what the smallest worker holds); executor counts and
   core totals keep their share of the cluster; the driver's memory keeps its share of the
   master instance, within what this host gives a local driver.
3. With StepConcurrencyLevel > 1, an application gets its share of the cluster's cores
   (spark.cores.max) and executors small enough for the others' to fit beside them, as YARN
   shares containers between concurrent applications, instead of the first taking all.
Every rewrite is a note for the step's controller log.

`watch_executors` bounds the wait for executors: an application that has none for
HARNESS_EMR_EXECUTOR_WAIT_S seconds (while no other application of the cluster holds
executors, which would be YARN-like queueing) fails the step with the reason.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.catalog import InstanceType
from harness.cluster.topology import EXECUTOR_HEADROOM_MB, Topology
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.cluster import NodeProcess, RunningCluster

MIN_EXECUTOR_MB = 512  # Spark refuses executors under 450 MB of heap
MIN_DRIVER_MB = 512
MAX_DRIVER_MB = 1024  # a local driver shares this host with every node
OVERHEAD_FACTOR = 0.10  # spark.executor.memoryOverheadFactor's default
MIN_OVERHEAD_MB = 384  # Spark's minimum memory overhead on YARN
DEFAULT_EXECUTOR_WAIT_S = 120.0

# spark-submit options that take a value (the others are flags)
VALUED = {
    "--master", "--deploy-mode", "--class", "--name", "--jars", "--packages",
    "--exclude-packages", "--repositories", "--py-files", "--files", "--archives", "--conf",
    "-c", "--properties-file", "--driver-memory", "--driver-java-options",
    "--driver-library-path", "--driver-class-path", "--executor-memory", "--proxy-user",
    "--driver-cores", "--total-executor-cores", "--executor-cores", "--num-executors",
    "--queue", "--principal", "--keytab",
}
# the option forms and the Spark property each one sets
OPTIONS = {
    "--executor-memory": "spark.executor.memory",
    "--executor-cores": "spark.executor.cores",
    "--driver-memory": "spark.driver.memory",
    "--num-executors": "spark.executor.instances",
    "--total-executor-cores": "spark.cores.max",
}
SCALED = set(OPTIONS.values())
YARN_MESSAGE_TAIL = ("of this cluster! Please check the values of "
                     "'yarn.scheduler.maximum-allocation-mb' and/or "
                     "'yarn.nodemanager.resource.memory-mb'.")


class ResourceRequestError(HarnessError):
    """A resource request YARN on EMR refuses (the step fails at once, as on EMR)."""


def yarn_memory_mb(itype: InstanceType) -> int:
    """yarn.nodemanager.resource.memory-mb (= yarn.scheduler.maximum-allocation-mb) EMR
    sets for an instance type: 3/4 of its memory up to 32 GiB, its memory less 8 GiB above
    (EMR's table: m5.xlarge 12288, r5.xlarge 24576, r5.2xlarge 57344, c5.xlarge 6144)."""
    mib = int(itype.memory_gib * 1024)
    return mib * 3 // 4 if itype.memory_gib <= 32 else mib - 8192


def executor_type(topology: Topology) -> InstanceType:
    """The instance type YARN sizes executors against: the CORE group's, else the largest
    TASK group's; a single-node cluster's master."""
    groups = [g for g in topology.groups if g.role == "CORE" and g.count > 0] or \
        sorted((g for g in topology.groups if g.role == "TASK" and g.count > 0),
               key=lambda g: -g.instance_type.memory_gib) or \
        [g for g in topology.groups if g.role == "MASTER"]
    return groups[0].instance_type


def parse_mb(value: str, what: str) -> int:
    """A JVM memory string (8g, 8192m, 8G, 1t; no unit: MiB) in MiB."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*", value.lower())
    if not match:
        raise ResourceRequestError(f"{what} {value!r} is not a memory size",
                                   "give a size such as 8g or 8192m")
    number, unit = float(match.group(1)), match.group(2) or "m"
    return int(number * {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}[unit])


def _parse_int(value: str, what: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ResourceRequestError(f"{what} {value!r} is not a whole number",
                                   "give a whole number") from None
    if number < 1:
        raise ResourceRequestError(f"{what} {value!r} must be at least 1", "give 1 or more")
    return number


@dataclass
class _Setting:
    """Where a resource setting was given: args[index] holds `form` (an option's value,
    `--opt=value`, or `--conf key=value`)."""

    key: str
    value: str
    index: int
    form: str  # "option" (value in args[index]), "inline" (--opt=value), "conf" (k=v)
    prefix: str = ""


def _settings(args: list[str]) -> tuple[dict[str, _Setting], dict[str, str], int]:
    """The resource settings of spark-submit's options (last one wins, as in Spark), every
    --conf, and where the primary resource starts."""
    found: dict[str, _Setting] = {}
    conf: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=")
        if arg.startswith("--") and eq and name in VALUED:
            value, at, form, prefix = inline, i, "inline", f"{name}="
            i += 1
        elif arg in VALUED and i + 1 < len(args):
            name, value, at, form, prefix = arg, args[i + 1], i + 1, "option", ""
            i += 2
        elif arg.startswith("-"):
            i += 1
            continue
        else:
            return found, conf, i
        if name in OPTIONS:
            found[OPTIONS[name]] = _Setting(OPTIONS[name], value, at, form, prefix)
        elif name in {"--conf", "-c"}:
            key, _, val = value.partition("=")
            conf[key.strip()] = val.strip()
            if key.strip() in SCALED:
                found[key.strip()] = _Setting(key.strip(), val.strip(), at, "conf",
                                              f"{prefix}{key}=")
    return found, conf, len(args)


def scale_submit_args(args: list[str], topology: Topology,
                      concurrency: int = 1) -> tuple[list[str], list[str]]:
    """spark-submit's arguments (after `spark-submit`) with EMR-sized resource requests
    scaled to the local workers, and a note per rewrite. ResourceRequestError when YARN on
    EMR would refuse the request (its message). `concurrency`: the cluster's
    StepConcurrencyLevel, whose applications share the cluster."""
    found, conf, primary = _settings(args)
    itype = executor_type(topology)
    yarn_mb = yarn_memory_mb(itype)
    notes: list[str] = []
    out = list(args)
    deploy_cluster = any(a in {"--deploy-mode=cluster"} for a in args[:primary]) or any(
        a == "--deploy-mode" and i + 1 < primary and args[i + 1] == "cluster"
        for i, a in enumerate(args[:primary]))
    _check_yarn(found, conf, yarn_mb, deploy_cluster)

    workers = topology.workers
    smallest = min(workers, key=lambda w: w.memory_mb)
    cores_each = min(w.cores for w in workers)
    total_cores = topology.total_cores
    emr_vcpus = sum(g.count * g.instance_type.vcpu for g in topology.groups
                    if g.role != "MASTER") or itype.vcpu
    local_cap = topology.executor_memory_mb
    if concurrency > 1:  # executors small enough for the others' beside them
        local_cap = max(MIN_EXECUTOR_MB, min(local_cap,
                                             smallest.memory_mb // concurrency
                                             - EXECUTOR_HEADROOM_MB // concurrency))

    def rewrite(setting: _Setting, new: str, why: str) -> None:
        old = out[setting.index]
        out[setting.index] = f"{setting.prefix}{new}" if setting.form != "option" else new
        notes.append(f"resources: {old} -> {out[setting.index]} ({why})"
                     if setting.form != "option" else
                     f"resources: {_label(setting)} {old} -> {new} ({why})")

    executor_mb = local_cap
    if "spark.executor.memory" in found:
        setting = found["spark.executor.memory"]
        asked = parse_mb(setting.value, _label(setting))
        container = asked + _overhead(asked, conf)
        share = container / yarn_mb
        worker_mb = smallest.memory_mb - EXECUTOR_HEADROOM_MB
        executor_mb = max(MIN_EXECUTOR_MB, min(local_cap, round(share * worker_mb)))
        rewrite(setting, f"{executor_mb}m",
                f"an executor container took {share:.0%} of an {itype.name}'s {yarn_mb} MB "
                f"of YARN memory; the same share of {smallest.name}'s {worker_mb} MB, within "
                f"[{MIN_EXECUTOR_MB}, {local_cap}] MB")
    executor_cores = cores_each
    if "spark.executor.cores" in found:
        setting = found["spark.executor.cores"]
        asked = _parse_int(setting.value, _label(setting))
        executor_cores = max(1, min(cores_each, round(asked * cores_each / itype.vcpu)))
        rewrite(setting, str(executor_cores),
                f"{asked} of an {itype.name}'s {itype.vcpu} vCPUs; the same share of a local "
                f"worker's {cores_each} cores, at least 1")
    per_worker = [min(w.memory_mb // (executor_mb + EXECUTOR_HEADROOM_MB // 2) or 1,
                      w.cores // executor_cores or 1) for w in workers]
    local_slots = sum(per_worker)
    if "spark.executor.instances" in found:
        setting = found["spark.executor.instances"]
        asked = _parse_int(setting.value, _label(setting))
        emr_per_node = max(1, yarn_mb // _emr_container_mb(found, conf))
        emr_slots = emr_per_node * max(1, sum(g.count for g in topology.groups
                                              if g.role != "MASTER"))
        local = max(1, min(local_slots, round(asked * local_slots / emr_slots)))
        rewrite(setting, str(local),
                f"{asked} of the {emr_slots} executors the EMR cluster holds; the same share "
                f"of the {local_slots} the local workers hold, at least 1")
        if "spark.cores.max" not in found and "spark.cores.max" not in conf:
            out[primary:primary] = ["--conf", f"spark.cores.max={local * executor_cores}"]
            notes.append(f"resources: --conf spark.cores.max={local * executor_cores} added "
                         f"(Spark standalone starts executors up to spark.cores.max: "
                         f"{local} executors of {executor_cores} cores)")
            primary += 2
    if "spark.cores.max" in found:
        setting = found["spark.cores.max"]
        asked = _parse_int(setting.value, _label(setting))
        local = max(executor_cores, min(total_cores, round(asked * total_cores / emr_vcpus)))
        rewrite(setting, str(local),
                f"{asked} of the EMR cluster's {emr_vcpus} vCPUs; the same share of the "
                f"local workers' {total_cores} cores")
    if "spark.driver.memory" in found:
        setting = found["spark.driver.memory"]
        asked = parse_mb(setting.value, _label(setting))
        master = next(g for g in topology.groups if g.role == "MASTER").instance_type
        master_mb = int(master.memory_gib * 1024)
        local = max(MIN_DRIVER_MB, min(MAX_DRIVER_MB, round(asked / master_mb * 4096)))
        rewrite(setting, f"{local}m",
                f"{asked / master_mb:.0%} of the {master.name} master's {master_mb} MB; the "
                f"same share of 4096 MB, within [{MIN_DRIVER_MB}, {MAX_DRIVER_MB}] MB for a "
                "driver on this host")
    if concurrency > 1:
        added = []
        if "spark.cores.max" not in found and "spark.cores.max" not in conf and \
                "spark.executor.instances" not in found:
            share = max(executor_cores, total_cores // concurrency)
            added += ["--conf", f"spark.cores.max={share}"]
            notes.append(f"resources: StepConcurrencyLevel {concurrency}: --conf "
                         f"spark.cores.max={share} added (this application's share of the "
                         f"cluster's {total_cores} cores, as YARN shares containers between "
                         "concurrent applications)")
        if "spark.executor.memory" not in found:
            added += ["--conf", f"spark.executor.memory={local_cap}m"]
            notes.append(f"resources: StepConcurrencyLevel {concurrency}: --conf "
                         f"spark.executor.memory={local_cap}m added (executors small enough "
                         f"for {concurrency} applications' beside each other on a worker)")
        out[primary:primary] = added
    return out, notes


def scale_spark_conf(properties: dict[str, str],
                     topology: Topology) -> tuple[dict[str, str], list[str]]:
    """The same scaling for Spark properties given as configuration (e.g. the job flow's
    `spark-defaults` classification, `maximizeResourceAllocation` aside): (properties with
    the resource settings scaled, notes)."""
    args = [a for key, value in properties.items() for a in ("--conf", f"{key}={value}")]
    scaled, notes = scale_submit_args([*args, "-"], topology)
    out = dict(properties)
    for value in scaled[1:-1:2]:
        key, _, new = value.partition("=")
        out[key] = new
    return out, notes


def _label(setting: _Setting) -> str:
    if setting.form == "conf":
        return f"--conf {setting.key}"
    return next(opt for opt, key in OPTIONS.items() if key == setting.key)


def _overhead(memory_mb: int, conf: dict[str, str]) -> int:
    if conf.get("spark.executor.memoryOverhead"):
        return parse_mb(conf["spark.executor.memoryOverhead"], "spark.executor.memoryOverhead")
    factor = float(conf.get("spark.executor.memoryOverheadFactor", OVERHEAD_FACTOR))
    return max(MIN_OVERHEAD_MB, int(memory_mb * factor))


def _extra(conf: dict[str, str]) -> tuple[int, int]:
    """PySpark memory and off-heap memory of an executor container, in MiB."""
    pyspark = parse_mb(conf["spark.executor.pyspark.memory"], "spark.executor.pyspark.memory") \
        if conf.get("spark.executor.pyspark.memory") else 0
    off_heap = parse_mb(conf.get("spark.memory.offHeap.size", "0"), "spark.memory.offHeap.size") \
        if conf.get("spark.memory.offHeap.enabled", "false").lower() == "true" else 0
    return pyspark, off_heap


def _emr_container_mb(found: dict[str, _Setting], conf: dict[str, str]) -> int:
    memory = parse_mb(found["spark.executor.memory"].value, "executor memory") \
        if "spark.executor.memory" in found else 4096
    pyspark, off_heap = _extra(conf)
    return memory + _overhead(memory, conf) + pyspark + off_heap


def _check_yarn(found: dict[str, _Setting], conf: dict[str, str], yarn_mb: int,
                deploy_cluster: bool) -> None:
    """Spark's YARN client refuses containers above the cluster's maximum allocation."""
    if "spark.executor.memory" in found:
        setting = found["spark.executor.memory"]
        memory = parse_mb(setting.value, _label(setting))
        overhead = _overhead(memory, conf)
        pyspark, off_heap = _extra(conf)
        if memory + off_heap + overhead + pyspark > yarn_mb:
            raise ResourceRequestError(
                f"java.lang.IllegalArgumentException: Required executor memory ({memory} MB), "
                f"offHeap memory ({off_heap}) MB, overhead ({overhead} MB), and PySpark memory "
                f"({pyspark} MB) is above the max threshold ({yarn_mb} MB) {YARN_MESSAGE_TAIL}",
                "ask for executors that fit the instance type's YARN memory, as on EMR")
    if deploy_cluster and "spark.driver.memory" in found:
        setting = found["spark.driver.memory"]
        memory = parse_mb(setting.value, _label(setting))
        overhead = max(MIN_OVERHEAD_MB, int(memory * OVERHEAD_FACTOR))
        if memory + overhead > yarn_mb:
            raise ResourceRequestError(
                f"java.lang.IllegalArgumentException: Required AM memory ({memory}+{overhead} "
                f"MB) is above the max threshold ({yarn_mb} MB) {YARN_MESSAGE_TAIL}",
                "ask for a driver that fits the instance type's YARN memory, as on EMR")


# -- a bounded wait for executors -------------------------------------------------------

_claims_lock = threading.Lock()
_claimed: set[str] = set()


def watch_executors(process: NodeProcess, cluster: RunningCluster, since: float,
                    wait_s: float = DEFAULT_EXECUTOR_WAIT_S,
                    poll_s: float = 2.0) -> tuple[int, str | None]:
    """Wait for a step's process. Its Spark application (the first one of the cluster to
    register at or after `since`, a time.time()) that has no executor for `wait_s` while no
    other application holds executors is stopped: returns (exit code, the reason) then,
    else (exit code, None)."""
    try:
        return _watch(process, cluster, since, wait_s, poll_s)
    finally:
        with _claims_lock:
            _claimed.difference_update(_mine.pop(id(process), set()))


_mine: dict[int, set[str]] = {}  # the app ids each watched process claimed


def _watch(process: NodeProcess, cluster: RunningCluster, since: float, wait_s: float,
           poll_s: float) -> tuple[int, str | None]:
    app_id: str | None = None
    starved_since: float | None = None
    while True:
        try:
            return process.wait(timeout=poll_s), None
        except subprocess.TimeoutExpired:
            pass
        try:
            status = cluster.master_status(timeout=2.0)
        except (OSError, ValueError):
            continue
        apps = status.get("activeapps", [])
        if app_id is None:
            app_id = _claim(apps, since)
            if app_id is not None:
                _mine.setdefault(id(process), set()).add(app_id)
        app = next((a for a in apps if a.get("id") == app_id), None)
        if app is None or app.get("cores", 0) > 0 or any(
                a.get("cores", 0) > 0 for a in apps if a.get("id") != app_id):
            starved_since = None  # running, not registered yet, or queued behind another
            continue
        starved_since = starved_since or time.monotonic()
        if time.monotonic() - starved_since < wait_s:
            continue
        process.stop(grace_s=5.0)
        rc = process.wait()
        return rc, _starved(app, status, wait_s)


def _claim(apps: list[dict[str, Any]], since: float) -> str | None:
    with _claims_lock:
        mine = sorted((a for a in apps if a.get("id") not in _claimed
                       and a.get("starttime", 0) >= since * 1000 - 1000),
                      key=lambda a: a.get("starttime", 0))
        if not mine:
            return None
        _claimed.add(mine[0]["id"])
        return mine[0]["id"]


def _starved(app: dict[str, Any], status: dict[str, Any], wait_s: float) -> str:
    memory = app.get("memoryperexecutor", app.get("memoryperslave", "?"))
    workers = [w for w in status.get("workers", []) if w.get("state") == "ALIVE"]
    offers = ", ".join(f"{w.get('coresfree', 0)} cores and {w.get('memoryfree', 0)} MB free"
                       for w in workers) or "no live worker"
    return (f"The application {app.get('id')} got no executors within {wait_s:.0f} s: it asks "
            f"for {memory} MB per executor, and the local workers offer {offers} "
            "(HARNESS_EMR_EXECUTOR_WAIT_S bounds this wait)")

