"""One job flow's life, driven for real: a local cluster of its topology, bootstrap actions
on every node, steps in order. Its state is the EMR record's (harness.emr.models): the
runner advances it through the record's named methods and reacts to what requests change
there (new steps, cancel_steps, termination), so the EMR API reports what really happens.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from harness import logs
from harness.cluster import BACKENDS, NodeProcess, RunningCluster, Topology
from harness.emr.capacity import Capacity
from harness.emr.models import RehearsalCluster, RehearsalStep
from harness.emr.resources import watch_executors
from harness.emr.steps import StepDefinitionError, plan_step
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.emr.controlplane import ControlPlane

TERMINATE_ACTIONS = {"TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW"}


class JobFlow:
    """The local cluster and step processes behind one EMR cluster record (`emr`); `run()`
    is its lifecycle thread."""

    def __init__(self, plane: ControlPlane, emr: RehearsalCluster) -> None:
        self.plane = plane
        self.emr = emr
        self.id: str = emr.id
        self.dir = plane.work_dir / "jobflows" / self.id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keep_alive = bool(emr.keep_job_flow_alive_when_no_steps)
        self.log_uri: str | None = emr.log_uri
        self.cluster: RunningCluster | None = None
        self.topology: Topology | None = None
        self.backend = BACKENDS[plane.backend](java_home=plane.java_home)
        self.spark_conf_dir = self.dir / "spark-conf"
        self._processes: dict[str, NodeProcess] = {}  # a RUNNING step's process, by step id
        self._step_threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self.run, name=f"jobflow-{self.id}",
                                       daemon=True)
        self.capacity = Capacity(self)  # instances, resizes, spot (capacity.py)

    @property
    def terminating(self) -> bool:
        """Termination was requested (terminate_job_flows, or the server stops)."""
        return self.emr.state == "TERMINATING"

    # -- lifecycle -----------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._lifecycle()
        except Exception as exc:  # noqa: BLE001 - a bug must still end the cluster cleanly
            self.plane.log(f"{self.id}: internal error: {traceback.format_exc()}")
            self._end("INTERNAL_ERROR", f"{exc}")
        finally:
            self.plane.release(self)

    def _lifecycle(self) -> None:
        failure = self.capacity.provision()  # spot capacity's modelled wait
        if failure or self.terminating:
            return self._end(*failure) if failure else self._end()
        topology = self.topology = self.plane.topology(self.plane.instance_groups(self.emr))
        if not self.plane.acquire(self, topology.worker_memory_mb,
                                  "; ".join(topology.mapping_lines())):
            return self._end()
        self.cluster = self.backend.start(topology, self.dir, self.id)
        ids = self.emr.attach_nodes(list(topology.nodes))
        for node in self.cluster.nodes:
            node.emr_instances = ids.get(node.spec.name, [])
        self.capacity.request()  # groups or fleets changed while the nodes started
        self.plane.record(self)
        self.plane.write_spark_conf(self)
        if self.terminating:
            return self._end()
        self.emr.run_bootstrap_actions()
        self.plane.log(f"{self.id}: BOOTSTRAPPING")
        failure = self._bootstrap()
        if failure:
            return self._end("BOOTSTRAP_FAILURE", failure)
        self._run_steps()

    def _end(self, code: str | None = None, message: str | None = None) -> None:
        """Stop the steps' processes and the nodes, then end the record: with `code`, or
        with the reason termination was requested for."""
        if code is not None:
            self.emr.terminating(code, message or code)  # no-op when already terminating
        with self.emr.lock:
            processes = list(self._processes.values())
        for process in processes:
            process.stop(grace_s=5.0)
        for thread in self._step_threads:
            thread.join(timeout=60)
        if self.cluster is not None:
            self.backend.stop(self.cluster)
        with self.emr.lock:
            self.emr.terminate(self.emr.last_state_change_code or code or "USER_REQUEST",
                               self.emr.last_state_change_reason or message or "")
        status = self.emr.status["StateChangeReason"]
        self.plane.log(f"{self.id}: {self.emr.state} ({status.get('Code')}: "
                       f"{status.get('Message')})")

    # -- bootstrap actions ---------------------------------------------------------------

    def _bootstrap(self) -> str | None:
        actions = self.emr.bootstrap_actions
        if not actions or self.cluster is None:
            return None
        scripts = []
        for n, action in enumerate(actions, 1):
            try:
                local = self.plane.fetch(action.script_path or "",
                                         self.dir / "bootstrap" / str(n))
            except HarnessError as exc:
                return f"bootstrap action {n} ({action.name or ''}): {exc.problem}"
            scripts.append((n, action.name or f"action-{n}", local, list(action.args)))
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
                # EMR's node folders are named by EC2 instance id: one per instance rehearsed
                for instance_id in node.emr_instances or [node.spec.name]:
                    self.plane.upload_logs(self, logs,
                                           f"node/{instance_id}/bootstrap-actions/{n}")
                if rc != 0:
                    errors.append(f"On the {node.spec.role.lower()} node {node.spec.name}, "
                                  f"bootstrap action {n} ({name}) returned a non-zero return "
                                  f"code {rc}")
                    return

        # once per EMR node: a single-node cluster's worker runs on the master node
        threads = [threading.Thread(target=on_node, args=(node,)) for node in self.cluster.nodes
                   if node.spec.on_node == node.spec.name]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors[0] if errors else None

    # -- steps ---------------------------------------------------------------------------

    def _run_steps(self) -> None:
        emr = self.emr
        outcome: tuple[str, str] | None = None  # None: termination was requested
        with emr.lock:
            while not self.terminating:
                pending, running = emr.steps_in("PENDING"), emr.steps_in("RUNNING")
                while pending and len(running) < emr.step_concurrency_level:
                    step = pending.pop(0)
                    step.run()
                    running.append(step)
                    thread = threading.Thread(target=self._step_thread, args=(step,),
                                              daemon=True, name=f"step-{step.id}")
                    self._step_threads.append(thread)
                    thread.start()
                failed = [s for s in emr.steps_in("FAILED")
                          if s.action_on_failure in TERMINATE_ACTIONS]
                if failed and not running:
                    outcome = ("STEP_FAILURE", f"Shut down as step failed: {failed[0].name}")
                    break
                if running and emr.state != "RUNNING":
                    emr.running()
                elif not running and not pending:
                    if not self.keep_alive:
                        outcome = ("ALL_STEPS_COMPLETED", "Steps completed")
                        break
                    if emr.state != "WAITING":
                        emr.waiting()
                emr.changed.wait(timeout=1.0)
        self._end(*outcome) if outcome else self._end()

    def _step_thread(self, step: RehearsalStep) -> None:
        step_dir = self.dir / "steps" / step.id
        step_dir.mkdir(parents=True, exist_ok=True)
        controller = step_dir / "controller"
        args = list(step.args)
        lines = [f"{datetime.now(UTC).isoformat()} INFO step {step.id} ({step.name}) "
                 f"on cluster {self.id}", f"Jar: {step.jar}", f"Args: {args}",
                 *(f"MAPPING {line}" for line in self.cluster.mapping),
                 *(f"CAPACITY {line}" for line in self.capacity.notes)]  # spot, resizes
        rc: int | None = None
        reason = message = None
        error_log = "stderr"
        try:
            home = Path(self.cluster.work_dir) / "master-1" / "home"
            home.mkdir(parents=True, exist_ok=True)
            command = plan_step(step.jar, args, step_dir,
                                lambda uri, dest: self.plane.fetch(uri, dest),
                                self.topology, self.emr.step_concurrency_level)
            lines += [f"NOTE {note}" for note in command.notes]
            lines.append(f"INFO running: {' '.join(command.argv)}")
            controller.write_text("\n".join(lines) + "\n")
            # on the master node, as EMR runs steps: a local process, or inside the master's
            # container (the driver then runs there and its executors in the workers')
            master = self.cluster.nodes[0]
            started = time.time()
            with (step_dir / "stdout").open("wb") as out, (step_dir / "stderr").open("wb") as err:
                process = self.backend.spawn(self.cluster, master, command.argv,
                                             self.plane.node_env(self, master), home, out, err)
                with self.emr.lock:
                    self._processes[step.id] = process
                    interrupted = step.state != "RUNNING"
                if interrupted:  # terminated while the process started
                    process.stop(grace_s=5.0)
                starved = None
                if command.argv[0] == "spark-submit":  # bounded wait for executors
                    rc, starved = watch_executors(process, self.cluster, started,
                                                  self.plane.executor_wait_s)
                else:
                    rc = process.wait()
            lines.append(f"INFO exit code {rc}")
            if starved:
                reason, message = "Step failed: the application got no executors", starved
                lines.append(f"ERROR {starved}")
            elif rc != 0:
                reason = "Step failed with a non-zero exit code"
                # PySpark's driver prints the Python traceback on stdout (Spark's
                # PythonRunner merges the Python process's streams), other tools on stderr.
                found = [(name, logs.tail(step_dir / name, 1, missing="")[:500])
                         for name in ("stderr", "stdout")]
                errors = [(name, text) for name, text in found if logs.is_error(text)]
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
        log_uri = self.plane.upload_logs(self, step_dir, f"steps/{step.id}",
                                         names=("controller", "stdout", "stderr"))
        with self.emr.lock:
            self._processes.pop(step.id, None)
            if step.state != "RUNNING":  # interrupted by termination meanwhile
                return
            if reason is None:
                step.complete()
            else:
                step.fail(reason, message or reason,
                          f"{log_uri}/{error_log}.gz" if log_uri else "")
                if step.action_on_failure in {"CANCEL_AND_WAIT", *TERMINATE_ACTIONS}:
                    for other in self.emr.steps_in("PENDING"):
                        other.cancel(f"Cancelled after step {step.id} failed")
                if step.action_on_failure == "CANCEL_AND_WAIT":
                    self.keep_alive = True  # the cluster waits instead of finishing
            self.emr.changed.notify_all()


def gzip_file(src: Path, dest: Path) -> Path:
    with src.open("rb") as fin, gzip.open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    return dest

