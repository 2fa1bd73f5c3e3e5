"""EMR steps as EMR runs them, in one job flow on the process backend: Configurations
(spark-defaults, spark-env) seen by the driver and the executors, `--files ...#name` in a
cluster-mode driver's working directory, s3n:// and s3a:// inside Spark, a Java CUSTOM_JAR
step run as `hadoop jar`, a Java Spark application by spark-submit --class (both compiled
here with javac against the release's jars), a step type that is not emulated refused in
one line, and a classification the release lacks refused at RunJobFlow."""

from __future__ import annotations

import copy
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness.aws.s3 import ensure_bucket
from harness.runtimes import install, runtime_for
from tests.backends import wait_state
from tests.integration.test_emr_rehearsal import log_text

pytestmark = pytest.mark.integration
HERE = Path(__file__).parent / "steps_fixtures"
# the master group's spark-defaults override the cluster's (37 over 11), as on EMR; the
# core group's own Configurations are accepted and said not to reach the driver
GROUPS = [
    {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
     "InstanceCount": 1, "Configurations": [
         {"Classification": "spark-defaults",
          "Properties": {"spark.sql.shuffle.partitions": "37"}}]},
    {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 1,
     "Configurations": [{"Classification": "yarn-site",
                         "Properties": {"yarn.nodemanager.vmem-check-enabled": "false"}}]},
]
CONFIGURATIONS = [
    {"Classification": "spark-defaults",
     "Properties": {"spark.sql.shuffle.partitions": "11"}},
    {"Classification": "spark-env", "Properties": {}, "Configurations": [
        {"Classification": "export", "Properties": {"GREETING": "bonjour"}}]},
]


LABEL = "emr-7.12.0"  # the release the suite installs (make runtimes)


def job_flow(name, steps=(), configurations=(), label=LABEL, groups=GROUPS):
    return dict(Name=name, ReleaseLabel=label, LogUri="s3://logs/emr/",
                Applications=[{"Name": "Spark"}], JobFlowRole="EMR_EC2_DefaultRole",
                ServiceRole="EMR_DefaultRole", Steps=list(steps),
                Configurations=list(configurations),
                Instances={"InstanceGroups": copy.deepcopy(groups),
                           "KeepJobFlowAliveWhenNoSteps": False})


def step(name, args, jar="command-runner.jar", **hadoop_jar_step):
    return {"Name": name, "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": jar, "Args": list(args), **hadoop_jar_step}}


def compile_jar(source: Path, out: Path) -> Path:
    """javac against the release's jars (its Spark's jars dir holds Hadoop's client jars)."""
    jars = install(runtime_for(LABEL)).spark_home / "jars"
    classes = out.parent / f"{source.stem}-classes"
    classes.mkdir(parents=True, exist_ok=True)
    subprocess.run(["javac", "--release", "17", "-cp", str(jars / "*"),
                    "-d", str(classes), str(source)], check=True, capture_output=True)
    with zipfile.ZipFile(out, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for cls in classes.glob("*.class"):
            jar.write(cls, cls.name)
    return out


def test_steps_and_configurations_run_as_on_emr(endpoint, tmp_path):
    s3, emr = endpoint.client("s3"), endpoint.client("emr")
    for bucket in ("code", "logs", "curated"):
        ensure_bucket(s3, bucket, endpoint.region)

    # refused before anything runs: spark-log4j is spark-log4j2 since emr-6.8
    with pytest.raises(ClientError) as refused:
        emr.run_job_flow(**job_flow("log4j", configurations=[
            {"Classification": "spark-log4j", "Properties": {"rootCategory": "WARN"}}],
            label="emr-7.12.0"))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == (
        "Classification 'spark-log4j' is not valid for parent classification 'null'.")

    s3.upload_file(str(HERE / "conf_probe.py"), "code", "jobs/conf_probe.py")
    s3.put_object(Bucket="code", Key="config/prod.json", Body=b'{"env": "prod"}')
    s3.upload_file(str(compile_jar(HERE / "HelloHadoop.java", tmp_path / "hello.jar")),
                   "code", "jars/hello.jar")
    s3.upload_file(str(compile_jar(HERE / "SparkCount.java", tmp_path / "count.jar")),
                   "code", "jars/count.jar")
    steps = [
        step("probe", ["spark-submit", "--deploy-mode=cluster",
                       "--files=s3://code/config/prod.json#settings.json",
                       "s3://code/jobs/conf_probe.py", "s3n://curated/probe"]),
        step("custom jar", ["s3a://code/config/prod.json"], jar="s3://code/jars/hello.jar",
             MainClass="HelloHadoop", Properties=[{"Key": "greeting", "Value": "hi"}]),
        step("java spark", ["spark-submit", "--class", "SparkCount",
                            "s3://code/jars/count.jar", "s3://curated/probe"]),
        step("hive", ["hive-script", "--run-hive-script", "--args", "-f", "s3://code/q.sql"]),
    ]
    cluster_id = emr.run_job_flow(**job_flow("steps", steps, CONFIGURATIONS))["JobFlowId"]
    assert wait_state(emr, cluster_id)["State"] == "TERMINATED"

    listed = {s["Name"]: s for s in emr.list_steps(ClusterId=cluster_id)["Steps"]}
    states = {name: s["Status"]["State"] for name, s in listed.items()}
    assert states == {"probe": "COMPLETED", "custom jar": "COMPLETED",
                      "java spark": "COMPLETED", "hive": "FAILED"}, states

    def out(name, log="stdout"):
        return log_text(s3, f"emr/{cluster_id}/steps/{listed[name]['Id']}/{log}.gz")

    probe = json.loads(next(line for line in out("probe").splitlines()
                            if line.startswith("probe "))[len("probe "):])
    assert probe == {
        "driver_partitions": "37", "driver_greeting": "bonjour", "driver_settings": "prod",
        "executors": [["37", "bonjour", "prod"]], "s3a_read_back": 5}
    controller = out("probe", "controller")
    assert "instance group Core" in controller
    assert "harness performance defaults in force" in controller
    assert "spark.sql.shuffle.partitions" not in controller.split("in force")[1].split("\n")[0]
    assert "custom-jar greeting=hi exists=true scheme=s3a" in out("custom jar")
    assert "hadoop jar: HelloHadoop" in out("custom jar", "controller")
    assert "java-spark rows=5 partitions=37" in out("java spark")

    hive = emr.describe_step(ClusterId=cluster_id, StepId=listed["hive"]["Id"])["Step"]
    message = hive["Status"]["FailureDetails"]["Message"]
    assert "Hive step 'hive-script' is not emulated" in message and "\n" not in message
