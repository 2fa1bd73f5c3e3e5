"""A job flow's nodes are EMR-like, never the harness's own environment: python3 of the
release with nothing of the harness's packages, bootstrap actions' `sudo pip install`
landing on the nodes only (the harness's versions unchanged), EMR's paths in steps and
bootstrap actions, bootstrap actions before the Spark daemons, Applications gating
spark-submit, and a step needing a newer Python than the release's failing with the
feature named."""

from __future__ import annotations

import contextlib
import copy
import gzip
import importlib.metadata
import json
import os
import time

import pytest
from botocore.exceptions import WaiterError

from harness.aws.s3 import ensure_bucket
from harness.runtimes import runtime_for

pytestmark = pytest.mark.integration
FAST = {"Delay": 1, "MaxAttempts": 600}
# the docker backend's nodes are checked where their paths differ (HARNESS_NODE_ENV_BACKENDS)
NODE_ENV_BACKENDS = os.environ.get("HARNESS_NODE_ENV_BACKENDS", "process").split(",")
LABEL = "emr-7.12.0"
RUNTIME = runtime_for(LABEL)
TYPER = "typer==0.23.2"  # runs on Python 3.9; the harness pins another version
GROUPS = [
    {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
     "InstanceCount": 1},
    {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 1},
]

PROBE_BOOTSTRAP = b"""#!/bin/bash
out=/tmp/probe-$$; mkdir -p $out
info=/mnt/var/lib/info
flow=$(python3 -c "import json; print(json.load(open('$info/job-flow.json'))['jobFlowId'])")
{
  echo "pwd=$(pwd) home=$HOME"
  echo "master=$(grep -c '"isMaster": true' /mnt/var/lib/info/instance.json)"
  echo "flow=$flow"
  if [ -e /usr/lib/spark/bin/spark-submit ]; then echo spark=present; else echo spark=absent; fi
  command -v spark-submit >/dev/null && echo cmd=present || echo cmd=absent
  python3 -c 'import typer' 2>/dev/null && echo typer=yes || echo typer=no
  python3 -c 'import sys; print("python=" + sys.executable)'
  echo "path=$PATH"
} > $out/bootstrap.txt
aws s3 cp --quiet $out/bootstrap.txt s3://logs/node-env/$flow/$HARNESS_NODE_NAME.txt
"""
# two of the ways bootstrap actions install packages, one per node
INSTALL_BOOTSTRAP = f"""#!/bin/bash
set -e
if grep -q '"isMaster": true' /mnt/var/lib/info/instance.json; then
  sudo pip install --quiet {TYPER}
else
  sudo python3 -m pip install --quiet {TYPER}
fi
""".encode()
PROBE_JOB = b"""import json, sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
info = json.load(open("/mnt/var/lib/info/instance.json"))
executables = spark.sparkContext.parallelize(range(4), 2).map(
    lambda _: (__import__("sys").executable,
               __import__("json").load(open("/mnt/var/lib/info/instance.json"))["isMaster"])
).distinct().collect()
try:
    import typer  # noqa: F401
    has_typer = True
except ImportError:
    has_typer = False
print("PROBE " + json.dumps({"master": info["isMaster"], "driver": sys.executable,
                             "executors": executables, "typer": has_typer,
                             "spark": spark.version, "python": sys.version.split()[0]}))
spark.stop()
"""
MATCH_JOB = b"""import sys

def kind(value):
    match value:
        case 1:
            return "one"
        case _:
            return "other"

print(kind(len(sys.argv)))
"""


def step(name, args, jar="command-runner.jar"):
    return {"Name": name, "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": jar, "Args": list(args)}}


def job_flow(name, applications, steps, bootstrap):
    return dict(Name=name, ReleaseLabel=LABEL, LogUri="s3://logs/emr/",
                Applications=[{"Name": a} for a in applications],
                JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
                Steps=steps, BootstrapActions=[
                    {"Name": n, "ScriptBootstrapAction": {"Path": f"s3://code/bootstrap/{n}.sh"}}
                    for n in bootstrap],
                Instances={"InstanceGroups": copy.deepcopy(GROUPS),
                           "KeepJobFlowAliveWhenNoSteps": False})


def harness_versions():
    return {d.metadata["Name"].lower(): d.version for d in importlib.metadata.distributions()}


def log(s3, cluster_id, step_id, name):
    body = s3.get_object(Bucket="logs", Key=f"emr/{cluster_id}/steps/{step_id}/{name}.gz")
    return gzip.decompress(body["Body"].read()).decode()


@pytest.fixture(scope="module", params=NODE_ENV_BACKENDS)
def flows(request, tmp_path_factory):
    """Two job flows run side by side: Spark without the install (A), and Hadoop only with
    `sudo pip install typer` as a bootstrap action (B). Returns their clusters' and steps'
    outcomes once both ended."""
    with contextlib.ExitStack() as stack:
        if request.param == "process":
            endpoint = request.getfixturevalue("endpoint")
        else:
            from harness.aws import EmbeddedEndpoint

            work = tmp_path_factory.mktemp(f"endpoint-{request.param}")
            endpoint = stack.enter_context(EmbeddedEndpoint(
                port=0, work_dir=work, log=work / "endpoint.log", emr_backend=request.param))
        yield {**run_flows(endpoint), "backend": request.param}


def run_flows(endpoint):
    s3, emr = endpoint.client("s3"), endpoint.client("emr")
    for bucket in ("code", "logs"):
        ensure_bucket(s3, bucket, endpoint.region)
    for name, body in (("bootstrap/probe.sh", PROBE_BOOTSTRAP),
                       ("bootstrap/install.sh", INSTALL_BOOTSTRAP),
                       ("jobs/probe.py", PROBE_JOB), ("jobs/match.py", MATCH_JOB)):
        s3.put_object(Bucket="code", Key=name, Body=body)
    before = harness_versions()
    import_typer = step("import typer", ["python3", "-c", "import typer; print(typer.__version__)"])
    a = emr.run_job_flow(**job_flow("node-env-spark", ["Spark"], [
        import_typer,
        # EMR's paths, and EMR's spark-submit by its absolute path
        step("probe", ["bash", "-c", "cd && pwd && cat /mnt/var/lib/info/instance.json && "
                                     "aws s3 cp --quiet s3://code/jobs/probe.py . && "
                                     "/usr/lib/spark/bin/spark-submit probe.py"]),
        step("match", ["spark-submit", "s3://code/jobs/match.py"]),
    ], ["probe"]))["JobFlowId"]
    b = emr.run_job_flow(**job_flow("node-env-hadoop", ["Hadoop"], [
        import_typer, step("spark-submit", ["spark-submit", "s3://code/jobs/probe.py"]),
    ], ["install", "probe"]))["JobFlowId"]
    started = time.time()
    for cluster_id in (a, b):
        with contextlib.suppress(WaiterError):  # TERMINATED_WITH_ERRORS is checked below
            emr.get_waiter("cluster_terminated").wait(ClusterId=cluster_id, WaiterConfig=FAST)
    outcome = {}
    for cluster_id in (a, b):
        steps = emr.list_steps(ClusterId=cluster_id)["Steps"]
        outcome[cluster_id] = {
            "cluster": emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"],
            "steps": {s["Name"]: s for s in steps},
            "bootstrap": {o["Key"].rsplit("/", 1)[1]: s3.get_object(
                Bucket="logs", Key=o["Key"])["Body"].read().decode()
                for o in s3.list_objects_v2(Bucket="logs", Prefix=f"node-env/{cluster_id}/")
                .get("Contents", [])},
        }
    return {"s3": s3, "a": a, "b": b, "outcome": outcome, "before": before,
            "after": harness_versions(), "seconds": time.time() - started}


def test_the_job_flows_end_as_their_steps_say(flows):
    for name in ("a", "b"):
        status = flows["outcome"][flows[name]]["cluster"]
        assert status["State"] == "TERMINATED", status


def test_the_harness_environment_is_never_the_nodes(flows):
    a = flows["outcome"][flows["a"]]
    typer_step = a["steps"]["import typer"]
    assert typer_step["Status"]["State"] == "FAILED"
    stderr = log(flows["s3"], flows["a"], typer_step["Id"], "stderr")
    assert "No module named 'typer'" in stderr
    b = flows["outcome"][flows["b"]]
    assert b["steps"]["import typer"]["Status"]["State"] == "COMPLETED"
    stdout = log(flows["s3"], flows["b"], b["steps"]["import typer"]["Id"], "stdout")
    assert stdout.strip() == TYPER.split("==")[1]
    # the bootstrap actions' installs landed on the nodes only
    assert flows["after"] == flows["before"]
    assert flows["before"]["typer"] != TYPER.split("==")[1]


def test_bootstrap_actions_see_emr_paths_before_spark_is_installed(flows):
    for name, typer in (("a", "no"), ("b", "yes")):
        cluster_id = flows[name]
        probes = flows["outcome"][cluster_id]["bootstrap"]
        assert sorted(probes) == ["core-1.txt", "master-1.txt"]
        master, core = probes["master-1.txt"], probes["core-1.txt"]
        assert "pwd=/home/hadoop home=/home/hadoop" in master
        assert "master=1" in master and "master=0" in core
        assert f"flow={cluster_id}" in master
        # bootstrap actions run before EMR installs the applications
        assert "spark=absent" in master and "cmd=absent" in master
        # B's earlier bootstrap action installed it on each node, A's nodes never have it
        assert f"typer={typer}" in master and f"typer={typer}" in core
        for text in (master, core):
            path = next(line for line in text.splitlines() if line.startswith("path="))
            assert ".venv" not in path and "/emr/bin:" in path


def test_steps_see_emr_paths_and_the_nodes_python(flows):
    s3, cluster_id = flows["s3"], flows["a"]
    probe = flows["outcome"][cluster_id]["steps"]["probe"]
    assert probe["Status"]["State"] == "COMPLETED", probe["Status"]
    out = log(s3, cluster_id, probe["Id"], "stdout")
    assert out.splitlines()[0] == "/home/hadoop"
    assert json.loads(out[out.index("{"):out.index("}") + 1])["isMaster"] is True
    line = next(x for x in out.splitlines() if x.startswith("PROBE "))
    seen = json.loads(line[len("PROBE "):])
    assert seen["master"] is True and seen["typer"] is False
    assert seen["spark"] == RUNTIME.spark
    # the executors run on the core node, with its own python3 and its EMR paths
    assert seen["executors"] and all(not master for _, master in seen["executors"])
    controller = log(s3, cluster_id, probe["Id"], "controller")
    if flows["backend"] == "process":
        assert seen["python"].startswith(f"{RUNTIME.python}.")
        assert "/master-1/emr/python/" in seen["driver"]
        assert all("/core-1/emr/python/" in e for e, _ in seen["executors"])
        assert f"python3 is CPython {RUNTIME.python}." in controller
    else:  # the node image's python3, and the static check for the release's
        assert f"which the node image lacks: Python files are checked for {RUNTIME.python}" \
            in controller


def test_a_script_needing_a_newer_python_than_the_release_fails_naming_it(flows):
    s3, cluster_id = flows["s3"], flows["a"]
    match = flows["outcome"][cluster_id]["steps"]["match"]
    assert match["Status"]["State"] == "FAILED"
    text = log(s3, cluster_id, match["Id"], "stderr") + log(s3, cluster_id, match["Id"], "stdout")
    # Python 3.9 itself rejects it where this machine has it; vermin names it where not
    assert "match" in text and ("SyntaxError" in text or "requires" in text)
    assert "line 4" in text or "L4" in text


def test_without_spark_in_applications_spark_submit_is_not_found(flows):
    s3, cluster_id = flows["s3"], flows["b"]
    submit = flows["outcome"][cluster_id]["steps"]["spark-submit"]
    assert submit["Status"]["State"] == "FAILED"
    assert "spark-submit: command not found" in log(s3, cluster_id, submit["Id"], "stderr")
    assert "exit code 127" in log(s3, cluster_id, submit["Id"], "controller")
