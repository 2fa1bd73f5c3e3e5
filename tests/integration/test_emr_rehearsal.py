"""EMR job flows driven purely through boto3 against the endpoint really run, on every
cluster backend (processes, containers): bootstrap actions on every node, steps via
command-runner and script-runner, logs under LogUri, the waiters, ActionOnFailure,
cancel_steps, termination, and EMR's validation errors."""

from __future__ import annotations

import contextlib
import copy
import gzip
import os
import sys
import time

import pandas as pd
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import procs
from harness.aws.s3 import S3Uri, download_prefix, ensure_bucket, upload_dir
from harness.bench.equivalence import compare_outputs
from harness.workloads import generate_fixture
from tests.backends import CLUSTER_BACKENDS, wait_state

pytestmark = pytest.mark.integration
FAST = {"Delay": 0.2, "MaxAttempts": 3000}  # the local endpoint answers in milliseconds
GROUPS = [
    {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
     "InstanceCount": 1},
    {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 2},
    {"Name": "Task", "InstanceRole": "TASK", "InstanceType": "m5.xlarge", "InstanceCount": 1,
     "Market": "SPOT"},
]
# the shape a team deploys: mixed types, a small spot task node beside big core nodes
MIXED = [
    {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
     "InstanceCount": 1},
    {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "r5.xlarge", "InstanceCount": 2},
    {"Name": "Task", "InstanceRole": "TASK", "InstanceType": "c5.xlarge", "InstanceCount": 1,
     "Market": "SPOT"},
]


def job_flow(name, steps=(), bootstrap=(), keep_alive=False, groups=GROUPS):
    return dict(Name=name, ReleaseLabel="emr-7.12.0", LogUri="s3://logs/emr/",
                Applications=[{"Name": "Spark"}], JobFlowRole="EMR_EC2_DefaultRole",
                ServiceRole="EMR_DefaultRole", Steps=list(steps),
                BootstrapActions=list(bootstrap),
                Instances={"InstanceGroups": copy.deepcopy(groups),
                           "KeepJobFlowAliveWhenNoSteps": keep_alive})


def step(name, args, action="CONTINUE", jar="command-runner.jar"):
    return {"Name": name, "ActionOnFailure": action,
            "HadoopJarStep": {"Jar": jar, "Args": list(args)}}


@pytest.fixture(scope="module", params=CLUSTER_BACKENDS)
def emr_backend(request):
    """The cluster backend the endpoint's job flows run on."""
    return request.param


@pytest.fixture(scope="module")
def aws(emr_backend, request, tmp_path_factory):
    """S3 and EMR clients of an endpoint whose job flows run on `emr_backend` (the
    session's endpoint for processes, one of its own for containers)."""
    from harness.aws import EmbeddedEndpoint

    with contextlib.ExitStack() as stack:
        if emr_backend == "process":
            endpoint = request.getfixturevalue("endpoint")
        else:
            work = tmp_path_factory.mktemp(f"endpoint-{emr_backend}")
            endpoint = stack.enter_context(EmbeddedEndpoint(
                port=0, work_dir=work, log=work / "endpoint.log", emr_backend=emr_backend))
        s3, emr = endpoint.client("s3"), endpoint.client("emr")
        for bucket in ("raw", "code", "logs", "curated"):
            ensure_bucket(s3, bucket, endpoint.region)
        yield s3, emr


def log_text(s3, key):
    return gzip.decompress(s3.get_object(Bucket="logs", Key=key)["Body"].read()).decode()


def test_complete_job_flow_through_boto3(aws, cascade, tmp_path_factory):
    s3, emr = aws
    fixture, _ = generate_fixture(cascade, 400_000, 42, 0.02,
                                  tmp_path_factory.mktemp("fx") / "400k")
    upload_dir(s3, fixture.path, S3Uri("raw", "cascade/400k"))
    s3.upload_file(str(cascade.spark_job), "code", "jobs/spark_job.py")
    s3.put_object(Bucket="code", Key="bootstrap/marker.sh", Body=(
        b"#!/bin/bash\nset -e\ncat /mnt/var/lib/info/instance.json > marker\n"
        b"aws s3 cp marker s3://logs/markers/$HARNESS_NODE_NAME\n"))
    started = time.time()
    cluster_id = emr.run_job_flow(**job_flow(
        "rehearsal", keep_alive=True, groups=MIXED,
        bootstrap=[{"Name": "marker",
                    "ScriptBootstrapAction": {"Path": "s3://code/bootstrap/marker.sh"}}],
    ))["JobFlowId"]
    assert emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] \
        in {"STARTING", "BOOTSTRAPPING"}
    emr.get_waiter("cluster_running").wait(ClusterId=cluster_id, WaiterConfig=FAST)
    ready = time.time() - started
    markers = s3.list_objects_v2(Bucket="logs", Prefix="markers/")["Contents"]
    assert sorted(m["Key"] for m in markers) == [
        "markers/core-1", "markers/core-2", "markers/master-1", "markers/task-1"]
    groups = emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
    assert {(g["InstanceGroupType"], g["Market"]) for g in groups} >= {("TASK", "SPOT")}

    started = time.time()
    (step_id,) = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[step(
        "enrich", ["spark-submit", "--deploy-mode", "cluster", "s3://code/jobs/spark_job.py",
                   "s3://raw/cascade/400k", "s3://curated/emr-run"])])["StepIds"]
    emr.get_waiter("step_complete").wait(ClusterId=cluster_id, StepId=step_id,
                                         WaiterConfig=FAST)
    step_s = time.time() - started
    status = emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]["Status"]
    assert status["State"] == "COMPLETED"

    prefix = f"emr/{cluster_id}/steps/{step_id}/"
    logs = {o["Key"] for o in s3.list_objects_v2(Bucket="logs", Prefix=prefix)["Contents"]}
    assert logs == {prefix + n for n in ("controller.gz", "stdout.gz", "stderr.gz",
                                         "syslog.gz")}
    controller = log_text(s3, prefix + "controller.gz")
    assert "running in client mode" in controller
    # the step's phases: its own bookkeeping, then the job's (from its marks, event log)
    for phase in ("step downloads", "driver start", "session", "read", "compute", "commit"):
        assert f"PHASE {phase}=" in controller, phase
    assert "enrichment-metrics" in log_text(s3, prefix + "stdout.gz")
    # on its release's runtime: emr-7.12.0's Spark 3.5.6, not the harness's own pyspark
    assert '"spark_version": "3.5.6"' in log_text(s3, prefix + "stdout.gz")

    local = tmp_path_factory.mktemp("emr-out")
    download_prefix(s3, S3Uri("curated", "emr-run"), local)
    outputs = {name: pd.read_parquet(local / name) for name in cascade.output_names}
    comparison = compare_outputs(cascade.outputs, cascade.reference_outputs(fixture.read_tables()),
                                 outputs, 1e-9)
    assert comparison.equal, comparison.summary()

    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    emr.get_waiter("cluster_terminated").wait(ClusterId=cluster_id, WaiterConfig=FAST)
    final = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]
    assert final["State"] == "TERMINATED" and final["StateChangeReason"]["Code"] == "USER_REQUEST"
    print(f"\nrun_job_flow -> RUNNING/WAITING {ready:.1f} s; 400k step {step_s:.1f} s")


SMALL = [GROUPS[0], {**GROUPS[1], "InstanceCount": 1}]  # where the shape does not matter


def test_failures_follow_action_on_failure(aws):
    s3, emr = aws
    s3.put_object(Bucket="code", Key="steps/fail.py",
                  Body=b"raise RuntimeError('the job broke on purpose')\n")
    s3.put_object(Bucket="code", Key="steps/hello.sh", Body=b"#!/bin/bash\necho hello $1\n")
    cluster_id = emr.run_job_flow(**job_flow("failures", keep_alive=True, groups=SMALL, steps=[
        step("script", ["s3://code/steps/hello.sh", "world"],
             jar="s3://us-east-1.elasticmapreduce/libs/script-runner/script-runner.jar"),
        step("shell", ["bash", "-c", "aws s3 ls s3://code/steps/ && exit 3"]),
        step("missing script", ["spark-submit", "s3://code/steps/nope.py"]),
        step("raises", ["spark-submit", "s3://code/steps/fail.py"], action="CANCEL_AND_WAIT"),
        step("never runs", ["bash", "-c", "true"]),
    ]))["JobFlowId"]
    emr.get_waiter("cluster_running").wait(ClusterId=cluster_id, WaiterConfig=FAST)
    deadline = time.time() + 300
    while time.time() < deadline:
        steps = {s["Name"]: s for s in emr.list_steps(ClusterId=cluster_id)["Steps"]}
        if all(s["Status"]["State"] not in {"PENDING", "RUNNING"} for s in steps.values()):
            break
        time.sleep(0.2)
    states = {name: s["Status"]["State"] for name, s in steps.items()}
    assert states == {"script": "COMPLETED", "shell": "FAILED", "missing script": "FAILED",
                      "raises": "FAILED", "never runs": "CANCELLED"}
    missing = steps["missing script"]["Status"]["FailureDetails"]["Message"]
    assert "s3://code/steps/nope.py" in missing and "NoSuchKey" in missing
    raised = steps["raises"]["Status"]["FailureDetails"]
    assert "RuntimeError: the job broke on purpose" in raised["Message"]
    # PySpark prints the driver's Python traceback on stdout; LogFile names that log
    assert raised["LogFile"].endswith("/stdout.gz")
    assert "the job broke on purpose" in log_text(s3, raised["LogFile"].replace("s3://logs/", ""))
    assert "hello world" in log_text(
        s3, f"emr/{cluster_id}/steps/{steps['script']['Id']}/stdout.gz")
    # CANCEL_AND_WAIT: the cluster waits for more work instead of terminating
    assert emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] == "WAITING"

    # cancel_steps cancels a pending step; terminating interrupts the running one
    running, pending = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[
        step("long", ["bash", "-c", "sleep 300"]), step("queued", ["bash", "-c", "true"])],
    )["StepIds"]
    info = emr.cancel_steps(ClusterId=cluster_id, StepIds=[pending])["CancelStepsInfoList"]
    assert info[0]["Status"] == "SUBMITTED"
    deadline = time.time() + 60
    while emr.describe_step(ClusterId=cluster_id, StepId=running)["Step"]["Status"]["State"] \
            != "RUNNING" and time.time() < deadline:
        time.sleep(0.2)
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    emr.get_waiter("cluster_terminated").wait(ClusterId=cluster_id, WaiterConfig=FAST)
    final = {s["Id"]: s["Status"]["State"] for s in emr.list_steps(ClusterId=cluster_id)["Steps"]}
    assert final[running] == "INTERRUPTED" and final[pending] == "CANCELLED"


def test_step_failure_with_terminate_cluster_and_failing_bootstrap(aws):
    s3, emr = aws
    s3.put_object(Bucket="code", Key="bootstrap/fail.sh", Body=b"#!/bin/bash\nexit 7\n")
    small = SMALL
    boot = emr.run_job_flow(**job_flow("bad bootstrap", groups=small, bootstrap=[
        {"Name": "fails", "ScriptBootstrapAction": {"Path": "s3://code/bootstrap/fail.sh"}}],
        steps=[step("x", ["bash", "-c", "true"])]))["JobFlowId"]
    term = emr.run_job_flow(**job_flow("terminate on failure", groups=small, steps=[
        step("fails", ["bash", "-c", "exit 1"], action="TERMINATE_CLUSTER"),
        step("after", ["bash", "-c", "true"])]))["JobFlowId"]
    for cluster_id in (boot, term):
        # (the cluster_terminated waiter fails on *_WITH_ERRORS)
        wait_state(emr, cluster_id, timeout_s=300)
    status = emr.describe_cluster(ClusterId=boot)["Cluster"]["Status"]
    assert status["State"] == "TERMINATED_WITH_ERRORS"
    assert status["StateChangeReason"]["Code"] == "BOOTSTRAP_FAILURE"
    assert "non-zero return code 7" in status["StateChangeReason"]["Message"]
    status = emr.describe_cluster(ClusterId=term)["Cluster"]["Status"]
    assert status["State"] == "TERMINATED_WITH_ERRORS"
    assert status["StateChangeReason"]["Code"] == "STEP_FAILURE"
    states = {s["Name"]: s["Status"]["State"] for s in emr.list_steps(ClusterId=term)["Steps"]}
    assert states == {"fails": "FAILED", "after": "CANCELLED"}


def test_an_exception_in_a_bootstrap_action_fails_the_flow_with_it_in_the_node_log(
    endpoint,
):
    s3, emr = endpoint.client("s3"), endpoint.client("emr")
    for bucket in ("code", "logs"):
        ensure_bucket(s3, bucket, endpoint.region)
    s3.put_object(Bucket="code", Key="bootstrap/ok.sh", Body=b"#!/bin/bash\nexit 0\n")
    # an argument no process can be given (exec refuses a NUL byte): the action raises in
    # its bootstrap thread instead of returning a code, which used to go unnoticed
    cluster_id = emr.run_job_flow(**job_flow(
        "bootstrap raises", groups=[GROUPS[0]], steps=[step("never", ["bash", "-c", "true"])],
        bootstrap=[{"Name": "raises", "ScriptBootstrapAction": {
            "Path": "s3://code/bootstrap/ok.sh", "Args": ["fine", "not\x00fine"]}}]))["JobFlowId"]
    status = wait_state(emr, cluster_id, timeout_s=300)
    assert status["State"] == "TERMINATED_WITH_ERRORS"
    reason = status["StateChangeReason"]
    assert reason["Code"] == "BOOTSTRAP_FAILURE", reason
    assert "bootstrap action 1 (raises) could not run: ValueError" in reason["Message"]
    (only,) = emr.list_steps(ClusterId=cluster_id)["Steps"]
    assert only["Status"]["State"] == "CANCELLED"
    (instance,) = emr.list_instances(ClusterId=cluster_id)["Instances"]
    log = log_text(s3, f"emr/{cluster_id}/node/{instance['Ec2InstanceId']}/"
                       "bootstrap-actions/1/stderr.gz")
    assert "Traceback" in log and "ValueError" in log and "null byte" in log


@pytest.mark.parametrize(("change", "code", "needle"), [
    (lambda r: r["Instances"]["InstanceGroups"][0].update(InstanceRole="BOSS"),
     "ValidationException", "InstanceRole 'BOSS'"),
    (lambda r: r.update(ReleaseLabel="emr-0.0.1"), "ValidationException", "release label"),
    (lambda r: r["Instances"]["InstanceGroups"][1].update(InstanceType="m5.huge"),
     "ValidationException", "Instance type 'm5.huge'"),
    (lambda r: r.update(Name="x" * 300), "ValidationException", "maximum is 256"),
    (lambda r: r.update(Applications=[{"Name": "Excel"}]), "ValidationException", "Excel"),
    (lambda r: r.update(StepConcurrencyLevel=2, Steps=[step("s", ["true"], "CANCEL_AND_WAIT")]),
     "ValidationException", "StepConcurrencyLevel"),
    (lambda r: r["Instances"]["InstanceGroups"].append(dict(GROUPS[0])),
     "ValidationException", "Exactly one MASTER"),
    (lambda r: r.update(Configurations=[{"Classification": "spark-defaults"},
                                        {"Classification": "spark-log4j"}]),
     "ValidationException", "Classification 'spark-log4j' is not valid"),
    (lambda r: r["Instances"]["InstanceGroups"][1].update(Configurations=[
        {"Classification": "spark-env", "Configurations": [{"Classification": "exprt"}]}]),
     "ValidationException", "'exprt' is not valid for parent classification 'spark-env'"),
])
def test_malformed_requests_get_emr_errors_and_the_endpoint_keeps_serving(
    endpoint, change, code, needle
):
    emr = endpoint.client("emr", config=Config(parameter_validation=False,
                                               retries={"max_attempts": 1}))
    request = job_flow("bad")
    change(request)
    with pytest.raises(ClientError) as err:
        emr.run_job_flow(**request)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["Error"]["Code"] == code
    assert needle in err.value.response["Error"]["Message"]
    assert isinstance(emr.list_clusters()["Clusters"], list)  # still serving


def test_unknown_ids_bad_json_and_unknown_operations(endpoint):
    emr = endpoint.client("emr")
    with pytest.raises(ClientError) as err:
        emr.describe_cluster(ClusterId="j-DOESNOTEXIST")
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"
    import urllib.request

    for target, body, code in (("ElasticMapReduce.RunJobFlow", b"{not json", "Serialization"),
                               ("ElasticMapReduce.LaunchRocket", b"{}", "UnknownOperation")):
        req = urllib.request.Request(endpoint.url + "/", data=body, method="POST", headers={
            "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
        with pytest.raises(urllib.error.HTTPError) as http:
            urllib.request.urlopen(req, timeout=10)
        assert http.value.code == 400 and code in http.value.read().decode()
    assert isinstance(emr.list_clusters()["Clusters"], list)


def test_a_region_moto_does_not_serve_is_a_400_naming_it(endpoint):
    from harness.aws import Endpoint

    elsewhere = Endpoint(url=endpoint.url, region="mars-north-1")
    emr = elsewhere.client("emr", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        emr.list_clusters()
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "'mars-north-1' is not an EMR region" in err.value.response["Error"]["Message"]


def test_a_job_flow_that_can_never_fit_is_refused_before_it_exists(tmp_path, monkeypatch):
    from harness.aws import EmbeddedEndpoint

    # a job flow's budget shrinks to the capacity; two worker groups need 2 x 640 MB
    monkeypatch.setenv("HARNESS_EMR_CAPACITY_MB", "1024")
    with EmbeddedEndpoint(port=0, work_dir=tmp_path, log=tmp_path / "endpoint.log") as ep:
        emr = ep.client("emr", config=Config(retries={"max_attempts": 1}))
        with pytest.raises(ClientError) as err:
            emr.run_job_flow(**job_flow("too big", groups=GROUPS))
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert err.value.response["Error"]["Code"] == "ValidationException"
        message = err.value.response["Error"]["Message"]
        assert "2 instance groups need 2 workers" in message
        assert "HARNESS_EMR_CAPACITY_MB" in message
        assert emr.list_clusters()["Clusters"] == []


def test_a_failure_after_run_job_flow_is_the_clusters_own_and_no_retry_duplicates_it(
    tmp_path,
):
    from harness.aws import EmbeddedEndpoint

    # the endpoint cannot make a job flow's directory: every job flow fails after the API
    # accepted it, as EMR's clusters fail after RunJobFlow returned
    (tmp_path / "jobflows").write_text("not a directory")
    with EmbeddedEndpoint(port=0, work_dir=tmp_path, log=tmp_path / "endpoint.log") as ep:
        emr = ep.client("emr")  # the harness's own client, which retries 5xx answers
        cluster_id = emr.run_job_flow(**job_flow(
            "fails after accepted", groups=[GROUPS[0], {**GROUPS[1], "InstanceCount": 1}],
            steps=[step("never runs", ["bash", "-c", "true"])]))["JobFlowId"]
        status = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]
        assert status["State"] == "TERMINATED_WITH_ERRORS"
        assert status["StateChangeReason"]["Code"] == "INTERNAL_ERROR"
        assert "jobflows" in status["StateChangeReason"]["Message"]
        assert [c["Id"] for c in emr.list_clusters()["Clusters"]] == [cluster_id]
        (only,) = emr.list_steps(ClusterId=cluster_id)["Steps"]
        assert only["Status"]["State"] == "CANCELLED"


def test_harness_rehearse_runs_a_job_flow_file(tmp_path, emr_backend):
    import json

    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "hello.sh").write_text("#!/bin/bash\necho rehearsed > out.txt\n"
                                                "aws s3 cp out.txt s3://results/out.txt\n")
    flow = job_flow("from file", groups=[GROUPS[0], {**GROUPS[1], "InstanceCount": 1}], steps=[
        step("make bucket", ["aws", "s3", "mb", "s3://results"]),
        step("hello", ["s3://code/jobs/hello.sh"],
             jar="s3://us-east-1.elasticmapreduce/libs/script-runner/script-runner.jar")])
    flow["ReleaseLabel"] = "emr-7.12.0"
    flow["Applications"].append({"Name": "Hive"})  # accepted as EMR does, said to be absent
    # kept alive and protected: rehearse still ends the flow it ran (and says so)
    flow["Instances"].update(TerminationProtected=True, KeepJobFlowAliveWhenNoSteps=True)
    (tmp_path / "flow.json").write_text(json.dumps(flow))
    env = {**os.environ, "HARNESS_WORK_DIR": str(tmp_path / ".harness"),
           "HARNESS_EMR_BACKEND": emr_backend}
    proc = procs.run(
        [sys.executable, "-m", "harness.cli", "rehearse", "flow.json", "--upload",
         "jobs=s3://code/jobs"], capture_output=True, text=True, cwd=tmp_path, timeout=600,
        check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "COMPLETED" in proc.stdout and "s3://results/out.txt" in proc.stdout
    assert "not running on this cluster: Hive" in proc.stdout
    assert "was termination protected" in proc.stdout
    # the summary names the runtime the job flow ran: its release's, not the harness's
    assert "runtime: emr-7.12.0 = Spark 3.5.6 / Scala 2.12 / Python 3.9 / ANSI off" \
        in proc.stdout
    flow["Steps"][1]["HadoopJarStep"]["Args"] = ["s3://code/jobs/missing.sh"]
    (tmp_path / "flow.json").write_text(json.dumps(flow))
    proc = procs.run(
        [sys.executable, "-m", "harness.cli", "rehearse", "flow.json"], capture_output=True,
        text=True, cwd=tmp_path, timeout=600, check=False, env=env)
    assert proc.returncode != 0 and "not every step completed: hello" in proc.stderr


def test_job_flows_wait_for_capacity_and_show_in_status_and_down(tmp_path, emr_backend):
    import json

    from harness.aws import Endpoint
    from harness.cluster import BACKENDS, Node
    from harness.net import free_port

    impl = BACKENDS[emr_backend]()

    port = free_port()
    env = {**os.environ, "HARNESS_WORK_DIR": str(tmp_path / ".harness"),
           "HARNESS_EMR_CAPACITY_MB": "3072"}  # room for one job flow at a time

    def harness(*args):
        return procs.run([sys.executable, "-m", "harness.cli", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300, check=False)

    assert harness("up", "--port", str(port), "--backend", emr_backend).returncode == 0
    try:
        emr = Endpoint(url=f"http://127.0.0.1:{port}").client("emr")
        small = SMALL
        first = emr.run_job_flow(**job_flow("first", keep_alive=True, groups=small))["JobFlowId"]
        second = emr.run_job_flow(**job_flow("second", keep_alive=True, groups=small))["JobFlowId"]
        emr.get_waiter("cluster_running").wait(ClusterId=first, WaiterConfig=FAST)
        waiting = emr.describe_cluster(ClusterId=second)["Cluster"]["Status"]
        assert waiting["State"] == "STARTING"
        assert "Waiting for capacity" in waiting["StateChangeReason"]["Message"]
        status = json.loads(harness("status", "--json").stdout)
        (listed,) = [c for c in status["clusters"] if c["id"] == first]
        assert [n["name"] for n in listed["nodes"]] == ["master-1", "core-1"]
        emr.terminate_job_flows(JobFlowIds=[first])
        emr.get_waiter("cluster_running").wait(ClusterId=second, WaiterConfig=FAST)
        status = json.loads(harness("status", "--json").stdout)
        (listed,) = [c for c in status["clusters"] if c["id"] == second]
        assert listed["backend"] == emr_backend
        nodes = [Node.from_dict(n) for n in listed["nodes"]]
        assert all(impl.node_alive(n) for n in nodes)
        # a termination-protected job flow stops `harness down`, which says how to force it
        emr.set_termination_protection(JobFlowIds=[second], TerminationProtected=True)
        refused = harness("down")
        assert refused.returncode != 0
        assert second in refused.stderr and "harness down --force" in refused.stderr
        assert all(impl.node_alive(n) for n in nodes)
    finally:
        down = harness("down", "--force")
    assert down.returncode == 0, down.stderr
    assert f"termination protection of {second}" in down.stdout
    assert not any(impl.node_alive(n) for n in nodes)
