"""One job flow's life, driven for real: a local cluster of its topology, bootstrap actions
on every node, steps in order, and EMR's states and reasons written back into moto's
records so the EMR API (describe_cluster, list_steps, the waiters) reports them.

Cluster: STARTING -> BOOTSTRAPPING -> RUNNING <-> WAITING -> TERMINATING -> TERMINATED
(or TERMINATED_WITH_ERRORS). Steps: PENDING -> RUNNING -> COMPLETED | FAILED, or
CANCELLED (cancel_steps, a failure's ActionOnFailure, termination) and INTERRUPTED
(terminated while running).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cluster import BACKENDS, NodeProcess, RunningCluster, build_topology
from harness.emr.steps import StepDefinitionError, plan_step
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.emr.controlplane import ControlPlane

TERMINAL = {"TERMINATED", "TERMINATED_WITH_ERRORS"}
STEP_DONE = {"COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED"}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class StepRun:
    id: str
    name: str
    jar: str
    args: list[str]
    action_on_failure: str
    state: str = "PENDING"
    process: NodeProcess | None = None
    failure: dict[str, str] | None = None
    started: float | None = None
    ended: float | None = None
    log_uri: str | None = None
    notes: list[str] = field(default_factory=list)


class JobFlow:
    """A job flow's cluster and steps; `run()` is its lifecycle thread."""

    def __init__(self, plane: ControlPlane, moto_cluster: Any, request: dict[str, Any]) -> None:
        self.plane = plane
        self.moto = moto_cluster
        self.id: str = moto_cluster.id
        self.request = request
        self.dir = plane.work_dir / "jobflows" / self.id
        self.dir.mkdir(parents=True, exist_ok=True)
        instances = request.get("Instances", {})
        self.keep_alive = bool(instances.get("KeepJobFlowAliveWhenNoSteps", False))
        self.concurrency = int(request.get("StepConcurrencyLevel", 1))
        self.log_uri: str | None = request.get("LogUri")
        self.cluster: RunningCluster | None = None
        self.backend = BACKENDS[plane.backend](java_home=plane.java_home)
        self.steps: dict[str, StepRun] = {}
        self.lock = threading.RLock()
        self.wake = threading.Condition(self.lock)
        self.state = "STARTING"
        self.terminate_requested = False
        self.spark_conf_dir = self.dir / "spark-conf"
        for step in moto_cluster.steps:
            self._track(step)
        # moto declares the cluster ready (and may end it) the moment it is created
        moto_cluster.ready_datetime = None
        moto_cluster.end_datetime = None
        moto_cluster.last_state_change_reason = "Provisioning local nodes"
        self.sync()
        self.thread = threading.Thread(target=self.run, name=f"jobflow-{self.id}",
                                       daemon=True)

    # -- state written back to moto ------------------------------------------------------

    def _track(self, step: Any) -> None:
        self.steps[step.id] = StepRun(step.id, step.name, step.jar, list(step.args),
                                      step.action_on_failure)

    def sync(self) -> None:
        """Write our states into moto's records (moto's handlers change them on their own)."""
        with self.lock:
            self.moto.state = self.state
            by_id = {s.id: s for s in self.moto.steps}
            for run in self.steps.values():
                step = by_id.get(run.id)
                if step is None:
                    continue
                step.state = run.state
                step.failure_details = run.failure
                if run.started and step.start_date_time is None:
                    step.start_date_time = datetime.fromtimestamp(run.started, UTC)
                if run.ended and step.end_date_time is None:
                    step.end_date_time = datetime.fromtimestamp(run.ended, UTC)

    def _set(self, state: str, code: str | None = None, message: str | None = None) -> None:
        with self.lock:
            self.state = state
            self.moto.last_state_change_code = code
            self.moto.last_state_change_reason = message
            if state in {"RUNNING", "WAITING"} and self.moto.ready_datetime is None:
                self.moto.ready_datetime = _now()
            if state in TERMINAL:
                self.moto.end_datetime = _now()
            self.sync()
            self.wake.notify_all()
        self.plane.log(f"{self.id}: {state}" + (f" ({code}: {message})" if code else ""))

    # -- requests ------------------------------------------------------------------------

    def steps_added(self, step_ids: list[str]) -> None:
        with self.lock:
            for step in self.moto.steps:
                if step.id in step_ids:
                    self._track(step)
            self.sync()
            self.wake.notify_all()

    def cancel(self, step_ids: list[str]) -> list[dict[str, str]]:
        """cancel_steps: PENDING steps are cancelled; others are reported as not cancelled."""
        result = []
        with self.lock:
            for step_id in step_ids:
                run = self.steps.get(step_id)
                if run is not None and run.state == "PENDING":
                    self._finish_step(run, "CANCELLED", message="Cancelled by cancel_steps")
                    result.append({"StepId": step_id, "Status": "SUBMITTED", "Reason": ""})
                else:
                    state = run.state if run else "unknown"
                    result.append({"StepId": step_id, "Status": "FAILED",
                                   "Reason": f"Step is {state}; only PENDING steps can be "
                                             "cancelled"})
            self.sync()
            self.wake.notify_all()
        return result

    def request_termination(self) -> None:
        with self.lock:
            if self.state in TERMINAL or self.terminate_requested:
                return
            self.terminate_requested = True
            self._interrupt_running()
            self.state = "TERMINATING"
            self.sync()
            self.wake.notify_all()

    def _interrupt_running(self) -> None:
        """RUNNING steps become INTERRUPTED and their processes are stopped; marked first,
        so a step's thread does not report the kill as a failure. Caller holds the lock."""
        for run in self.steps.values():
            if run.state == "RUNNING":
                self._finish_step(run, "INTERRUPTED", message="Interrupted: cluster terminated")
                if run.process is not None:
                    run.process.stop(grace_s=5.0)

    # -- lifecycle -----------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._lifecycle()
        except Exception as exc:  # noqa: BLE001 - a bug must still end the cluster cleanly
            self.plane.log(f"{self.id}: internal error: {traceback.format_exc()}")
            self._terminate("TERMINATED_WITH_ERRORS", "INTERNAL_ERROR", f"{exc}")
        finally:
            self.plane.release(self)

    def _lifecycle(self) -> None:
        groups = self.plane.instance_groups(self.moto)
        topology = build_topology(groups, self.plane.jobflow_memory_mb,
                                  host_cores=os.cpu_count())
        needed = topology.worker_memory_budget_mb
        if not self.plane.acquire(self, needed):
            return self._terminate("TERMINATED", "USER_REQUEST",
                                   "Terminated before it started")
        self.cluster = self.backend.start(topology, self.dir, self.id)
        self.plane.record(self)
        self.plane.write_spark_conf(self)
        if self.terminate_requested:
            return self._terminate("TERMINATED", "USER_REQUEST", "Terminated by user request")
        self._set("BOOTSTRAPPING", None, "Running bootstrap actions")
        failure = self._bootstrap()
        if failure:
            return self._terminate("TERMINATED_WITH_ERRORS", "BOOTSTRAP_FAILURE", failure)
        self._run_steps()

    def _terminate(self, final: str, code: str, message: str) -> None:
        with self.lock:
            self.state = "TERMINATING"
            for run in self.steps.values():
                if run.state == "PENDING":
                    self._finish_step(run, "CANCELLED", message="Cancelled: cluster terminated")
            self._interrupt_running()
            self.moto.last_state_change_code = code
            self.moto.last_state_change_reason = message
            self.sync()
        if self.cluster is not None:
            self.backend.stop(self.cluster)
        self._set(final, code, message)

    def _finish_step(self, run: StepRun, state: str, reason: str | None = None,
                     message: str | None = None, log_file: str | None = None) -> None:
        run.state = state
        run.ended = time.time()
        if state == "FAILED":
            run.failure = {"Reason": reason or "Step failed", "Message": message or "",
                           "LogFile": log_file or ""}
        by_id = {s.id: s for s in self.moto.steps}
        if run.id in by_id:
            by_id[run.id].last_state_change_reason = message

    # -- bootstrap actions ---------------------------------------------------------------

    def _bootstrap(self) -> str | None:
        actions = self.request.get("BootstrapActions", [])
        if not actions or self.cluster is None:
            return None
        scripts = []
        for n, action in enumerate(actions, 1):
            spec = action.get("ScriptBootstrapAction", {})
            try:
                local = self.plane.fetch(spec.get("Path", ""), self.dir / "bootstrap" / str(n))
            except HarnessError as exc:
                return f"bootstrap action {n} ({action.get('Name', '')}): {exc.problem}"
            scripts.append((n, action.get("Name", f"action-{n}"), local, spec.get("Args", [])))
        errors: list[str] = []

        def on_node(node) -> None:  # noqa: ANN001
            node_dir = Path(self.cluster.work_dir) / node.spec.name
            home = node_dir / "home"
            home.mkdir(parents=True, exist_ok=True)
            (node_dir / "instance.json").write_text(json.dumps({
                "isMaster": node.spec.role == "MASTER",
                "instanceRole": node.spec.role.lower(), "instanceGroupName": node.spec.group,
                "instanceType": node.spec.instance_type, "market": node.spec.market}))
            for n, name, script, args in scripts:
                logs = node_dir / "bootstrap-actions" / str(n)
                logs.mkdir(parents=True, exist_ok=True)
                argv = [str(script), *args] if script.read_bytes()[:2] == b"#!" \
                    else ["bash", str(script), *args]
                script.chmod(0o755)
                env = self.plane.node_env(self, node)
                # on the node itself: a local process, or inside the node's container
                with (logs / "stdout").open("wb") as out, (logs / "stderr").open("wb") as err:
                    action = self.backend.spawn(self.cluster, node, argv, env, home, out, err)
                    try:
                        rc = action.wait(timeout=1800)
                    except subprocess.TimeoutExpired:
                        action.stop(grace_s=5.0)
                        rc = 124
                self.plane.upload_logs(self, logs, f"node/{node.spec.name}/bootstrap-actions/{n}")
                if rc != 0:
                    errors.append(f"On the {node.spec.role.lower()} node {node.spec.name}, "
                                  f"bootstrap action {n} ({name}) returned a non-zero return "
                                  f"code {rc}")
                    return

        threads = [threading.Thread(target=on_node, args=(node,)) for node in self.cluster.nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors[0] if errors else None

    # -- steps ---------------------------------------------------------------------------

    def _run_steps(self) -> None:
        active: dict[str, threading.Thread] = {}
        with self.lock:
            while True:
                if self.terminate_requested:
                    break
                pending = [r for r in self.steps.values() if r.state == "PENDING"]
                running = [r for r in self.steps.values() if r.state == "RUNNING"]
                while pending and len(running) < self.concurrency:
                    run = pending.pop(0)
                    run.state, run.started = "RUNNING", time.time()
                    running.append(run)
                    thread = threading.Thread(target=self._step_thread, args=(run,),
                                              daemon=True, name=f"step-{run.id}")
                    active[run.id] = thread
                    thread.start()
                if running and self.state != "RUNNING":
                    self._set("RUNNING", None, "Running step")
                elif not running and not pending:
                    if not self.keep_alive:
                        break
                    if self.state != "WAITING":
                        self._set("WAITING", None, "Cluster ready after last step completed.")
                self.sync()
                self.wake.wait(timeout=1.0)
        for thread in active.values():
            thread.join(timeout=60)
        if self.terminate_requested:
            return self._terminate("TERMINATED", "USER_REQUEST", "Terminated by user request")
        failed = [r for r in self.steps.values()
                  if r.state == "FAILED" and r.action_on_failure in
                  {"TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW"}]
        if failed:
            return self._terminate("TERMINATED_WITH_ERRORS", "STEP_FAILURE",
                                   f"Shut down as step failed: {failed[0].name}")
        return self._terminate("TERMINATED", "ALL_STEPS_COMPLETED",
                               "Steps completed")

    def _step_thread(self, run: StepRun) -> None:
        step_dir = self.dir / "steps" / run.id
        step_dir.mkdir(parents=True, exist_ok=True)
        controller = step_dir / "controller"
        lines = [f"{datetime.now(UTC).isoformat()} INFO step {run.id} ({run.name}) "
                 f"on cluster {self.id}", f"Jar: {run.jar}", f"Args: {run.args}"]
        rc: int | None = None
        reason = message = None
        error_log = "stderr"
        try:
            home = Path(self.cluster.work_dir) / "master-1" / "home"
            home.mkdir(parents=True, exist_ok=True)
            command = plan_step(run.jar, run.args, step_dir,
                                lambda uri, dest: self.plane.fetch(uri, dest))
            lines += [f"NOTE {note}" for note in command.notes]
            lines.append(f"INFO running: {' '.join(command.argv)}")
            controller.write_text("\n".join(lines) + "\n")
            # on the master node, as EMR runs steps: a local process, or inside the master's
            # container (the driver then runs there and its executors in the workers')
            master = self.cluster.nodes[0]
            with (step_dir / "stdout").open("wb") as out, (step_dir / "stderr").open("wb") as err:
                run.process = self.backend.spawn(self.cluster, master, command.argv,
                                                 self.plane.node_env(self, master), home,
                                                 out, err)
                rc = run.process.wait()
            lines.append(f"INFO exit code {rc}")
            if rc != 0:
                reason = "Step failed with a non-zero exit code"
                # PySpark's driver prints the Python traceback on stdout (Spark's
                # PythonRunner merges the Python process's streams), other tools on stderr.
                found = [(name, _last_error(step_dir / name)) for name in ("stderr", "stdout")]
                errors = [(name, text) for name, text in found if _is_error(text)]
                error_log, message = (errors or found)[0]
                message = message or f"exit code {rc}"
        except (StepDefinitionError, HarnessError) as exc:
            reason, message = "Step could not start", getattr(exc, "problem", str(exc))
            lines.append(f"ERROR {message}")
        except Exception as exc:  # noqa: BLE001
            reason, message = "Step could not start", f"{type(exc).__name__}: {exc}"
            lines.append(f"ERROR {traceback.format_exc()}")
        controller.write_text("\n".join(lines) + "\n")
        for name in ("stdout", "stderr"):
            (step_dir / name).touch()
        run.log_uri = self.plane.upload_logs(self, step_dir, f"steps/{run.id}",
                                             names=("controller", "stdout", "stderr"))
        with self.lock:
            if run.state != "RUNNING":  # interrupted by termination meanwhile
                return
            if reason is None:
                self._finish_step(run, "COMPLETED", message="Completed")
            else:
                self._finish_step(run, "FAILED", reason, message,
                                  f"{run.log_uri}/{error_log}.gz" if run.log_uri else "")
                if run.action_on_failure in {"CANCEL_AND_WAIT", "TERMINATE_CLUSTER",
                                             "TERMINATE_JOB_FLOW"}:
                    for other in self.steps.values():
                        if other.state == "PENDING":
                            self._finish_step(other, "CANCELLED",
                                              message=f"Cancelled after step {run.id} failed")
                if run.action_on_failure == "CANCEL_AND_WAIT":
                    self.keep_alive = True  # the cluster waits instead of finishing
            self.sync()
            self.wake.notify_all()


def _is_error(line: str) -> bool:
    return any(word in line for word in ("Error", "Exception", "error:", "FAILED"))


def _last_error(stderr: Path) -> str:
    try:
        text = stderr.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    picks = [ln for ln in text if _is_error(ln)]
    return (picks or text or [""])[-1][:500]


def gzip_file(src: Path, dest: Path) -> Path:
    with src.open("rb") as fin, gzip.open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    return dest

