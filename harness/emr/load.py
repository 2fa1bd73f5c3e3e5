"""The EMR control plane under concurrent use, as CI systems and dashboards use it: job flows
submitted at once (they queue for the machine's capacity), threads adding steps to one
running job flow, and pollers calling describe/list once a second meanwhile. Every call
goes through boto3 over loopback with SDK retries off, so a fault or a 5xx is seen, never
hidden by a retry; every step is a tiny `bash -c` that appends its own token to a file,
so "ran exactly once" is counted, not inferred from the API. Every fifth poll is S3's
ListBuckets, the reference: the same HTTP stack with no EMR state or lock behind it, so a
slow EMR figure can be told apart from a slow machine.
"""

from __future__ import annotations

import os
import statistics
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


@dataclass(frozen=True)
class LoadPlan:
    """How much load: job flows submitted at once, step adders on the first job flow
    (each adding `steps_per_adder`), pollers calling every `poll_interval_s`."""

    flows: int = 4
    steps_per_flow: int = 2
    adders: int = 8
    steps_per_adder: int = 5
    pollers: int = 50
    poll_interval_s: float = 1.0
    timeout_s: float = 900.0
    release_label: str = "emr-7.12.0"


@dataclass
class Calls:
    """Latencies (ms) and failures of one kind of caller."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_errors: int = 0  # answers with HTTP 5xx
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def call(self, fn: Callable[[], Any]) -> Any:
        from botocore.exceptions import ClientError

        started = time.perf_counter()
        try:
            return fn()
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
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

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {"calls": len(ordered), "errors": len(self.errors),
                "server_errors": self.server_errors,
                "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
                "p99_ms": round(_percentile(ordered, 0.99), 1) if ordered else None,
                "max_ms": round(ordered[-1], 1) if ordered else None}


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
                "flows": len(self.flows), "flows_queued": len(self.queued),
                "steps": len(self.steps),
                "steps_exactly_once": self.exactly_once, "wall_s": round(self.wall_s, 1)}


def run_load(endpoint: Any, plan: LoadPlan, work: Path,
             on_event: Callable[[str], None] = lambda _line: None) -> LoadResult:
    """Drive `plan` against the endpoint (an harness.aws.Endpoint); returns what happened."""
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=4,
                    connect_timeout=10, read_timeout=60)

    def client() -> Any:
        return endpoint.client("emr", config=config)

    work.mkdir(parents=True, exist_ok=True)
    runs_file = work / "step-runs.log"
    runs_file.write_text("")
    pollers, writers, warmup, reference = Calls(), Calls(), Calls(), Calls()
    queued: set[str] = set()  # job flows a poller saw waiting for capacity
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
    stop = threading.Event()

    def submit(n: int) -> None:
        answer = writers.call(lambda: client().run_job_flow(**request(n)))
        ids[n] = answer["JobFlowId"] if answer else None

    def poll(n: int, emr: Any, s3: Any, first_tick: float) -> None:
        def call(k: int) -> Callable[[], Any]:
            # a dashboard's rotation: the active clusters, one cluster, the busy cluster's
            # steps, one cluster's instance groups (the list until the ids are known)
            mine, busy = ids[n % len(ids)], ids[0]
            if k % 4 == 1 and mine:
                return lambda: emr.describe_cluster(ClusterId=mine)
            if k % 4 == 2 and busy:
                return lambda: emr.list_steps(ClusterId=busy)
            if k % 4 == 3 and mine:
                return lambda: emr.list_instance_groups(ClusterId=mine)
            return lambda: emr.list_clusters(ClusterStates=ACTIVE)

        tick, k = first_tick, n
        stop.wait(max(0.0, tick - time.time()))
        while not stop.is_set():
            if k % REFERENCE_EVERY == 0:  # the reference: the same stack, no EMR state
                reference.call(lambda: s3.list_buckets())
                k += 1
            answer = pollers.call(call(k))
            reason = ((answer or {}).get("Cluster") or {}).get("Status", {}).get(
                "StateChangeReason", {}).get("Message", "")
            if reason.startswith("Waiting for capacity"):
                queued.add(answer["Cluster"]["Id"])
            k += 1
            tick += plan.poll_interval_s
            stop.wait(max(0.0, tick - time.time()))

    def add(n: int) -> None:
        emr = client()
        for i in range(plan.steps_per_adder):
            steps = [step(f"adder{n}-step{i}")]
            writers.call(lambda steps=steps: emr.add_job_flow_steps(JobFlowId=ids[0],
                                                                    Steps=steps))

    # start-up apart from steady state: each poller's client is made, and its first call
    # (botocore loads its models and endpoint rules) made, before the pollers' clock starts
    clients = [(client(), endpoint.client("s3", config=config)) for _ in range(plan.pollers)]
    for emr, s3 in clients:
        warmup.call(lambda emr=emr: emr.list_clusters())
        warmup.call(lambda s3=s3: s3.list_buckets())
    load_before = os.getloadavg()[0]
    started = time.time()
    deadline = started + plan.timeout_s
    # independent sensors, each once per interval: spread over the interval, not in step
    first = started + 0.1
    poller_threads = [threading.Thread(
        target=poll, args=(n, *clients[n], first + plan.poll_interval_s * n / plan.pollers),
        daemon=True) for n in range(plan.pollers)]
    for t in poller_threads:
        t.start()
    # the job flows at once, watched by the pollers from before their submission
    submitters = [threading.Thread(target=submit, args=(n,)) for n in range(plan.flows)]
    for t in submitters:
        t.start()
    for t in submitters:
        t.join()
    on_event(f"submitted {plan.flows} job flows: {ids}")
    emr = client()
    try:
        if not all(ids):
            return _result(emr, ids, pollers, writers, warmup, runs_file, tokens, started, queued,
                   reference, (load_before, os.getloadavg()[0]))
        _wait(lambda: _state(emr, ids[0]) in {"RUNNING", "WAITING"} | TERMINAL, deadline)
        on_event(f"{ids[0]} is up: {plan.adders} threads add {plan.steps_per_adder} steps "
                 "each")
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
    finally:
        stop.set()
        for t in poller_threads:
            t.join(timeout=10)
    return _result(emr, ids, pollers, writers, warmup, runs_file, tokens, started, queued,
                   reference, (load_before, os.getloadavg()[0]))


def _result(emr: Any, ids: list[str | None], pollers: Calls, writers: Calls, warmup: Calls,
            runs_file: Path, tokens: list[str], started: float, queued: set[str],
            reference: Calls, load: tuple[float, float]) -> LoadResult:
    flows, steps = {}, {}
    for cluster_id in [i for i in ids if i]:
        flows[cluster_id] = _state(emr, cluster_id)
        for page in emr.get_paginator("list_steps").paginate(ClusterId=cluster_id):
            steps.update({s["Id"]: s["Status"]["State"] for s in page["Steps"]})
    runs = Counter(line.strip() for line in runs_file.read_text().splitlines() if line.strip())
    return LoadResult(pollers, writers, warmup, flows, steps, runs, tokens,
                      time.time() - started, queued, reference, load)


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
