"""EMR's controls and honesty on the endpoint, through boto3 and the AWS CLI (process
backend): RUNNING steps cancelled as EMR documents it, their processes and Spark executors
gone; termination protection; AutoTerminationPolicy ending an idle cluster; the History
Server and syslog.gz; explicit refusals of what is not emulated; create-default-roles; and
the new operations' bad inputs answered with EMR's errors (never a 500 or a silent 200).

One kept-alive job flow carries the cancellation, History Server and protection checks; an
idle one with IdleTimeout=60 (EMR's minimum) ends on its own meanwhile."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from harness.aws.s3 import ensure_bucket

pytestmark = pytest.mark.integration
GROUPS = [
    {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
     "InstanceCount": 1},
    {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 1},
]
SLEEP = "601.25"  # a duration no other process on the machine sleeps for
SPARK_JOB = """
import sys, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("cancel-me").getOrCreate()
print("job running", flush=True)
spark.sparkContext.parallelize(range(2), 2).foreach(lambda _: time.sleep(600))
"""


def job_flow(name, **extra):
    return dict(Name=name, ReleaseLabel="emr-7.12.0", LogUri="s3://logs/emr/",
                Applications=[{"Name": "Spark"}, {"Name": "Hive"}],
                JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
                Instances={"InstanceGroups": GROUPS, "KeepJobFlowAliveWhenNoSteps": True},
                **extra)


def step(name, args):
    return {"Name": name, "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": list(args)}}


def until(what, check, timeout=180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def pids_with(needle):
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if needle in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


IDLE_SCALE = 0.1  # HARNESS_EMR_IDLE_SCALE: EMR's minimum IdleTimeout of 60 s waited as 6 s


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """An endpoint of this module's own (its work directory is where `harness status`
    looks), with the idle job flow started first so its (scaled) minute runs beside the
    others."""
    from harness.aws import EmbeddedEndpoint

    work = tmp_path_factory.mktemp("controls")
    server = EmbeddedEndpoint(port=0, work_dir=work, log=work / "endpoint.log")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_EMR_IDLE_SCALE", str(IDLE_SCALE))  # read as the server starts
        endpoint = server.start()
    try:
        s3, emr = endpoint.client("s3"), endpoint.client("emr")
        for bucket in ("logs", "code"):
            ensure_bucket(s3, bucket, endpoint.region)
        idle = emr.run_job_flow(**job_flow("idle", AutoTerminationPolicy={"IdleTimeout": 60}))
        kept = emr.run_job_flow(**job_flow("kept", StepConcurrencyLevel=2))
        yield endpoint, work, idle["JobFlowId"], kept["JobFlowId"]
    finally:
        server.stop()


def test_running_steps_are_cancelled_with_their_processes_and_executors(site):
    endpoint, work, _, cluster_id = site
    s3, emr = endpoint.client("s3"), endpoint.client("emr")
    s3.put_object(Bucket="code", Key="cancel_me.py", Body=SPARK_JOB.encode())
    waiter = emr.get_waiter("cluster_running")
    waiter.wait(ClusterId=cluster_id, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    sleeper, spark = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[
        step("sleeper", ["bash", "-c", f"sleep {SLEEP}"]),
        step("spark", ["spark-submit", "s3://code/cancel_me.py"])])["StepIds"]
    until("the sleep", lambda: pids_with(f"sleep {SLEEP}"))
    master = until("the Spark application", lambda: [
        c for c in json.loads((work / "jobflows.json").read_text()).values()
        if get_json(c["master_ui_url"] + "/json/").get("activeapps")])[0]
    app_id = get_json(master["master_ui_url"] + "/json/")["activeapps"][0]["id"]
    until("its executors", lambda: pids_with(app_id))
    stdout = work / "jobflows" / cluster_id / "steps" / spark / "stdout"
    until("its job", lambda: "job running" in stdout.read_text())  # past SparkContext's start

    infos = emr.cancel_steps(ClusterId=cluster_id, StepIds=[sleeper],
                             StepCancellationOption="TERMINATE_PROCESS")["CancelStepsInfoList"]
    assert infos == [{"StepId": sleeper, "Status": "SUBMITTED", "Reason": ""}]
    infos = emr.cancel_steps(ClusterId=cluster_id, StepIds=[spark])["CancelStepsInfoList"]
    assert infos[0]["Status"] == "SUBMITTED"  # SEND_INTERRUPT, EMR's default
    assert emr.describe_step(ClusterId=cluster_id, StepId=spark)["Step"]["Status"]["State"] \
        in {"CANCEL_PENDING", "CANCELLED"}
    for step_id in (sleeper, spark):
        until(f"{step_id} CANCELLED", lambda s=step_id: emr.describe_step(
            ClusterId=cluster_id, StepId=s)["Step"]["Status"]["State"] == "CANCELLED", 120)
    assert pids_with(f"sleep {SLEEP}") == []
    until("the executors gone", lambda: not pids_with(app_id), 60)
    status = get_json(master["master_ui_url"] + "/json/")
    assert status["activeapps"] == []
    assert {a["id"]: a["state"] for a in status["completedapps"]}[app_id] in {"FINISHED",
                                                                              "KILLED"}
    # cancelling is not failing: no ActionOnFailure, the cluster waits for more
    until("WAITING", lambda: emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"][
        "State"] == "WAITING", 60)
    again = emr.cancel_steps(ClusterId=cluster_id, StepIds=[spark])["CancelStepsInfoList"]
    assert again[0]["Status"] == "FAILED" and "CANCELLED" in again[0]["Reason"]

    # syslog.gz beside the others, with what the cancellation did
    prefix = f"emr/{cluster_id}/steps/{spark}/"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="logs", Prefix=prefix)["Contents"]}
    assert {prefix + n for n in ("controller.gz", "stdout.gz", "stderr.gz",
                                 "syslog.gz")} <= keys
    syslog = gzip.decompress(s3.get_object(Bucket="logs", Key=prefix + "syslog.gz")[
        "Body"].read()).decode()
    assert "SEND_INTERRUPT: sending SIGTERM" in syslog

    # the History Server named in the controller log lists the step's application
    controller = gzip.decompress(s3.get_object(Bucket="logs", Key=prefix + "controller.gz")[
        "Body"].read()).decode()
    history = re.search(r"Spark History Server .*: (http://127\.0\.0\.1:\d+)", controller)[1]
    until("the History Server to list the application", lambda: app_id in {
        a["id"] for a in _safe(lambda: get_json(history + "/api/v1/applications"), [])}, 90)

    # harness status names it, and says which applications are not there
    from harness import runtime

    notes = [c for c in runtime.status(work)["clusters"] if c["id"] == cluster_id][0]["notes"]
    assert f"Spark History Server {history}" in notes
    assert any("not emulated locally" in n and "Hive" in n for n in notes)
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    assert cluster["MasterPublicDnsName"] == "localhost"


def _safe(call, default):
    try:
        return call()
    except OSError:
        return default


def test_what_is_not_emulated_is_refused_explicitly(site):
    endpoint = site[0]
    emr = endpoint.client("emr", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        emr.list_studios()
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert err.value.response["Error"]["Code"] == "NotImplemented"
    assert "ListStudios is not emulated" in str(err.value)

    serverless = endpoint.client("emr-serverless", config=Config(retries={"max_attempts": 1}))
    app = serverless.create_application(name="a", releaseLabel="emr-7.9.0", type="SPARK")
    with pytest.raises(ClientError) as err:
        serverless.start_job_run(applicationId=app["applicationId"], clientToken="t",
                                 executionRoleArn="arn:aws:iam::123456789012:role/r",
                                 jobDriver={"sparkSubmit": {"entryPoint": "s3://code/x.py"}})
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert "StartJobRun is not emulated" in str(err.value)

    eks = endpoint.client("emr-containers", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        eks.start_job_run(virtualClusterId="vc", clientToken="t", releaseLabel="emr-7.9.0",
                          executionRoleArn="arn:aws:iam::123456789012:role/r",
                          jobDriver={"sparkSubmitJobDriver": {"entryPoint": "s3://c/x.py"}})
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_aws_cli_create_default_roles_succeeds(site, tmp_path):
    endpoint = site[0]
    env = endpoint.child_env()
    env["AWS_CONFIG_FILE"] = str(tmp_path / "config")  # the CLI records the roles there
    aws = Path(sys.executable).parent / "aws"
    done = subprocess.run([str(aws), "emr", "create-default-roles"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "EMR_DefaultRole" in (tmp_path / "config").read_text()
    roles = {r["RoleName"] for r in endpoint.client("iam").list_roles()["Roles"]}
    assert {"EMR_DefaultRole", "EMR_EC2_DefaultRole", "EMR_AutoScaling_DefaultRole"} <= roles


BAD = [
    ("put_auto_termination_policy",
     dict(ClusterId="KEPT", AutoTerminationPolicy={"IdleTimeout": 10}),
     "ValidationException", "between 60 and 604800"),
    ("put_auto_termination_policy",
     dict(ClusterId="KEPT", AutoTerminationPolicy={"IdleTimeout": 700_000}),
     "ValidationException", "out of range"),
    ("put_auto_termination_policy",
     dict(ClusterId="j-NOSUCH", AutoTerminationPolicy={"IdleTimeout": 60}),
     "InvalidRequestException", "j-NOSUCH"),
    ("get_auto_termination_policy", dict(ClusterId="j-NOSUCH"),
     "InvalidRequestException", "j-NOSUCH"),
    ("remove_auto_termination_policy", dict(), "ValidationException", "ClusterId is required"),
    ("modify_cluster", dict(ClusterId="KEPT", StepConcurrencyLevel=0),
     "ValidationException", "between 1 and 256"),
    ("modify_cluster", dict(ClusterId="KEPT", StepConcurrencyLevel="two"),
     "SerializationException", "whole number"),
    ("cancel_steps", dict(ClusterId="KEPT", StepIds=["s-1"], StepCancellationOption="KILL"),
     "ValidationException", "SEND_INTERRUPT"),
    ("set_keep_job_flow_alive_when_no_steps",
     dict(JobFlowIds=["j-NOSUCH"], KeepJobFlowAliveWhenNoSteps=True),
     "InvalidRequestException", "j-NOSUCH"),
    ("set_keep_job_flow_alive_when_no_steps", dict(JobFlowIds=["KEPT"]),
     "ValidationException", "KeepJobFlowAliveWhenNoSteps is required"),
    ("set_termination_protection", dict(JobFlowIds=["j-NOSUCH"], TerminationProtected=True),
     "InvalidRequestException", "j-NOSUCH"),
    ("run_job_flow", job_flow("bad", AutoTerminationPolicy={"IdleTimeout": 30}),
     "ValidationException", "IdleTimeout 30"),
    ("run_job_flow", {**job_flow("old", AutoTerminationPolicy={"IdleTimeout": 60}),
                      "ReleaseLabel": "emr-5.20.0"},
     "ValidationException", "not supported for release label emr-5.20.0"),
]


@pytest.mark.parametrize(("operation", "params", "code", "needle"), BAD,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_malformed_control_requests_get_emr_errors(site, operation, params, code, needle):
    endpoint, _, _, kept = site
    emr = endpoint.client("emr", config=Config(parameter_validation=False,
                                               retries={"max_attempts": 1}))
    params = json.loads(json.dumps(params).replace('"KEPT"', json.dumps(kept)))
    before = len(emr.list_clusters()["Clusters"])
    with pytest.raises(ClientError) as err:
        getattr(emr, operation)(**params)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["Error"]["Code"] == code
    assert needle in err.value.response["Error"]["Message"]
    assert len(emr.list_clusters()["Clusters"]) == before  # nothing was created


def test_controls_change_what_the_api_reports(site):
    endpoint, _, _, kept = site
    emr = endpoint.client("emr")
    assert emr.modify_cluster(ClusterId=kept, StepConcurrencyLevel=3)[
        "StepConcurrencyLevel"] == 3
    assert emr.describe_cluster(ClusterId=kept)["Cluster"]["StepConcurrencyLevel"] == 3
    emr.put_auto_termination_policy(ClusterId=kept, AutoTerminationPolicy={"IdleTimeout": 600})
    assert emr.get_auto_termination_policy(ClusterId=kept)["AutoTerminationPolicy"] == {
        "IdleTimeout": 600}
    emr.remove_auto_termination_policy(ClusterId=kept)
    assert "AutoTerminationPolicy" not in emr.get_auto_termination_policy(ClusterId=kept)
    emr.set_keep_job_flow_alive_when_no_steps(JobFlowIds=[kept],
                                              KeepJobFlowAliveWhenNoSteps=True)
    assert emr.describe_cluster(ClusterId=kept)["Cluster"]["AutoTerminate"] is False
    emr.set_unhealthy_node_replacement(JobFlowIds=[kept], UnhealthyNodeReplacement=True)
    assert emr.describe_cluster(ClusterId=kept)["Cluster"]["UnhealthyNodeReplacement"]
    emr.create_security_configuration(Name="sc", SecurityConfiguration="{}")
    assert [c["Name"] for c in emr.list_security_configurations()[
        "SecurityConfigurations"]] == ["sc"]


def test_auto_termination_ends_an_idle_cluster(site):
    endpoint, _, cluster_id, _ = site
    emr = endpoint.client("emr")
    assert emr.get_auto_termination_policy(ClusterId=cluster_id)["AutoTerminationPolicy"] \
        == {"IdleTimeout": 60}
    emr.get_waiter("cluster_terminated").wait(
        ClusterId=cluster_id, WaiterConfig={"Delay": 1, "MaxAttempts": 240})
    status = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]
    assert status["State"] == "TERMINATED"
    assert status["StateChangeReason"]["Code"] == "ALL_STEPS_COMPLETED"
    assert "idle for 60 seconds" in status["StateChangeReason"]["Message"]
    assert f"HARNESS_EMR_IDLE_SCALE={IDLE_SCALE:g}" in status["StateChangeReason"]["Message"]
    idle_for = (status["Timeline"]["EndDateTime"] - status["Timeline"]["ReadyDateTime"])
    assert idle_for.total_seconds() >= 60 * IDLE_SCALE


def test_a_job_flow_logs_where_its_start_went(site):
    """RunJobFlow accepted until WAITING, cut into consecutive phases in the control
    plane's log (README: "Where a Spark run's time goes")."""
    import re

    endpoint, work, _, cluster_id = site
    endpoint.client("emr").get_waiter("cluster_running").wait(
        ClusterId=cluster_id, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    text = (work / "logs" / "emr-control-plane.log").read_text()
    found = re.search(rf"{cluster_id}: started in ([0-9.]+) s: (.*)", text)
    assert found, f"no start-up phases for {cluster_id} in the control plane's log"
    laps = dict(re.fullmatch(r"(.+) ([0-9.]+)", part).groups() for part in
                found.group(2).split(", "))
    assert list(laps) == ["capacity", "runtime", "node environments", "bootstrap actions",
                          "applications", "spark daemons", "ready"]
    # the Spark daemons really started (JVMs take more than a moment), and the laps add up
    assert float(laps["spark daemons"]) > 0.2
    assert abs(sum(map(float, laps.values())) - float(found.group(1))) < 0.05


# last: it ends the kept job flow the tests above use
def test_a_protected_cluster_survives_termination_until_unprotected(site):
    endpoint, work, _, cluster_id = site
    emr = endpoint.client("emr", config=Config(retries={"max_attempts": 1}))
    emr.set_termination_protection(JobFlowIds=[cluster_id], TerminationProtected=True)
    with pytest.raises(ClientError) as err:
        emr.terminate_job_flows(JobFlowIds=[cluster_id])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert err.value.response["Error"]["Message"] == (
        "Could not shut down one or more job flows since they are termination protected.")
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    assert cluster["Status"]["State"] == "WAITING" and cluster["TerminationProtected"]
    # nor does a failed TERMINATE_CLUSTER step end a protected, kept-alive cluster
    emr.modify_cluster(ClusterId=cluster_id, StepConcurrencyLevel=1)
    (failing,) = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[
        {**step("fails", ["bash", "-c", "exit 4"]), "ActionOnFailure": "TERMINATE_CLUSTER"}])[
        "StepIds"]
    until("the step to fail", lambda: emr.describe_step(ClusterId=cluster_id, StepId=failing)[
        "Step"]["Status"]["State"] == "FAILED", 60)
    events = work / "logs" / "emr-control-plane.log"  # the runner's decision, once made
    until("the runner to hold the cluster", lambda: f"{cluster_id}: step fails failed; the "
          "cluster is termination protected" in events.read_text(), 30)
    assert emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] == "WAITING"
    emr.set_termination_protection(JobFlowIds=[cluster_id], TerminationProtected=False)
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    emr.get_waiter("cluster_terminated").wait(
        ClusterId=cluster_id, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
