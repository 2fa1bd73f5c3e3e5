"""EMR's cluster controls, cancellation and honest refusals, without a server: every
operation of botocore's EMR model is either handled or refused by name (through the real
response class, in-process), the controls' rules, the idle clock, the cancellation signals
on a real child process, and what the backend records."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time

import pytest
from moto.moto_server.werkzeug_app import BackendRequest
from werkzeug.test import EnvironBuilder

from harness.emr import cancellation, controls
from harness.emr.exceptions import InvalidRequestException, ValidationException
from harness.emr.models import RehearsalEmrBackend
from harness.emr.refusals import application_notes
from harness.emr.responses import RehearsalEmrResponse
from harness.emr.validation import service_model
from harness.procs import OwnedProcess, pid_alive
from tests.unit.test_emr_models import new_cluster


def _minimal(shape):  # noqa: ANN001 - a botocore shape: the smallest valid value
    kind = shape.type_name
    if kind == "structure":
        return {name: _minimal(shape.members[name]) for name in shape.required_members}
    if kind == "list":
        return [_minimal(shape.member)]
    if kind == "map":
        return {}
    if kind == "string":
        enum = shape.metadata.get("enum")
        return enum[0] if enum else "x" * max(1, shape.metadata.get("min", 1))
    if kind in {"integer", "long"}:
        return max(1, shape.metadata.get("min", 1))
    if kind == "boolean":
        return True
    return 1.0


def call(operation: str, body: dict) -> tuple[int, dict]:
    """The EMR response class's answer to a signed-looking JSON request, in-process."""
    environ = EnvironBuilder(method="POST", path="/", data=json.dumps(body).encode(), headers={
        "X-Amz-Target": f"ElasticMapReduce.{operation}",
        "Content-Type": "application/x-amz-json-1.1"}).get_environ()
    request = BackendRequest(environ)
    status, _, text = RehearsalEmrResponse.dispatch(
        request, "http://elasticmapreduce.us-east-1.amazonaws.com/", request.headers)
    return status, json.loads(text or "{}")


def test_every_emr_operation_is_either_handled_or_refused_by_name():
    model = service_model()
    assert len(model.operation_names) == 65  # botocore 1.44.8's EMR model
    refused = []
    for operation in model.operation_names:
        if RehearsalEmrResponse.emulates(operation):
            continue
        shape = model.operation_model(operation).input_shape
        status, body = call(operation, _minimal(shape) if shape else {})
        assert status == 501, (operation, body)
        assert body["__type"] == "NotImplemented"
        assert f"EMR operation {operation} is not emulated" in body["message"]
        refused.append(operation)
    handled = set(model.operation_names) - set(refused)
    # what the rehearsal runs or records for real is never refused
    assert {"RunJobFlow", "AddJobFlowSteps", "CancelSteps", "TerminateJobFlows",
            "SetTerminationProtection", "SetKeepJobFlowAliveWhenNoSteps", "ModifyCluster",
            "PutAutoTerminationPolicy", "GetAutoTerminationPolicy",
            "RemoveAutoTerminationPolicy", "ListSecurityConfigurations",
            "SetUnhealthyNodeReplacement"} <= handled
    assert {"CreateStudio", "StartNotebookExecution", "PutManagedScalingPolicy"} <= set(refused)


@pytest.mark.parametrize(("policy", "label", "message"), [
    ({"IdleTimeout": 59}, "emr-7.9.0", "between 60 and 604800"),
    ({"IdleTimeout": 604_801}, "emr-7.9.0", "out of range"),
    ({"IdleTimeout": True}, "emr-7.9.0", "whole number"),
    ("60", "emr-7.9.0", "must be an object"),
    ({"IdleTimeout": 60}, "emr-5.29.0", "not supported for release label emr-5.29.0"),
    ({"IdleTimeout": 60}, "emr-6.0.0", "needs emr-5.30.0 or emr-6.1.0"),
])
def test_auto_termination_policy_rules(policy, label, message):
    with pytest.raises(ValidationException, match=message):
        controls.check_auto_termination_policy(policy, label)


def test_auto_termination_policy_defaults_to_an_hour_and_keeps_the_limits():
    assert controls.check_auto_termination_policy({}, "emr-7.9.0") == {"IdleTimeout": 3600}
    for seconds in (60, 604_800):
        assert controls.check_auto_termination_policy({"IdleTimeout": seconds}, "emr-6.1.0") \
            == {"IdleTimeout": seconds}


def test_idle_clock_counts_only_time_without_steps_or_applications():
    now = [0.0]
    apps = [False]
    clock = controls.IdleClock(lambda: apps[0], poll_s=5.0, clock=lambda: now[0])
    policy = {"IdleTimeout": 60}
    clock.tick(steps_active=False)
    now[0] = 59.0
    clock.tick(steps_active=False)
    assert not clock.expired(policy)
    now[0] = 60.0
    assert clock.expired(policy)
    clock.tick(steps_active=True)  # a step resets the clock
    assert clock.idle_for() == 0 and not clock.expired(policy)
    apps[0] = True  # an application running on the cluster keeps it busy
    now[0] = 200.0
    clock.tick(steps_active=False)
    now[0] = 300.0
    clock.tick(steps_active=False)
    assert not clock.expired(policy)
    assert controls.spark_apps_running(lambda: {"activeapps": []}) is False
    assert controls.spark_apps_running(lambda: (_ for _ in ()).throw(OSError())) is True


def test_a_scaled_idle_clock_waits_a_part_of_idle_timeout_and_says_so():
    """HARNESS_EMR_IDLE_SCALE: the API keeps EMR's 60 s minimum, the clock waits 6 s of it,
    and the state-change message names both."""
    now = [0.0]
    clock = controls.IdleClock(lambda: False, clock=lambda: now[0], scale=0.1)
    policy = controls.check_auto_termination_policy({"IdleTimeout": 60}, "emr-7.12.0")
    clock.tick(steps_active=False)
    now[0] = 5.9
    assert not clock.expired(policy)
    now[0] = 6.0
    assert clock.expired(policy)
    message = controls.idle_message(60, 0.1)
    assert "idle for 60 seconds" in message and "waited 6 s: HARNESS_EMR_IDLE_SCALE=0.1" \
        in message
    assert "waited" not in controls.idle_message(60)


def test_cluster_controls_change_the_record_and_refuse_bad_values():
    backend = RehearsalEmrBackend("us-east-1", "123456789012")
    cluster = new_cluster(backend, steps=())
    backend.put_auto_termination_policy(cluster.id, {"IdleTimeout": 120})
    assert backend.get_auto_termination_policy(cluster.id) == {"IdleTimeout": 120}
    backend.remove_auto_termination_policy(cluster.id)
    assert backend.get_auto_termination_policy(cluster.id) is None
    backend.set_keep_job_flow_alive_when_no_steps([cluster.id], False)
    assert cluster.auto_terminate is True
    assert backend.modify_cluster(cluster.id, 4).step_concurrency_level == 4
    with pytest.raises(ValidationException, match="between 1 and 256"):
        backend.modify_cluster(cluster.id, 257)
    with pytest.raises(InvalidRequestException, match="j-NOSUCH"):
        backend.set_keep_job_flow_alive_when_no_steps([cluster.id, "j-NOSUCH"], True)
    assert cluster.auto_terminate is True  # one unknown id: nothing changed
    backend.set_termination_protection([cluster.id], True)
    with pytest.raises(ValidationException, match="termination protected"):
        backend.terminate_job_flows([cluster.id])
    assert cluster.state == "STARTING"
    assert cluster.master_public_dns_name is None  # no master until the nodes are up
    cluster.run_bootstrap_actions()
    assert cluster.master_public_dns_name == "localhost"
    backend.set_termination_protection([cluster.id], False)
    backend.terminate_job_flows([cluster.id])
    with pytest.raises(ValidationException, match="may not be modified"):
        backend.put_auto_termination_policy(cluster.id, {"IdleTimeout": 60})


def test_old_releases_cancel_only_pending_steps():
    backend = RehearsalEmrBackend("us-east-1", "123456789012")
    cluster = new_cluster(backend)
    cluster.release_label = "emr-5.27.0"
    first, _ = cluster.steps
    first.run()
    info = backend.cancel_steps(cluster.id, [first.id])[0]
    assert info["Status"] == "FAILED" and "only PENDING steps" in info["Reason"]
    assert first.state == "RUNNING"


def test_applications_the_cluster_does_not_run_are_named():
    notes = application_notes([{"Name": "Spark"}, {"Name": "Hive"}, {"Name": "HBase"},
                               {"Name": "Hadoop"}])
    assert notes[0].endswith("not running on this cluster: Hive, HBase")
    assert any("no YARN, HDFS or MapReduce" in n for n in notes)
    assert application_notes([{"Name": "Spark"}]) == []


def _child(tmp_path, script):
    out = (tmp_path / "out").open("wb")
    process = OwnedProcess(["bash", "-c", script], stdout=out, stderr=out)
    exited = threading.Event()

    def wait() -> None:
        process.wait()
        exited.set()

    threading.Thread(target=wait, daemon=True).start()
    return process, exited


def test_send_interrupt_is_sigterm_and_a_process_that_ignores_it_is_killed(tmp_path):
    process, exited = _child(tmp_path, "sleep 30")
    cancellation.cancel_running(process, "SEND_INTERRUPT", tmp_path, exited, grace_s=10)
    assert exited.wait(10) and process.proc.returncode == -signal.SIGTERM
    process, exited = _child(tmp_path, "trap '' TERM; sleep 30 & wait; wait")
    time.sleep(0.3)  # let bash install its trap
    cancellation.cancel_running(process, "SEND_INTERRUPT", tmp_path, exited, grace_s=0.5)
    assert exited.wait(10) and process.proc.returncode == -signal.SIGKILL
    syslog = (tmp_path / "syslog").read_text()
    assert "SEND_INTERRUPT: sending SIGTERM" in syslog and "ignored SIGTERM" in syslog


def test_terminate_process_kills_the_whole_process_group(tmp_path):
    process, exited = _child(tmp_path, "sleep 30 & sleep 31 & wait")
    time.sleep(0.3)
    cancellation.cancel_running(process, "TERMINATE_PROCESS", tmp_path, exited)
    assert exited.wait(10) and process.proc.returncode == -signal.SIGKILL
    def alive_members() -> list[str]:  # zombies do not count
        members = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True,
                                 text=True).stdout.split()
        return [pid for pid in members if pid_alive(int(pid))]

    deadline = time.monotonic() + 10  # SIGKILL is delivered asynchronously
    while alive_members() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive_members() == []


class _Emr:
    """The three EMR calls `harness down` makes, over a dict of cluster: protected."""

    def __init__(self, protected):
        self.protected = dict(protected)

    def list_clusters(self, ClusterStates):  # noqa: N803 - boto3's spelling
        assert "WAITING" in ClusterStates
        return {"Clusters": [{"Id": i} for i in self.protected]}

    def describe_cluster(self, ClusterId):  # noqa: N803
        return {"Cluster": {"TerminationProtected": self.protected[ClusterId]}}

    def set_termination_protection(self, JobFlowIds, TerminationProtected):  # noqa: N803
        for i in JobFlowIds:
            self.protected[i] = TerminationProtected


def test_harness_down_refuses_protected_job_flows_unless_forced():
    from harness.errors import HarnessError

    emr = _Emr({"j-A": True, "j-B": False})
    with pytest.raises(HarnessError) as err:
        controls.release_protection(emr, force=False)
    assert "j-A" in err.value.problem and "harness down --force" in err.value.remedy
    assert emr.protected["j-A"] is True
    assert controls.release_protection(emr, force=True) == ["j-A"]
    assert emr.protected == {"j-A": False, "j-B": False}
    assert controls.release_protection(_Emr({"j-A": True}), True, cluster_ids=[]) == []


def test_a_step_in_a_container_is_signalled_like_a_local_one():
    # the docker backend's step runs as its own process group inside the node's container
    # (docker/node/emr-node-exec writes the leader's pid): SIGTERM to the leader, SIGKILL to
    # the group, each through `docker exec ... kill`
    from harness.cluster.docker import ContainerProcess

    commands = []

    class Api:
        def exec_create(self, container, cmd, **_):  # noqa: ANN001, ANN202
            commands.append((container, cmd[-1]))
            return {"Id": "e"}

        def exec_start(self, *_args, **_kwargs):  # noqa: ANN202
            return iter(())

    process = ContainerProcess.__new__(ContainerProcess)
    process.api, process.container, process.pidfile = Api(), "node", "/dev/shm/p.pid"
    process.signal(signal.SIGTERM, group=False)
    process.signal(signal.SIGKILL)
    assert commands == [
        ("node", '[ -f /dev/shm/p.pid ] && kill -TERM "$(cat /dev/shm/p.pid)"'),
        ("node", '[ -f /dev/shm/p.pid ] && kill -KILL -- -"$(cat /dev/shm/p.pid)"')]
