"""Every cluster shape EMR starts is rehearsed (README, "How EMR instances become local
workers"), and the instance calls describe the local nodes: a mixed 1 m5 + 2 r5 + 1 c5
spot flow, a master-only flow, 3 masters, and 1 + 11 r5.2xlarge each run a Spark step;
on the 1 + 11 flow an EMR-sized step completes with its resource arguments scaled, an
oversized one fails at once with YARN's message, and two concurrent Spark steps
(StepConcurrencyLevel 2) run their tasks at the same time. The four flows run at once, on
an endpoint of their own whose job flows get 1280 MB each (two workers at most), to keep
the module cheap. On the container backends, a leaner test starts the master-only, 3
master and 1 + 11 flows together; the master-only flow's executors run in the master
node's container and see what its bootstrap action installed there."""

from __future__ import annotations

import contextlib
import gzip
import time

import pytest
from botocore.exceptions import ClientError

from harness.aws.s3 import ensure_bucket
from tests.backends import CONTAINER_BACKENDS, wait_state
from tests.integration.test_fleets_resize import BOOTSTRAP as MARKER

pytestmark = pytest.mark.integration
FAST = {"Delay": 1, "MaxAttempts": 600}

JOB = b"""import sys, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
hold = float(sys.argv[1])
def work(rows):
    began = time.time()
    time.sleep(hold)
    yield (began, time.time(), sum(rows))
out = sc.parallelize(range(1000), 2).mapPartitions(work).collect()
print("RESULT", sum(o[2] for o in out))
print("TASKS", min(o[0] for o in out), max(o[1] for o in out))
print("CONF", sc.getConf().get("spark.executor.memory"), sc.getConf().get("spark.cores.max", "-"))
spark.stop()
"""


def group(role, itype, count, **extra):
    return {"Name": extra.pop("Name", role.title()), "InstanceRole": role,
            "InstanceType": itype, "InstanceCount": count, **extra}


def spark_step(name, *options, hold=0):
    return {"Name": name, "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": [
                "spark-submit", "--deploy-mode", "cluster", *options, "s3://code/shapes/job.py",
                str(hold)]}}


def flow(name, instances, steps, **extra):
    return dict(Name=name, ReleaseLabel="emr-7.12.0", LogUri="s3://logs/emr/",
                Applications=[{"Name": "Spark"}], JobFlowRole="EMR_EC2_DefaultRole",
                ServiceRole="EMR_DefaultRole", Steps=steps, Instances=instances,
                BootstrapActions=[{"Name": "hello", "ScriptBootstrapAction": {
                    "Path": "s3://code/shapes/hello.sh"}}], **extra)


# where the tasks ran (the executor's node directory) and what the bootstrap left there
PROBE = b"""from pathlib import Path
from pyspark.sql import SparkSession
def where(_):
    try:
        import bootstrapped
        marker = bootstrapped.NODE
    except ImportError:
        marker = None
    parts = Path.cwd().parts
    yield (parts[len(parts) - 1 - parts[::-1].index("work") - 1], marker)
spark = SparkSession.builder.getOrCreate()
print("PROBE", sorted(set(spark.sparkContext.parallelize(range(4), 4).mapPartitions(where)
                          .collect())))
"""


@contextlib.contextmanager
def shapes_endpoint(tmp_path_factory, backend, bootstrap=b"#!/bin/bash\necho hello\n"):
    """S3 and EMR clients of an endpoint of its own on `backend`: 1280 MB per job flow (two
    workers at most), so several flows run at once within the endpoint's 8192 MB."""
    from harness.aws import EmbeddedEndpoint

    work = tmp_path_factory.mktemp(f"shapes-{backend}")
    with pytest.MonkeyPatch.context() as env, contextlib.ExitStack() as stack:
        env.setenv("HARNESS_EMR_JOBFLOW_MEMORY_MB", "1280")
        env.setenv("HARNESS_EMR_CAPACITY_MB", "8192")
        env.setenv("HARNESS_EMR_BACKEND", backend)
        endpoint = stack.enter_context(EmbeddedEndpoint(port=0, work_dir=work,
                                                        log=work / "endpoint.log"))
        env.undo()
        s3, emr = endpoint.client("s3"), endpoint.client("emr")
        for bucket in ("code", "logs"):
            ensure_bucket(s3, bucket, endpoint.region)
        s3.put_object(Bucket="code", Key="shapes/job.py", Body=JOB)
        s3.put_object(Bucket="code", Key="shapes/probe.py", Body=PROBE)
        s3.put_object(Bucket="code", Key="shapes/hello.sh", Body=bootstrap)
        yield s3, emr


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    with shapes_endpoint(tmp_path_factory, "process") as clients:
        yield clients


@pytest.fixture(scope="module", params=CONTAINER_BACKENDS)
def aws_containers(request, tmp_path_factory):
    # the bootstrap action leaves a module in the node's own Python naming the node
    with shapes_endpoint(tmp_path_factory, request.param, bootstrap=MARKER.encode()) as clients:
        yield clients


def log_text(s3, key):
    return gzip.decompress(s3.get_object(Bucket="logs", Key=key)["Body"].read()).decode()


def test_every_shape_runs_and_the_instance_calls_tell_the_truth(aws):
    s3, emr = aws
    flows = {
        "mixed": flow("mixed", {"InstanceGroups": [
            group("MASTER", "m5.xlarge", 1), group("CORE", "r5.xlarge", 2),
            group("TASK", "c5.xlarge", 1, Market="SPOT")]}, [spark_step("plain")]),
        # the AWS CLI's --instance-count 1: a master and an empty core group
        "single": flow("single", {"MasterInstanceType": "m5.xlarge", "InstanceCount": 1},
                       [spark_step("plain")]),
        "ha": flow("ha", {"InstanceGroups": [group("MASTER", "m5.xlarge", 3),
                                             group("CORE", "m5.xlarge", 1)]},
                   [spark_step("plain")]),
        "big": flow("big", {"InstanceGroups": [group("MASTER", "m5.xlarge", 1),
                                               group("CORE", "r5.2xlarge", 11)]}, [
            spark_step("emr-sized", "--executor-memory", "8g", "--executor-cores", "4",
                       "--num-executors", "4", hold=3),
            spark_step("beside", hold=3),
            spark_step("oversized", "--executor-memory", "200g")],
            StepConcurrencyLevel=2),
    }
    ids = {name: emr.run_job_flow(**request)["JobFlowId"] for name, request in flows.items()}

    # while it starts, the cluster says how its instances are rehearsed
    reasons = set()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = emr.describe_cluster(ClusterId=ids["big"])["Cluster"]["Status"]
        if status["State"] != "STARTING":
            break
        reasons.add(status["StateChangeReason"].get("Message", ""))
        time.sleep(0.2)
    assert any("11 r5.2xlarge core instances rehearsed as 2 workers" in r for r in reasons), \
        reasons

    # ListInstances / ListInstanceGroups while the 1 + 11 flow runs its steps
    wait_state(emr, ids["big"], {"RUNNING"})
    instances = emr.list_instances(ClusterId=ids["big"])["Instances"]
    groups = {g["Id"]: g for g in emr.list_instance_groups(ClusterId=ids["big"])["InstanceGroups"]}
    assert all(g.startswith("ig-") for g in groups)
    assert emr.describe_cluster(ClusterId=ids["big"])["Cluster"]["InstanceCollectionType"] \
        == "INSTANCE_GROUP"
    core = next(g for g in groups.values() if g["InstanceGroupType"] == "CORE")
    assert (core["RequestedInstanceCount"], core["RunningInstanceCount"],
            core["Status"]["State"]) == (11, 11, "RUNNING")
    assert len(instances) == 12
    assert all(i["Id"].startswith("ci-") and i["Ec2InstanceId"].startswith("i-")
               and i["InstanceGroupId"] in groups and i["Status"]["State"] == "RUNNING"
               for i in instances)
    rehearsed = [i["Status"]["StateChangeReason"]["Message"] for i in instances
                 if i["InstanceGroupId"] == core["Id"]]
    assert sum("core-1, which stands for" in m for m in rehearsed) >= 3, rehearsed

    ends = {name: wait_state(emr, cid, {"TERMINATED", "TERMINATED_WITH_ERRORS", "WAITING"})
            for name, cid in ids.items()}
    assert ends["ha"]["State"] == "WAITING"  # 3 masters: EMR keeps it alive and protected
    for name in ("mixed", "single", "big"):
        assert (ends[name]["State"], ends[name]["StateChangeReason"]["Code"]) == (
            "TERMINATED", "ALL_STEPS_COMPLETED"), (name, ends[name])

    steps = {name: {s["Name"]: s for s in emr.list_steps(ClusterId=cid)["Steps"]}
             for name, cid in ids.items()}
    for name in ("mixed", "single", "ha"):
        assert steps[name]["plain"]["Status"]["State"] == "COMPLETED", steps[name]
    big = steps["big"]
    assert big["emr-sized"]["Status"]["State"] == "COMPLETED"
    assert big["beside"]["Status"]["State"] == "COMPLETED"
    failed = big["oversized"]["Status"]
    assert failed["State"] == "FAILED"
    assert failed["FailureDetails"]["Message"].startswith(
        "java.lang.IllegalArgumentException: Required executor memory (204800 MB), offHeap "
        "memory (0) MB, overhead (20480 MB), and PySpark memory (0 MB) is above the max "
        "threshold (57344 MB) of this cluster!")
    timeline = failed["Timeline"]
    assert (timeline["EndDateTime"] - timeline["StartDateTime"]).total_seconds() < 10

    # the two concurrent Spark steps overlapped, and so did their tasks (cores shared)
    a, b = big["emr-sized"]["Status"]["Timeline"], big["beside"]["Status"]["Timeline"]
    assert max(a["StartDateTime"], b["StartDateTime"]) < min(a["EndDateTime"], b["EndDateTime"])
    windows = []
    for name in ("emr-sized", "beside"):
        prefix = f"emr/{ids['big']}/steps/{big[name]['Id']}/"
        out = log_text(s3, prefix + "stdout.gz")
        assert "RESULT 499500" in out
        tasks = next(line for line in out.splitlines() if line.startswith("TASKS")).split()
        windows.append((float(tasks[1]), float(tasks[2])))
        controller = log_text(s3, prefix + "controller.gz")
        assert "MAPPING 11 r5.2xlarge core instances rehearsed as 2 workers" in controller
    assert max(w[0] for w in windows) < min(w[1] for w in windows), windows
    sized = log_text(s3, f"emr/{ids['big']}/steps/{big['emr-sized']['Id']}/controller.gz")
    assert "resources: --executor-memory 8g -> 512m" in sized
    assert "resources: --num-executors 4 -> 1" in sized
    assert "CONF 512m 1" in log_text(s3, f"emr/{ids['big']}/steps/{big['emr-sized']['Id']}/"
                                         "stdout.gz")

    # node log folders are the instances' EC2 ids, one per EMR instance (consolidated too)
    for name in ("big", "mixed", "single"):
        ec2 = {i["Ec2InstanceId"] for i in emr.list_instances(ClusterId=ids[name])["Instances"]}
        keys = s3.list_objects_v2(Bucket="logs", Prefix=f"emr/{ids[name]}/node/")["Contents"]
        folders = {k["Key"].split("/")[3] for k in keys}
        assert folders == ec2, name
    # after the end: every instance TERMINATED, nothing running
    assert {i["Status"]["State"] for i in emr.list_instances(ClusterId=ids["big"])["Instances"]} \
        == {"TERMINATED"}
    assert all(g["RunningInstanceCount"] == 0 for g in
               emr.list_instance_groups(ClusterId=ids["big"])["InstanceGroups"])

    # single node: one master instance, whose node runs the executors
    (master,) = emr.list_instances(ClusterId=ids["single"])["Instances"]
    assert "with executors on master-1-worker" in master["Status"]["StateChangeReason"]["Message"]
    # mixed: the spot task instance is its own worker
    mixed = emr.list_instances(ClusterId=ids["mixed"], InstanceGroupTypes=["TASK"])["Instances"]
    assert [i["Market"] for i in mixed] == ["SPOT"]
    # 3 masters: one rehearses, two stand by
    masters = emr.list_instances(ClusterId=ids["ha"], InstanceGroupTypes=["MASTER"])["Instances"]
    assert sorted("standing by" in m["Status"]["StateChangeReason"]["Message"]
                  for m in masters) == [False, True, True]
    emr.set_termination_protection(JobFlowIds=[ids["ha"]], TerminationProtected=False)
    emr.terminate_job_flows(JobFlowIds=[ids["ha"]])
    emr.get_waiter("cluster_terminated").wait(ClusterId=ids["ha"], WaiterConfig=FAST)


def test_master_only_ha_and_1_plus_11_flows_on_containers(aws_containers):
    """The shapes, started together, on nodes that are containers: a master-only flow (its
    worker runs in the master node's container), 3 masters, 1 + 11 r5.2xlarge."""
    s3, emr = aws_containers
    probe = {"Name": "probe", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {
        "Jar": "command-runner.jar", "Args": ["spark-submit", "s3://code/shapes/probe.py"]}}
    flows = {
        "single": flow("single", {"MasterInstanceType": "m5.xlarge", "InstanceCount": 1},
                       [probe]),
        # no step: its one local master is the master-only flow's (the process test runs one)
        "ha": flow("ha", {"InstanceGroups": [group("MASTER", "m5.xlarge", 3),
                                             group("CORE", "m5.xlarge", 1)]}, []),
        "big": flow("big", {"InstanceGroups": [group("MASTER", "m5.xlarge", 1),
                                               group("CORE", "r5.2xlarge", 11)]},
                    [spark_step("plain")]),
    }
    ids = {name: emr.run_job_flow(**request)["JobFlowId"] for name, request in flows.items()}
    ends = {name: wait_state(emr, cid, {"TERMINATED", "TERMINATED_WITH_ERRORS", "WAITING"})
            for name, cid in ids.items()}
    assert ends["ha"]["State"] == "WAITING"  # 3 masters: kept alive and protected
    for name in ("single", "big"):
        assert (ends[name]["State"], ends[name]["StateChangeReason"]["Code"]) == (
            "TERMINATED", "ALL_STEPS_COMPLETED"), (name, ends[name])
    steps = {name: emr.list_steps(ClusterId=ids[name])["Steps"][0] for name in ("single", "big")}
    assert all(s["Status"]["State"] == "COMPLETED" for s in steps.values()), steps

    # single node: the executors ran on the master node, where its bootstrap action ran
    out = log_text(s3, f"emr/{ids['single']}/steps/{steps['single']['Id']}/stdout.gz")
    assert "PROBE [('master-1-worker', 'master-1')]" in out, out
    (master,) = emr.list_instances(ClusterId=ids["single"])["Instances"]
    assert "with executors on master-1-worker" in master["Status"]["StateChangeReason"]["Message"]
    # 1 + 11: consolidated, each instance listed; the step's result
    prefix = f"emr/{ids['big']}/steps/{steps['big']['Id']}/"
    assert "RESULT 499500" in log_text(s3, prefix + "stdout.gz")
    assert "MAPPING 11 r5.2xlarge core instances rehearsed as 2 workers" in log_text(
        s3, prefix + "controller.gz")
    assert len(emr.list_instances(ClusterId=ids["big"])["Instances"]) == 12
    # 3 masters: one rehearses, two stand by
    masters = emr.list_instances(ClusterId=ids["ha"], InstanceGroupTypes=["MASTER"])["Instances"]
    assert sorted("standing by" in m["Status"]["StateChangeReason"]["Message"]
                  for m in masters) == [False, True, True]
    core = emr.list_instances(ClusterId=ids["ha"], InstanceGroupTypes=["CORE"])["Instances"]
    assert [i["Status"]["State"] for i in core] == ["RUNNING"]
    emr.set_termination_protection(JobFlowIds=[ids["ha"]], TerminationProtected=False)
    emr.terminate_job_flows(JobFlowIds=[ids["ha"]])
    emr.get_waiter("cluster_terminated").wait(ClusterId=ids["ha"], WaiterConfig=FAST)


def test_what_cannot_run_is_refused_at_run_job_flow(aws):
    _, emr = aws
    groups = [group("MASTER", "m5.xlarge", 1), group("CORE", "m5.xlarge", 1)] + [
        group("TASK", "m5.xlarge", 1, Name=f"Task {i}") for i in range(3)]
    with pytest.raises(ClientError) as err:
        emr.run_job_flow(**flow("too-many-groups", {"InstanceGroups": groups}, []))
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "4 instance groups need 4 workers" in err.value.response["Error"]["Message"]
    assert not [c for c in emr.list_clusters()["Clusters"] if c["Name"] == "too-many-groups"]
