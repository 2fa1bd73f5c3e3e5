"""The EMR control plane under concurrent use, as CI systems and dashboards use it: job flows
submitted at once (they queue for the machine's capacity), threads adding steps to one
running job flow, and pollers calling describe/list once a second meanwhile. Every call
goes through boto3 over loopback with SDK retries off, so a fault or a 5xx is seen, never
hidden by a retry; every step is a tiny `bash -c` that appends its own token to a file,
so "ran exactly once" is counted, not inferred from the API. Every fifth poll is S3's
ListBuckets, the reference: the same HTTP stack with no EMR state or lock behind it, so a
slow EMR figure can be told apart from a slow machine.

The pollers are threads in `poller_processes` child processes of their own (owned through
harness.procs, `python -m harness.emr.load poll SPEC`), as the dashboards and CI sensors
they stand for are: 50 sensors in the process that also submits, adds and checks would
time that process's own GIL queue, not the endpoint. A child warms its clients up, says
ready, starts its clock when told (the `go` file), polls until the `stop` file appears and
writes its figures as JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.emr.states import TERMINAL

STEP_ENDS = {"COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"}
REFERENCE_EVERY = 5  # every fifth poll of a poller is the reference call
ACTIVE = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"]
READY_TIMEOUT_S = 120.0  # poller processes: start, import boto3, warm every client up


@dataclass(frozen=True)
class LoadPlan:
    """How much load: job flows submitted at once, step adders on the first job flow
    (each adding `steps_per_adder`), pollers calling every `poll_interval_s`, spread over
    `poller_processes` processes."""

    flows: int = 4
    steps_per_flow: int = 2
    adders: int = 8
    steps_per_adder: int = 5
    pollers: int = 50
    poll_interval_s: float = 1.0
    timeout_s: float = 900.0
    release_label: str = "emr-7.12.0"
    poller_processes: int = 5


@dataclass
class Calls:
    """Latencies (ms) and failures of one kind of caller."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_errors: int = 0  # answers with HTTP 5xx
    # the endpoint's own time for each answer (its Server-Timing header): the rest of a
    # latency is the HTTP exchange, queueing for a CPU, and the client's own work
    server_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def call(self, fn: Callable[[], Any]) -> Any:
        from botocore.exceptions import ClientError

        started = time.perf_counter()
        try:
            answer = fn()
            self._server_time(answer)
            return answer
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            self._server_time(exc.response)
            with self.lock:
                self.server_errors += status >= 500
                self.errors.append(f"{status} {exc}")
            return None
        except Exception as exc:  # noqa: BLE001 - a connection failure is a failed call too
            with self.lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            return None
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            with self.lock:
                self.latencies_ms.append(elapsed)

    def _server_time(self, answer: Any) -> None:
        headers = ((answer or {}).get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        timing = headers.get("server-timing", "")
        if timing.startswith("endpoint;dur="):
            with self.lock:
                self.server_ms.append(float(timing.split("=", 1)[1]))

    def merge(self, other: dict[str, Any]) -> None:
        """Add another process's calls (`as_json`)."""
        with self.lock:
            self.latencies_ms.extend(other["latencies_ms"])
            self.errors.extend(other["errors"])
            self.server_errors += other["server_errors"]
            self.server_ms.extend(other["server_ms"])

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            return {"latencies_ms": list(self.latencies_ms), "errors": list(self.errors),
                    "server_errors": self.server_errors, "server_ms": list(self.server_ms)}

    def figures(self) -> dict[str, Any]:
        ordered, server = sorted(self.latencies_ms), sorted(self.server_ms)
        return {"calls": len(ordered), "errors": len(self.errors),
                "server_errors": self.server_errors,
                "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
                "p99_ms": round(_percentile(ordered, 0.99), 1) if ordered else None,
                "max_ms": round(ordered[-1], 1) if ordered else None,
                "endpoint_p50_ms": round(statistics.median(server), 1) if server else None,
                "endpoint_p99_ms": round(_percentile(server, 0.99), 1) if server else None}


@dataclass
class LoadResult:
    pollers: Calls
    writers: Calls  # run_job_flow, add_job_flow_steps, terminate_job_flows
    warmup: Calls  # each poller's first call, before the pollers' clock starts
    flows: dict[str, str]  # job flow id: final state
    steps: dict[str, str]  # step id: final state
    runs: Counter[str]  # token: times its step's command ran
    tokens: list[str]  # every token a step was submitted with
    wall_s: float
    queued: set[str]  # job flows seen waiting for capacity
    # S3 ListBuckets by the same pollers: the endpoint's stack with no EMR state or lock
    # behind it, so EMR's figures can be told apart from the machine's and the stack's
    reference: Calls
    load_average: tuple[float, float]  # the host's 1-minute load average, start and end
    poller_processes: int = 1

    @property
    def exactly_once(self) -> bool:
        return all(self.runs[t] == 1 for t in self.tokens) and sum(self.runs.values()) == \
            len(self.tokens)

    def problems(self) -> list[str]:
        """What breaks the targets other than latency: failed calls, steps not run exactly
        once or not COMPLETED, job flows that did not end cleanly."""
        found = [f"{who}: {e}" for who, calls in (("poller", self.pollers),
                                                  ("writer", self.writers),
                                                  ("warm-up", self.warmup),
                                                  ("reference", self.reference))
                 for e in calls.errors[:5]]
        if not self.exactly_once:
            bad = {t: self.runs[t] for t in self.tokens if self.runs[t] != 1}
            found.append(f"steps not run exactly once: {bad}")
        if len(self.steps) != len(self.tokens):
            found.append(f"{len(self.steps)} steps listed for {len(self.tokens)} submitted")
        not_done = {s: st for s, st in self.steps.items() if st != "COMPLETED"}
        if not_done:
            found.append(f"steps not COMPLETED: {not_done}")
        bad_flows = {f: st for f, st in self.flows.items() if st != "TERMINATED"}
        if bad_flows:
            found.append(f"job flows not TERMINATED: {bad_flows}")
        return found

    def figures(self) -> dict[str, Any]:
        return {"pollers": self.pollers.figures(), "writers": self.writers.figures(),
                "warmup": self.warmup.figures(), "reference_s3": self.reference.figures(),
                "load_average": [round(x, 1) for x in self.load_average],
                "poller_processes": self.poller_processes,
                "flows": len(self.flows), "flows_queued": len(self.queued),
                "steps": len(self.steps),
                "steps_exactly_once": self.exactly_once, "wall_s": round(self.wall_s, 1)}


def _config() -> Any:
    from botocore.config import Config

    return Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=4,
                  connect_timeout=10, read_timeout=60)


def _write_json(path: Path, data: Any) -> None:
    """Replace `path` atomically: a reader sees the old or the new content, never half."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


def run_load(endpoint: Any, plan: LoadPlan, work: Path,
             on_event: Callable[[str], None] = lambda _line: None) -> LoadResult:
    """Drive `plan` against the endpoint (an harness.aws.Endpoint); returns what happened."""
    config = _config()

    def client() -> Any:
        return endpoint.client("emr", config=config)

    work.mkdir(parents=True, exist_ok=True)
    runs_file = work / "step-runs.log"
    runs_file.write_text("")
    writers = Calls()
    tokens: list[str] = []
    tokens_lock = threading.Lock()

    def step(token: str) -> dict[str, Any]:
        with tokens_lock:
            tokens.append(token)
        # one line per run, appended atomically (O_APPEND, shorter than PIPE_BUF)
        return {"Name": token, "ActionOnFailure": "CONTINUE", "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": ["bash", "-c", f"echo {token} >> {runs_file}"]}}

    def request(n: int) -> dict[str, Any]:
        return {"Name": f"load-{n}", "ReleaseLabel": plan.release_label,
                "Applications": [{"Name": "Spark"}], "JobFlowRole": "EMR_EC2_DefaultRole",
                "ServiceRole": "EMR_DefaultRole",
                "Steps": [step(f"flow{n}-step{i}") for i in range(plan.steps_per_flow)],
                "Instances": {"InstanceGroups": [{"Name": "Master", "InstanceRole": "MASTER",
                                                  "InstanceType": "m5.xlarge",
                                                  "InstanceCount": 1}],
                              # the first job flow stays up for the step adders
                              "KeepJobFlowAliveWhenNoSteps": n == 0}}

    ids: list[str | None] = [None] * plan.flows
    ids_lock = threading.Lock()
    ids_file = work / "ids.json"
    _write_json(ids_file, ids)

    def submit(n: int) -> None:
        answer = writers.call(lambda: client().run_job_flow(**request(n)))
        with ids_lock:
            ids[n] = answer["JobFlowId"] if answer else None
            _write_json(ids_file, ids)  # the pollers see each id as it comes

    def add(n: int) -> None:
        emr = client()
        for i in range(plan.steps_per_adder):
            steps = [step(f"adder{n}-step{i}")]
            writers.call(lambda steps=steps: emr.add_job_flow_steps(JobFlowId=ids[0],
                                                                    Steps=steps))

    with PollerProcesses(endpoint, plan, work, ids_file) as sensors:
        load_before = os.getloadavg()[0]
        started = time.time()
        deadline = started + plan.timeout_s
        sensors.go(started + 0.1)
        # the job flows at once, watched by the pollers from before their submission
        submitters = [threading.Thread(target=submit, args=(n,)) for n in range(plan.flows)]
        for t in submitters:
            t.start()
        for t in submitters:
            t.join()
        on_event(f"submitted {plan.flows} job flows: {ids}")
        emr = client()
        if all(ids):
            _wait(lambda: _state(emr, ids[0]) in {"RUNNING", "WAITING"} | TERMINAL, deadline)
            on_event(f"{ids[0]} is up: {plan.adders} threads add {plan.steps_per_adder} "
                     "steps each")
            adders = [threading.Thread(target=add, args=(n,)) for n in range(plan.adders)]
            for t in adders:
                t.start()
            for t in adders:
                t.join()
            expected = plan.steps_per_flow + plan.adders * plan.steps_per_adder
            _wait(lambda: _steps_done(emr, ids[0], expected), deadline)
            on_event(f"{ids[0]}: its {expected} steps ended; terminating it")
            writers.call(lambda: emr.terminate_job_flows(JobFlowIds=[ids[0]]))
            _wait(lambda: all(_state(emr, i) in TERMINAL for i in ids), deadline)
        polled = sensors.finish()
    return _result(emr, ids, polled, writers, runs_file, tokens, started,
                   (load_before, os.getloadavg()[0]), plan.poller_processes)


class PollerProcesses:
    """The pollers, `plan.pollers` threads spread over `plan.poller_processes` owned child
    processes. `with` starts them and waits until every client is warm; `go(t)` starts
    their clock at epoch t; `finish()` stops them and gathers their calls. Leaving the
    `with` block on any path stops them."""

    def __init__(self, endpoint: Any, plan: LoadPlan, work: Path, ids_file: Path) -> None:
        self.endpoint, self.plan, self.work, self.ids_file = endpoint, plan, work, ids_file
        self.dir = work / "pollers"
        self.processes: list[Any] = []
        self.outs: list[Path] = []

    def __enter__(self) -> PollerProcesses:
        from harness import procs

        self.dir.mkdir(parents=True, exist_ok=True)
        for name in ("go", "stop"):
            (self.dir / name).unlink(missing_ok=True)
        count = max(1, min(self.plan.poller_processes, self.plan.pollers))
        ready = []
        try:
            for p in range(count):
                spec = {"url": self.endpoint.url, "region": self.endpoint.region,
                        "access_key": self.endpoint.access_key,
                        "secret_key": self.endpoint.secret_key,
                        "pollers": list(range(p, self.plan.pollers, count)),
                        "of": self.plan.pollers, "interval_s": self.plan.poll_interval_s,
                        "ids": str(self.ids_file), "go": str(self.dir / "go"),
                        "stop": str(self.dir / "stop"), "timeout_s": self.plan.timeout_s,
                        "ready": str(self.dir / f"ready-{p}"),
                        "out": str(self.dir / f"calls-{p}.json")}
                for key in ("ready", "out"):
                    Path(spec[key]).unlink(missing_ok=True)
                spec_file = self.dir / f"spec-{p}.json"
                spec_file.write_text(json.dumps(spec))
                ready.append(Path(spec["ready"]))
                self.outs.append(Path(spec["out"]))
                self.processes.append(procs.OwnedProcess(
                    [sys.executable, "-m", "harness.emr.load", "poll", str(spec_file)],
                    env=self.endpoint.child_env(), log=self.dir / f"poller-{p}.log"))
            until = time.time() + READY_TIMEOUT_S
            while not all(r.exists() for r in ready):
                dead = [p for p in self.processes if not p.alive()]
                if dead or time.time() > until:
                    raise RuntimeError(
                        f"poller processes did not get ready ({len(dead)} exited); see "
                        f"{self.dir}/poller-*.log")
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise
        return self

    def go(self, first_tick: float) -> None:
        _write_json(self.dir / "go", first_tick)

    def finish(self) -> dict[str, Any]:
        """Stop the pollers and gather what they measured."""
        _write_json(self.dir / "stop", time.time())
        for p in self.processes:
            p.wait(timeout=30)
        gathered: dict[str, Any] = {"pollers": Calls(), "reference": Calls(),
                                    "warmup": Calls(), "queued": set()}
        for out in self.outs:
            if not out.exists():
                raise RuntimeError(f"a poller process wrote no figures ({out}); see "
                                   f"{self.dir}/poller-*.log")
            data = json.loads(out.read_text())
            for kind in ("pollers", "reference", "warmup"):
                gathered[kind].merge(data[kind])
            gathered["queued"].update(data["queued"])
        return gathered

    def stop(self) -> None:
        for p in self.processes:
            p.stop(grace_s=5)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def poll_process(spec: dict[str, Any]) -> None:
    """One poller process: its share of the pollers as threads (the module docstring)."""
    from harness.aws.endpoint import Endpoint

    endpoint = Endpoint(url=spec["url"], region=spec["region"],
                        access_key=spec["access_key"], secret_key=spec["secret_key"])
    config = _config()
    pollers, reference, warmup = Calls(), Calls(), Calls()
    queued: set[str] = set()
    ids_path, go, stop_file = Path(spec["ids"]), Path(spec["go"]), Path(spec["stop"])
    known: list[str | None] = []
    stop = threading.Event()

    def ids() -> list[str | None]:
        nonlocal known
        if not known or not all(known):  # until every id is known, read what there is
            known = json.loads(ids_path.read_text())
        return known

    def rotation(emr: Any, k: int, n: int) -> Callable[[], Any]:
        # a dashboard's rotation: the active clusters, one cluster, the busy cluster's
        # steps, one cluster's instance groups (the list until the ids are known)
        flows = ids()
        mine, busy = flows[n % len(flows)], flows[0]
        if k % 4 == 1 and mine:
            return lambda: emr.describe_cluster(ClusterId=mine)
        if k % 4 == 2 and busy:
            return lambda: emr.list_steps(ClusterId=busy)
        if k % 4 == 3 and mine:
            return lambda: emr.list_instance_groups(ClusterId=mine)
        return lambda: emr.list_clusters(ClusterStates=ACTIVE)

    def poll(n: int, emr: Any, s3: Any, first_tick: float) -> None:
        tick, k = first_tick, n
        stop.wait(max(0.0, tick - time.time()))
        while not stop.is_set():
            if k % REFERENCE_EVERY == 0:  # the reference: the same stack, no EMR state
                reference.call(lambda: s3.list_buckets())
                k += 1
            answer = pollers.call(rotation(emr, k, n))
            reason = ((answer or {}).get("Cluster") or {}).get("Status", {}).get(
                "StateChangeReason", {}).get("Message", "")
            if reason.startswith("Waiting for capacity"):
                queued.add(answer["Cluster"]["Id"])
            k += 1
            tick += spec["interval_s"]
            stop.wait(max(0.0, tick - time.time()))

    # start-up apart from steady state: each client is made, and its first call (botocore
    # loads its models and endpoint rules) made, before the clock starts
    clients = {n: (endpoint.client("emr", config=config), endpoint.client("s3", config=config))
               for n in spec["pollers"]}
    for emr, s3 in clients.values():
        warmup.call(lambda emr=emr: emr.list_clusters())
        warmup.call(lambda s3=s3: s3.list_buckets())
    Path(spec["ready"]).write_text("ready")
    until = time.time() + spec["timeout_s"] + READY_TIMEOUT_S
    while not go.exists():
        if time.time() > until:
            raise SystemExit("never told to start")
        time.sleep(0.01)
    first = json.loads(go.read_text())
    threads = [threading.Thread(
        target=poll, args=(n, *clients[n], first + spec["interval_s"] * n / spec["of"]),
        daemon=True) for n in spec["pollers"]]
    for t in threads:
        t.start()
    while not stop_file.exists() and time.time() < until:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    _write_json(Path(spec["out"]), {"pollers": pollers.as_json(),
                                    "reference": reference.as_json(),
                                    "warmup": warmup.as_json(), "queued": sorted(queued)})


def _result(emr: Any, ids: list[str | None], polled: dict[str, Any], writers: Calls,
            runs_file: Path, tokens: list[str], started: float,
            load: tuple[float, float], processes: int) -> LoadResult:
    flows, steps = {}, {}
    for cluster_id in [i for i in ids if i]:
        flows[cluster_id] = _state(emr, cluster_id)
        for page in emr.get_paginator("list_steps").paginate(ClusterId=cluster_id):
            steps.update({s["Id"]: s["Status"]["State"] for s in page["Steps"]})
    runs = Counter(line.strip() for line in runs_file.read_text().splitlines() if line.strip())
    return LoadResult(polled["pollers"], writers, polled["warmup"], flows, steps, runs, tokens,
                      time.time() - started, polled["queued"], polled["reference"], load,
                      processes)


def _state(emr: Any, cluster_id: str | None) -> str:
    return emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]


def _steps_done(emr: Any, cluster_id: str | None, expected: int) -> bool:
    states = [s["Status"]["State"] for page in emr.get_paginator("list_steps").paginate(
        ClusterId=cluster_id) for s in page["Steps"]]
    return len(states) >= expected and all(s in STEP_ENDS for s in states)


def _wait(condition: Callable[[], bool], deadline: float) -> None:
    while not condition():
        if time.time() > deadline:
            raise TimeoutError("the load run did not finish in time")
        time.sleep(1.0)


def _percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile of sorted values."""
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


if __name__ == "__main__":  # python -m harness.emr.load poll SPEC.json (a poller process)
    if len(sys.argv) != 3 or sys.argv[1] != "poll":
        raise SystemExit("usage: python -m harness.emr.load poll SPEC.json")
    poll_process(json.loads(Path(sys.argv[2]).read_text()))
