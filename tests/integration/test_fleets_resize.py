"""Instance fleets, resizes and spot loss on job flows, through the EMR API and the AWS CLI
(process backend): a fleet flow created with `aws emr create-cluster --instance-fleets`
runs a Spark step and shrinks its task fleet; a task group added to a WAITING cluster gets
a node whose executors a step then uses; that node, reclaimed mid-step with a notice,
leaves the output equal and its instance TERMINATED in ListInstances, and is replaced.
On the container backends: a task group added to a WAITING cluster is a container that
ran the bootstrap action, a step's executors use it, and shrinking the group removes it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness.aws.s3 import ensure_bucket
from tests.backends import CONTAINER_BACKENDS

pytestmark = pytest.mark.integration
FAST = {"Delay": 1, "MaxAttempts": 300}
ROWS = 20_000
JOB = '''
import sys, time
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("slow-sums").getOrCreate()
delay = float(sys.argv[2])
def slow(rows):
    time.sleep(delay)
    return rows
numbers = spark.sparkContext.parallelize(range(1, {rows} + 1), int(sys.argv[3]))
sums = numbers.mapPartitions(slow).map(lambda n: (n % 10, n)).reduceByKey(lambda a, b: a + b)
spark.createDataFrame(sums, "digit long, total long").write.mode("overwrite").json(sys.argv[1])
'''.replace("{rows}", str(ROWS))
# where each task ran: its worker (the executor's directory), python3, and what the job
# flow's bootstrap action left in that node's Python
PROBE = '''
import json, time
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("probe").getOrCreate()
sc = spark.sparkContext
deadline = time.time() + 90
while sc._jsc.sc().getExecutorMemoryStatus().size() < 3 and time.time() < deadline:
    time.sleep(0.5)  # the driver and both workers' executors
def where(_):
    import os, sys, time
    time.sleep(0.2)
    try:
        import bootstrapped
        marker = bootstrapped.NODE
    except ImportError:
        marker = None
    node = os.getcwd().split("/work/")[0].rsplit("/", 1)[-1]
    return [(node, sys.executable, marker)]
print("PROBE " + json.dumps(sorted(set(sc.parallelize(range(24), 24).mapPartitions(where)
                                       .collect()))))
'''
# a bootstrap action: a module in the node's own Python naming the node it ran on
BOOTSTRAP = """#!/bin/bash
set -euo pipefail
site=$(python3 -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "NODE = '$HARNESS_NODE_NAME'" > "$site/bootstrapped.py"
"""
# the sums by last digit, worked out apart from Spark
EXPECTED = {d: sum(n for n in range(1, ROWS + 1) if n % 10 == d) for d in range(10)}


@contextlib.contextmanager
def fast_endpoint(tmp_path_factory, backend):
    """An endpoint of its own on `backend` whose modelled EMR time runs 100x fast (spot
    capacity's two minutes are waited as 1.2 s)."""
    from harness.aws import EmbeddedEndpoint

    work = tmp_path_factory.mktemp(f"fleet-endpoint-{backend}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_EMR_TIME_SCALE", "0.01")
        with EmbeddedEndpoint(port=0, work_dir=work, log=work / "endpoint.log",
                              emr_backend=backend) as ep:
            s3 = ep.client("s3")
            for bucket in ("code", "logs", "curated"):
                ensure_bucket(s3, bucket, ep.region)
            s3.put_object(Bucket="code", Key="slow_sums.py", Body=JOB.encode())
            s3.put_object(Bucket="code", Key="probe.py", Body=PROBE.encode())
            s3.put_object(Bucket="code", Key="bootstrap.sh", Body=BOOTSTRAP.encode())
            yield ep, work


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    with fast_endpoint(tmp_path_factory, "process") as ep:
        yield ep


@pytest.fixture(scope="module", params=CONTAINER_BACKENDS)
def container_endpoint(request, tmp_path_factory):
    with fast_endpoint(tmp_path_factory, request.param) as ep:
        yield ep


def spark_step(name, output, sleep_s, partitions):
    return {"Name": name, "ActionOnFailure": "CONTINUE", "HadoopJarStep": {
        "Jar": "command-runner.jar",
        "Args": ["spark-submit", "s3://code/slow_sums.py", output, str(sleep_s),
                 str(partitions)]}}


def sums_written(s3, prefix):
    rows = {}
    for obj in s3.list_objects_v2(Bucket="curated", Prefix=prefix).get("Contents", []):
        if obj["Key"].endswith(".json"):
            body = s3.get_object(Bucket="curated", Key=obj["Key"])["Body"].read().decode()
            for line in body.splitlines():
                row = json.loads(line)
                rows[row["digit"]] = row["total"]
    return rows


def aws_cli(endpoint, *args):
    env = {**os.environ, **{k: v for k, v in endpoint.env().items() if v}}
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(key, None)
    proc = subprocess.run([str(Path(sys.executable).parent / "aws"), "emr", *args,
                           "--output", "json"], env=env, capture_output=True, text=True,
                          timeout=120)
    return proc


def test_fleet_flow_through_the_aws_cli(endpoint, tmp_path):
    endpoint, _ = endpoint
    fleets = [
        {"Name": "Master", "InstanceFleetType": "MASTER", "TargetOnDemandCapacity": 1,
         "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}]},
        {"Name": "Core", "InstanceFleetType": "CORE", "TargetOnDemandCapacity": 2,
         "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge", "WeightedCapacity": 1},
                                 {"InstanceType": "m5.2xlarge", "WeightedCapacity": 2}]},
        {"Name": "Task", "InstanceFleetType": "TASK", "TargetSpotCapacity": 1,
         "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"},
                                 {"InstanceType": "r5.xlarge",
                                  "BidPriceAsPercentageOfOnDemandPrice": 30}],
         "LaunchSpecifications": {"SpotSpecification": {
             "TimeoutDurationMinutes": 10, "TimeoutAction": "SWITCH_TO_ON_DEMAND",
             "AllocationStrategy": "capacity-optimized"}}},
    ]
    spec = tmp_path / "fleets.json"
    spec.write_text(json.dumps(fleets))
    started = time.perf_counter()
    created = aws_cli(endpoint, "create-cluster", "--name", "fleet-flow",
                      "--release-label", "emr-7.12.0", "--applications", "Name=Spark",
                      "--use-default-roles", "--log-uri", "s3://logs/emr/",
                      "--instance-fleets", f"file://{spec}")
    assert created.returncode == 0, created.stderr
    cluster_id = json.loads(created.stdout)["ClusterId"]
    emr = endpoint.client("emr")
    emr.get_waiter("cluster_running").wait(ClusterId=cluster_id, WaiterConfig=FAST)
    print(f"\nfleet flow: run_job_flow to WAITING {time.perf_counter() - started:.1f} s")

    described = aws_cli(endpoint, "describe-cluster", "--cluster-id", cluster_id)
    assert described.returncode == 0, described.stderr
    cluster = json.loads(described.stdout)["Cluster"]
    assert cluster["InstanceCollectionType"] == "INSTANCE_FLEET"
    by_type = {f["InstanceFleetType"]: f for f in cluster["InstanceFleets"]}
    # the rule: on-demand from the cheapest per unit (m5.2xlarge costs exactly twice an
    # m5.xlarge: a tie, so the first listed), spot from the pool with the lowest
    # interruption rate whose bid covers it (r5's 30% bid is below its modelled spot price, 35%)
    assert by_type["CORE"]["ProvisionedOnDemandCapacity"] == 2
    assert by_type["TASK"]["ProvisionedSpotCapacity"] == 1
    instances = emr.list_instances(ClusterId=cluster_id)["Instances"]
    assert sorted((i["InstanceType"], i["Market"]) for i in instances) == [
        ("m5.xlarge", "ON_DEMAND"), ("m5.xlarge", "ON_DEMAND"), ("m5.xlarge", "ON_DEMAND"),
        ("m5.xlarge", "SPOT")]
    assert {i["InstanceFleetId"] for i in instances} == {f["Id"] for f in by_type.values()}
    assert all(i["Status"]["State"] == "RUNNING" for i in instances)

    with pytest.raises(ClientError) as refused:  # EMR's answer, not an empty list
        emr.list_instance_groups(ClusterId=cluster_id)
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert refused.value.response["ErrorCode"] == "API_DOES_NOT_SUPPORT_INSTANCE_FLEET_CLUSTERS"

    step_id = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[
        spark_step("sums", "s3://curated/fleet/", 0, 4)])["StepIds"][0]
    emr.get_waiter("step_complete").wait(ClusterId=cluster_id, StepId=step_id,
                                         WaiterConfig=FAST)
    assert sums_written(endpoint.client("s3"), "fleet/") == EXPECTED

    # shrinking the task fleet to nothing decommissions its node; the fleet shows RESIZING
    emr.modify_instance_fleet(ClusterId=cluster_id, InstanceFleet={
        "InstanceFleetId": by_type["TASK"]["Id"], "TargetSpotCapacity": 0})
    states, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        task = next(f for f in emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
                    if f["InstanceFleetType"] == "TASK")
        if not states or states[-1] != task["Status"]["State"]:
            states.append(task["Status"]["State"])
        if task["Status"]["State"] == "RUNNING" and task["ProvisionedSpotCapacity"] == 0:
            break
        time.sleep(0.2)
    assert states[0] == "RESIZING" and states[-1] == "RUNNING", states
    assert task["ProvisionedSpotCapacity"] == 0
    spot = emr.list_instances(ClusterId=cluster_id, InstanceFleetType="TASK")["Instances"]
    assert [i["Status"]["State"] for i in spot] == ["TERMINATED"]
    emr.terminate_job_flows(JobFlowIds=[cluster_id])


def waiting_flow(emr):
    """A 1 + 1 m5.xlarge job flow whose bootstrap action marks its nodes, WAITING."""
    cluster_id = emr.run_job_flow(
        Name="resize", ReleaseLabel="emr-7.12.0", Applications=[{"Name": "Spark"}],
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
        LogUri="s3://logs/emr/",
        BootstrapActions=[{"Name": "mark the node", "ScriptBootstrapAction": {
            "Path": "s3://code/bootstrap.sh"}}],
        Instances={"KeepJobFlowAliveWhenNoSteps": True, "InstanceGroups": [
            {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
             "InstanceCount": 1},
            {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge",
             "InstanceCount": 1}]})["JobFlowId"]
    emr.get_waiter("cluster_running").wait(ClusterId=cluster_id, WaiterConfig=FAST)
    return cluster_id


def resized(emr, cluster_id, group_id, done):
    """The group's states while it resizes, until done(group) holds: (states, group)."""
    states, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        group = next(g for g in emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
                     if g["Id"] == group_id)
        if not states or states[-1] != group["Status"]["State"]:
            states.append(group["Status"]["State"])
        if done(group):
            break
        time.sleep(0.2)
    return states, group


def probe_step(emr, cluster_id, work):
    """A step whose tasks say where they ran: {node: (python3, the bootstrap's marker)}."""
    probe_id = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[{
        "Name": "probe", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": ["spark-submit", "--conf", "spark.cores.max=8", "s3://code/probe.py"]}}])[
        "StepIds"][0]
    emr.get_waiter("step_complete").wait(ClusterId=cluster_id, StepId=probe_id,
                                         WaiterConfig=FAST)
    step_dir = next(work.glob(f"**/jobflows/{cluster_id}/steps/{probe_id}"))
    line = next(x for x in (step_dir / "stdout").read_text().splitlines()
                if x.startswith("PROBE "))
    return {node: (python, marker) for node, python, marker in json.loads(line[6:])}, step_dir


def running(group):
    return group["Status"]["State"] == "RUNNING"


def test_a_task_group_added_then_shrunk_on_containers(container_endpoint):
    endpoint, work = container_endpoint
    emr = endpoint.client("emr")
    cluster_id = waiting_flow(emr)
    group_id = emr.add_instance_groups(JobFlowId=cluster_id, InstanceGroups=[
        {"Name": "Tasks", "InstanceRole": "TASK", "InstanceType": "m5.xlarge",
         "InstanceCount": 1}])["InstanceGroupIds"][0]
    states, group = resized(emr, cluster_id, group_id, running)
    assert states[0] != "RUNNING" and states[-1] == "RUNNING", states
    assert (group["RequestedInstanceCount"], group["RunningInstanceCount"]) == (1, 1)

    # the added container ran the job flow's bootstrap action; the step's tasks ran there
    ran, _ = probe_step(emr, cluster_id, work)
    assert set(ran) == {"core-1", "task-1"}, ran
    assert ran["task-1"][1] == "task-1" and ran["core-1"][1] == "core-1", ran
    task = _node(work, cluster_id, "task-1")
    assert task.container and task.container != _node(work, cluster_id, "core-1").container

    # shrinking decommissions it and removes its container
    emr.modify_instance_groups(ClusterId=cluster_id, InstanceGroups=[
        {"InstanceGroupId": group_id, "InstanceCount": 0}])
    states, group = resized(emr, cluster_id, group_id,
                            lambda g: running(g) and g["RunningInstanceCount"] == 0)
    assert states[0] == "RESIZING" and states[-1] == "RUNNING", states
    instances = emr.list_instances(ClusterId=cluster_id, InstanceGroupId=group_id)["Instances"]
    assert [i["Status"]["State"] for i in instances] == ["TERMINATED"]
    from docker.errors import NotFound

    from harness.cluster import images

    with pytest.raises(NotFound):
        images.client().containers.get(task.container)
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    emr.get_waiter("cluster_terminated").wait(ClusterId=cluster_id, WaiterConfig=FAST)


def test_task_group_added_then_reclaimed_mid_step(endpoint):
    endpoint, work = endpoint
    emr, s3 = endpoint.client("emr"), endpoint.client("s3")
    cluster_id = waiting_flow(emr)

    group_id = emr.add_instance_groups(JobFlowId=cluster_id, InstanceGroups=[
        {"Name": "Spot tasks", "InstanceRole": "TASK", "InstanceType": "m5.xlarge",
         "InstanceCount": 1, "Market": "SPOT"}])["InstanceGroupIds"][0]
    states, group = resized(emr, cluster_id, group_id, running)
    assert states[0] != "RUNNING" and states[-1] == "RUNNING", states
    assert (group["RequestedInstanceCount"], group["RunningInstanceCount"]) == (1, 1)
    task = next(i for i in emr.list_instances(ClusterId=cluster_id)["Instances"]
                if i.get("InstanceGroupId") == group_id)
    assert task["Status"]["State"] == "RUNNING" and task["Market"] == "SPOT"

    # the added node is a node of the job flow: its own python3, the bootstrap action run
    # on it; steps are sized against the cluster as it is now (the task group's 4 vCPUs)
    ran, step_dir = probe_step(emr, cluster_id, work)
    assert set(ran) == {"core-1", "task-1"}, ran
    assert ran["task-1"][1] == "task-1" and ran["core-1"][1] == "core-1", ran
    assert "/task-1/" in ran["task-1"][0] and ran["task-1"][0] != sys.executable, ran
    assert "of the EMR cluster's 8 vCPUs" in (step_dir / "controller").read_text()

    step_id = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[
        spark_step("slow sums", "s3://curated/reclaimed/", 1.0, 16)])["StepIds"][0]
    node = _node(work, cluster_id, "task-1")
    app = _executor_app(node, deadline=time.monotonic() + 120)
    assert app, "the step's application got no executor on the added task node"
    from harness.emr.admin import reclaim

    done = reclaim(endpoint.url, cluster_id, "task-1", notice_s=2.0)
    assert done["instance_ids"] == [task["Id"]]
    assert emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]["Status"][
        "State"] == "RUNNING"  # reclaimed mid-step
    # the loss shows (the instance TERMINATED, the running count down), then EMR's
    # replacement: a new spot instance, after spot's modelled wait, on a new worker
    counts, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        group = next(g for g in emr.list_instance_groups(ClusterId=cluster_id)[
            "InstanceGroups"] if g["Id"] == group_id)
        if not counts or counts[-1] != group["RunningInstanceCount"]:
            counts.append(group["RunningInstanceCount"])
        if counts[-2:] == [0, 1]:
            break
        time.sleep(0.1)
    assert counts[-2:] == [0, 1], counts
    assert group["RequestedInstanceCount"] == 1
    instances = {i["Id"]: i for i in emr.list_instances(ClusterId=cluster_id)["Instances"]
                 if i.get("InstanceGroupId") == group_id}
    lost = instances.pop(task["Id"])
    assert lost["Status"]["State"] == "TERMINATED"
    assert lost["Status"]["StateChangeReason"]["Code"] == "INSTANCE_FAILURE"
    assert [i["Status"]["State"] for i in instances.values()] == ["RUNNING"]
    emr.get_waiter("step_complete").wait(ClusterId=cluster_id, StepId=step_id,
                                         WaiterConfig=FAST)
    assert sums_written(s3, "reclaimed/") == EXPECTED
    emr.terminate_job_flows(JobFlowIds=[cluster_id])


def _node(work, cluster_id, name):
    from harness.cluster import RunningCluster

    recorded = json.loads((work / "jobflows.json").read_text())
    return RunningCluster.from_dict(recorded[cluster_id]).node(name)


def _executor_app(node, deadline):
    """The application with an executor on the node, once one has (the worker's JSON)."""
    from harness.cluster.base import worker_executors

    while time.monotonic() < deadline:
        for executor in worker_executors(node) or []:
            return executor.get("appid")
        time.sleep(0.2)
    return None
