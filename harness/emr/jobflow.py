"""One job flow's life, driven for real: a local cluster of its topology, bootstrap actions
on every node, steps in order. Its state is the EMR record's (harness.emr.models): the
runner advances it through the record's named methods and reacts to what requests change
there (new steps, cancel_steps, termination, the cluster controls), so the EMR API reports
what really happens. Cancellation is harness.emr.cancellation's, the controls' rules
harness.emr.controls', the logs and History Server harness.emr.observe's.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from harness import logs, phases
from harness.cluster import BACKENDS, Node, NodeProcess, RunningCluster, Topology
from harness.emr import cancellation, controls, nodeenv, observe
from harness.emr.capacity import Capacity, live_topology
from harness.emr.models import RehearsalCluster, RehearsalStep
from harness.emr.refusals import application_notes
from harness.emr.resources import watch_executors
from harness.emr.steps import StepContext, StepDefinitionError, plan_step
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.emr.configurations import AppliedConfigurations
    from harness.emr.controlplane import ControlPlane, LogUpload
    from harness.runtimes import InstalledRuntime

TERMINATE_ACTIONS = {"TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW"}
CAPACITY_JOIN_S = 150.0  # at most this for a resize to finish when the job flow ends
LOG_PUSH_S = 5.0  # a running step's logs reach LogUri this often (harness.console follows)


class JobFlow:
    """The local cluster and step processes behind one EMR cluster record (`emr`); `run()`
    is its lifecycle thread."""

    def __init__(self, plane: ControlPlane, emr: RehearsalCluster) -> None:
        self.plane = plane
        self.emr = emr
        self.id: str = emr.id
        self.dir = plane.work_dir / "jobflows" / self.id
        self.dir.mkdir(parents=True, exist_ok=True)
        self._waits_after_failure = False  # CANCEL_AND_WAIT: the cluster waits, not ends
        self.log_uri: str | None = emr.log_uri
        self.cluster: RunningCluster | None = None
        self.topology: Topology | None = None
        self.runtime: InstalledRuntime | None = None  # its ReleaseLabel's Spark
        self.backend = BACKENDS[plane.backend](java_home=plane.java_home)
        self.spark_conf_dir = self.dir / "spark-conf"
        self.configurations: AppliedConfigurations | None = None  # write_spark_conf's
        self._processes: dict[str, NodeProcess] = {}  # a RUNNING step's process, by step id
        self._exited: dict[str, threading.Event] = {}  # set when that process has exited
        self._cancelling: dict[str, str] = {}  # step id: the cancellation option acted on
        self._held_failures: set[str] = set()  # failures a protected cluster survived
        self.history: observe.HistoryServer | None = None
        self.idle = controls.IdleClock(self._apps_running, scale=plane.idle_scale)
        self.nodes: dict[str, nodeenv.NodeEnv] = {}  # each node's environment, by node name
        self._step_threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self.run, name=f"jobflow-{self.id}",
                                       daemon=True)
        self.capacity = Capacity(self)  # instances, resizes, spot (capacity.py)
        self.daemons_up = False  # the nodes' Spark daemons run: a resize can add workers
        self.stopped = False  # _end stopped the nodes: workers a resize starts later stop too
        # where the start's time goes (RunJobFlow accepted until WAITING), logged once ready
        self.startup = phases.StepClock()

    @property
    def keep_alive(self) -> bool:
        """KeepJobFlowAliveWhenNoSteps as the record has it now (SetKeepJobFlowAlive...)."""
        return bool(self.emr.keep_job_flow_alive_when_no_steps) or self._waits_after_failure

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
        self.startup.lap("capacity")
        try:
            self.runtime = self.plane.runtime(self.emr)
        except HarnessError as exc:
            return self._end("INTERNAL_ERROR", f"The {self.emr.release_label} runtime cannot "
                             f"be installed: {exc.one_line()}")
        self.startup.lap("runtime")
        self.plane.log(f"{self.id}: {self.emr.release_label}: {self.runtime.describe()}")
        try:
            self.cluster = self.backend.start(topology, self.dir, self.id, runtime=self.runtime,
                                              setup=self._setup)
        except nodeenv.SetupStopped as exc:
            return self._end(exc.code, exc.problem) if exc.code else self._end()
        self.daemons_up = True
        self.startup.lap("spark daemons")
        # Spark's configuration once the master has its ports, which it takes after the
        # bootstrap actions (as EMR writes /etc/spark/conf when it installs Spark)
        self.plane.write_spark_conf(self)
        self.capacity.request()  # groups or fleets changed while the nodes started
        self._observe()
        self.plane.record(self)
        self.startup.lap("ready")
        laps = self.startup.phases
        self.plane.log(f"{self.id}: started in {sum(laps.values()):.2f} s: " +
                       ", ".join(f"{name} {s:.2f}" for name, s in laps.items()))
        if self.terminating:
            return self._end()
        self._run_steps()

    def _setup(self, cluster: RunningCluster) -> dict[str, dict[str, str]]:
        """Between the nodes' start and their Spark daemons', as on EMR: each node's
        environment, the bootstrap actions on every node, then Spark installed. Returns
        the daemons' environment by node name."""
        self.cluster = cluster
        assert self.topology is not None
        ids = self.emr.attach_nodes(list(self.topology.nodes))
        for node in cluster.nodes:
            node.emr_instances = ids.get(node.spec.name, [])
        self.plane.record(self)
        self.nodes = self.plane.prepare_nodes(self)
        self.startup.lap("node environments")
        if self.terminating:
            raise nodeenv.SetupStopped("terminated while starting")
        self.emr.run_bootstrap_actions()
        self.plane.log(f"{self.id}: BOOTSTRAPPING")
        failure = self._bootstrap()
        if failure:
            raise nodeenv.SetupStopped(failure, code="BOOTSTRAP_FAILURE")
        if self.terminating:
            raise nodeenv.SetupStopped("terminated while bootstrapping")
        self.startup.lap("bootstrap actions")
        daemon_env = self.plane.install_applications(self)
        self.startup.lap("applications")
        return daemon_env

    def setup_added(self, nodes: list[Node]) -> dict[str, dict[str, str]]:
        """For workers a resize adds, between their start and their Spark daemons', as EMR
        treats the nodes a resize adds: their environments, the job flow's bootstrap actions
        on them, then Spark. A failure fails the resize (NodeEnvError, SetupStopped), not
        the cluster. Returns the daemons' environment by node name."""
        names = [n.spec.name for n in nodes]
        try:
            self.nodes.update(self.plane.prepare_nodes(self, nodes))
            if self.terminating:
                raise nodeenv.SetupStopped("terminated while a resize started its nodes")
            failure = self._bootstrap(nodes)
            if failure:
                raise nodeenv.SetupStopped(failure, code="BOOTSTRAP_FAILURE")
            return self.plane.install_applications(self, names)
        except BaseException:
            for name in names:
                self.nodes.pop(name, None)
            raise

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
        # a resize under way (workers starting, their bootstrap actions) sees the termination
        # and ends: its workers are then in the cluster, stopped with it
        self.capacity.join(timeout_s=CAPACITY_JOIN_S)
        if self.cluster is not None:
            self.stopped = True
            self.backend.stop(self.cluster)
        if self.history is not None:
            self.history.stop()
        with self.emr.lock:
            self.emr.terminate(self.emr.last_state_change_code or code or "USER_REQUEST",
                               self.emr.last_state_change_reason or message or "")
        status = self.emr.status["StateChangeReason"]
        self.plane.log(f"{self.id}: {self.emr.state} ({status.get('Code')}: "
                       f"{status.get('Message')})")

    def _observe(self) -> None:
        """The job flow's History Server, and what the cluster lacks, where users look."""
        from harness.spark import spark_home

        assert self.cluster is not None
        # the History Server runs on this machine: the runtime's Spark here, not a container's
        self.history = observe.HistoryServer(
            self.runtime.spark_home if self.runtime is not None else spark_home(),
            observe.event_log_dir(self.dir),
            self.dir / "history-server", self.plane.java_home).start()
        notes = application_notes(self.emr.applications)
        self.cluster.notes += [f"Spark History Server {self.history.url}", *notes]
        for note in notes:
            self.plane.log(f"{self.id}: {note}")

    def _apps_running(self) -> bool:
        cluster = self.cluster  # asked with the record's lock held: a short timeout
        return cluster is not None and controls.spark_apps_running(
            lambda: cluster.master_status(timeout=1.0))

    # -- bootstrap actions ---------------------------------------------------------------

    def _bootstrap(self, nodes: list[Node] | None = None) -> str | None:
        """The bootstrap actions on every EMR node (`nodes`: only those, a resize's);
        the first failure's message, or None."""
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
            where = f"On the {node.spec.role.lower()} node {node.spec.name}"
            for n, name, script, args in scripts:
                logs = node_dir / "bootstrap-actions" / str(n)
                try:
                    rc = run_action(node, node_dir, logs, script, args)
                except Exception as exc:  # noqa: BLE001 - the action failed: the flow does
                    # an exception here ended the thread quietly and the flow went on as if
                    # bootstrap had succeeded; it is the action's failure, in its node's log
                    logs.mkdir(parents=True, exist_ok=True)
                    with (logs / "stderr").open("a") as err:
                        err.write(f"emr-rehearsal: bootstrap action {n} ({name}) could not "
                                  f"run:\n{traceback.format_exc()}")
                    upload(node, logs, n)
                    errors.append(f"{where}, bootstrap action {n} ({name}) could not run: "
                                  f"{type(exc).__name__}: {exc}")
                    return
                upload(node, logs, n)
                if rc != 0:
                    errors.append(f"{where}, bootstrap action {n} ({name}) returned a non-zero "
                                  f"return code {rc}")
                    return

        def run_action(node, node_dir: Path, logs: Path, script: Path,  # noqa: ANN001
                       args: list[str]) -> int:
            home = node_dir / "home"
            home.mkdir(parents=True, exist_ok=True)
            logs.mkdir(parents=True, exist_ok=True)
            argv = [str(script), *args] if script.read_bytes()[:2] == b"#!" \
                else ["bash", str(script), *args]
            script.chmod(0o755)
            env = self.plane.node_env(self, node)
            # on the node itself: a local process, or inside the node's container
            with (logs / "stdout").open("wb") as out, (logs / "stderr").open("wb") as err:
                action = self.backend.spawn(self.cluster, node, argv, env, home, out, err)
                try:
                    return action.wait(timeout=1800)
                except subprocess.TimeoutExpired:
                    action.stop(grace_s=5.0)
                    return 124

        def upload(node, logs: Path, n: int) -> None:  # noqa: ANN001
            # EMR's node folders are named by EC2 instance id: one per instance rehearsed
            for instance_id in node.emr_instances or [node.spec.name]:
                self.plane.upload_logs(self, logs, f"node/{instance_id}/bootstrap-actions/{n}")

        def guarded(node) -> None:  # noqa: ANN001
            try:
                on_node(node)
            except Exception as exc:  # noqa: BLE001 - e.g. a log upload's: still the flow's
                self.plane.log(f"{self.id}: bootstrap on {node.spec.name}: "
                               f"{traceback.format_exc()}")
                errors.append(f"On the {node.spec.role.lower()} node {node.spec.name}, the "
                              f"bootstrap actions failed: {type(exc).__name__}: {exc}")

        # once per EMR node: a single-node cluster's worker runs on the master node
        threads = [threading.Thread(target=guarded, args=(node,))
                   for node in (self.cluster.nodes if nodes is None else nodes)
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
                # a cancelled step's process still holds its share until it has gone
                pending, running = emr.steps_in("PENDING"), [s for s in emr.steps if s.active]
                for step in emr.steps_in("CANCEL_PENDING"):
                    self._cancel(step)
                while pending and len(running) < emr.step_concurrency_level:
                    step = pending.pop(0)
                    step.run()
                    running.append(step)
                    self._exited[step.id] = threading.Event()
                    thread = threading.Thread(target=self._step_thread, args=(step,),
                                              daemon=True, name=f"step-{step.id}")
                    self._step_threads.append(thread)
                    thread.start()
                failed = [s for s in emr.steps_in("FAILED")
                          if s.action_on_failure in TERMINATE_ACTIONS
                          and s.id not in self._held_failures]
                if failed and not running:
                    if not (emr.termination_protected and self.keep_alive):
                        outcome = ("STEP_FAILURE", f"Shut down as step failed: {failed[0].name}")
                        break
                    # EMR: a protected cluster with auto-terminate off "will not terminate"
                    self._held_failures.update(s.id for s in failed)
                    self.plane.log(f"{self.id}: step {failed[0].name} failed; the cluster is "
                                   "termination protected, so it waits instead of ending")
                if running and emr.state != "RUNNING":
                    emr.running()
                elif not running and not pending:
                    if not self.keep_alive:
                        outcome = ("ALL_STEPS_COMPLETED", "Steps completed")
                        break
                    if emr.state != "WAITING":
                        emr.waiting()
                policy = emr.auto_termination_policy
                if policy:
                    self.idle.tick(steps_active=bool(running or pending))
                    if self.idle.expired(policy):
                        outcome = (controls.IDLE_CODE,
                                   controls.idle_message(policy["IdleTimeout"],
                                                         self.idle.scale))
                        break
                else:
                    self.idle.idle_since = None
                emr.changed.wait(timeout=1.0)
        self._end(*outcome) if outcome else self._end()

    def _step_context(self, step: RehearsalStep) -> StepContext:
        context = self.plane.step_context(self, step)
        # sized against the cluster as it is now (resizes, reclaims), not as it started
        context.topology = live_topology(self.topology, self.cluster,
                                         self.plane.instance_groups(self.emr)) \
            if self.topology is not None and self.cluster is not None else self.topology
        context.concurrency = self.emr.step_concurrency_level
        return context

    def _cancel(self, step: RehearsalStep) -> None:
        """Act once on a CANCEL_PENDING step whose process runs (again if the option became
        TERMINATE_PROCESS); a step not spawned yet is cancelled by its thread once it is."""
        option = step.cancellation_option or "SEND_INTERRUPT"
        process = self._processes.get(step.id)
        if process is None or self._cancelling.get(step.id) in {option, "TERMINATE_PROCESS"}:
            return
        self._cancelling[step.id] = option
        self.plane.log(f"{self.id}: cancelling step {step.id} ({option})")
        cancellation.start(process, option, self.dir / "steps" / step.id,
                           self._exited[step.id])

    def _step_thread(self, step: RehearsalStep) -> None:
        step_dir = self.dir / "steps" / step.id
        step_dir.mkdir(parents=True, exist_ok=True)
        controller = step_dir / "controller"
        args = list(step.args)
        lines = [f"{datetime.now(UTC).isoformat()} INFO step {step.id} ({step.name}) "
                 f"on cluster {self.id}", f"Jar: {step.jar}", f"Args: {args}",
                 *(f"MAPPING {line}" for line in self.cluster.mapping),
                 *(f"CAPACITY {line}" for line in self.capacity.notes)]  # spot, resizes
        if self.history is not None:
            lines.append(f"INFO Spark History Server (this job flow's applications, EMR's "
                         f"persistent application UI): {self.history.url}")
        observe.syslog(step_dir, f"Starting step {step.id} ({step.name}): {step.jar} {args}")
        process: NodeProcess | None = None
        pusher: threading.Thread | None = None
        step_logs: LogUpload | None = None
        rc: int | None = None
        reason = message = None
        error_log = "stderr"
        try:
            home = Path(self.cluster.work_dir) / "master-1" / "home"
            home.mkdir(parents=True, exist_ok=True)
            clock = phases.StepClock()
            command = plan_step(step.jar, args, step_dir,
                                lambda uri, dest: self.plane.fetch(uri, dest),
                                self._step_context(step))
            clock.lap("step downloads")
            lines += [f"NOTE {note}" for note in command.notes]
            master = self.cluster.nodes[0]
            problems = self._python_check(master.spec.name, command.argv, lines)
            clock.lap("step environment")
            lines.append(f"INFO running: {' '.join(command.argv)}")
            for note in command.notes:
                observe.syslog(step_dir, note)
            observe.syslog(step_dir, f"startExec '{' '.join(command.argv)}'")
            controller.write_text("\n".join(lines) + "\n")
            step_logs = self.plane.log_upload(self, step_dir, f"steps/{step.id}",
                                              names=("controller", "stdout", "stderr",
                                                     observe.SYSLOG))
            if step_logs is not None:
                pusher = self._push_logs_while_running(step, step_logs)
            # on the master node, as EMR runs steps: a local process, or inside the master's
            # container (the driver then runs there and its executors in the workers')
            started = time.time()
            with (step_dir / "stdout").open("wb") as out, (step_dir / "stderr").open("wb") as err:
                if problems:
                    err.write("".join(f"{p}\n" for p in problems).encode())
                    raise _PythonTooNew(problems[0])
                env = {**self.plane.node_env(self, master), **command.env}
                clock.launch()
                process = self.backend.spawn(self.cluster, master, command.argv, env,
                                             command.cwd or home, out, err)
                with self.emr.lock:
                    self._processes[step.id] = process
                    interrupted = not step.active
                    if step.state == "CANCEL_PENDING":  # cancelled while it started
                        self._cancel(step)
                if interrupted:  # terminated while the process started
                    process.stop(grace_s=5.0)
                starved = None
                if command.argv[0] == "spark-submit":  # bounded wait for executors
                    rc, starved = watch_executors(process, self.cluster, started,
                                                  self.plane.executor_wait_s)
                else:
                    rc = process.wait()
                self._exited[step.id].set()
            lines.append(f"INFO exit code {rc}")
            lines += clock.controller_lines(step_dir / "stdout",
                                            observe.event_log_dir(self.dir))
            observe.syslog(step_dir, f"the step's process exited with code {rc}")
            if starved:
                reason, message = "Step failed: the application got no executors", starved
                lines.append(f"ERROR {starved}")
            elif rc != 0:
                reason = "Step failed with a non-zero exit code"
                # PySpark's driver prints the Python traceback on stdout (Spark's
                # PythonRunner merges the Python process's streams), other tools on stderr.
                # The surest failure line of the two wins (an uncaught error over an ERROR
                # record over an error-looking line), stderr on a tie; WARN records' stack
                # traces never count. Without one, the end of stderr, else of stdout.
                found = [(name, _read(step_dir / name)) for name in ("stderr", "stdout")]
                picked = [(failure.rank, -n, name, failure.line)
                          for n, (name, text) in enumerate(found)
                          if (failure := logs.failure(text)) is not None]
                if picked:
                    _, _, error_log, message = max(picked)
                else:
                    error_log, message = next(((name, logs.error_excerpt(text, 1))
                                               for name, text in found if text.strip()),
                                              ("stderr", ""))
                message = message[:500] or f"exit code {rc}"
        except _PythonTooNew as exc:
            rc, reason, message = 1, "Step failed with a non-zero exit code", str(exc)
            lines.append(f"INFO exit code {rc}: {message}")
        except (StepDefinitionError, HarnessError) as exc:
            reason, message = "Step could not start", getattr(exc, "problem", str(exc))
            lines.append(f"ERROR {message}")
        except Exception as exc:  # noqa: BLE001
            reason, message = "Step could not start", f"{type(exc).__name__}: {exc}"
            lines.append(f"ERROR {traceback.format_exc()}")
        self._exited[step.id].set()
        option = step.cancellation_option
        if step.state == "CANCEL_PENDING":
            if process is not None:  # nothing the step started outlives it on this machine
                process.stop(grace_s=2.0)
            lines.append(f"INFO step cancelled by CancelSteps ({option})")
            observe.syslog(step_dir, f"step cancelled ({option}); its process group stopped")
        controller.write_text("\n".join(lines) + "\n")
        for name in ("stdout", "stderr", observe.SYSLOG):
            (step_dir / name).touch()
        if pusher is not None:  # its last upload done before the final one replaces it
            pusher.join(timeout=60)
        log_uri = None
        if step_logs is not None:  # tried even after a failed push; a failure logged once
            step_logs.upload()
            log_uri = str(step_logs.base)
        with self.emr.lock:
            self._processes.pop(step.id, None)
            if step.state == "CANCEL_PENDING":  # no ActionOnFailure for a cancelled step
                step.cancel(f"Cancelled by cancel_steps ({option})")
                self.emr.changed.notify_all()
                return
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
                    self._waits_after_failure = True  # the cluster waits, not finishes
            self.emr.changed.notify_all()


    def _push_logs_while_running(self, step: RehearsalStep,
                                 step_logs: LogUpload) -> threading.Thread:
        """Push a running step's changed logs to LogUri every LOG_PUSH_S until its process
        exits or an upload fails (EMR pushes them every five minutes; here sooner, so a
        console can follow)."""
        exited = self._exited[step.id]

        def push() -> None:
            try:
                while not exited.wait(LOG_PUSH_S) and step_logs.push():
                    pass
            except Exception:  # noqa: BLE001 - the step goes on; its logs arrive at its end
                self.plane.log(f"{self.id}: pushing {step.id}'s logs: "
                               f"{traceback.format_exc()}")

        thread = threading.Thread(target=push, daemon=True, name=f"logs-{step.id}")
        thread.start()
        return thread

    def _python_check(self, node: str, argv: list[str], lines: list[str]) -> list[str]:
        """Say which python3 the step runs; where it is not the release's, the step's Python
        files are checked statically for the release's version (what it would reject)."""
        env = self.nodes.get(node)
        if env is None:
            return []
        lines.append(f"INFO {env.describe()}")
        lines += [f"NOTE {note}" for note in env.notes]
        if env.exact_python:
            return []
        return [f"{problem} (the release's python3 is {env.wanted_python}; checked with vermin)"
                for problem in nodeenv.check_python_files(nodeenv.python_files(argv),
                                                          env.wanted_python)]


class _PythonTooNew(Exception):
    """A step's Python file needs a newer Python than the release's nodes have."""


def gzip_file(src: Path, dest: Path) -> Path:
    with src.open("rb") as fin, gzip.open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    return dest



def _read(log: Path) -> str:
    """A step's log as text ('' when it is missing or unreadable)."""
    try:
        return log.read_text(errors="replace")
    except OSError:
        return ""
