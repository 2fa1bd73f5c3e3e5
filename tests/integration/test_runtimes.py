"""Each job flow runs its release label's runtime, on every cluster backend: emr-7.12.0's
Spark 3.5 (ANSI off) and emr-spark-8.0.0's Spark 4.0 (ANSI on) side by side, as EMR's
would, and labels the harness cannot run are refused at RunJobFlow."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.backends import wait_state
from tests.integration import test_emr_rehearsal as rehearsal
from tests.integration.test_emr_rehearsal import GROUPS, job_flow, log_text, step

pytestmark = pytest.mark.integration
# the endpoint (per backend) and its buckets, as the job-flow tests get them
emr_backend = rehearsal.emr_backend
aws = rehearsal.aws
PROBE = b"""from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("probe").getOrCreate()
print("PROBE spark", spark.version, flush=True)
print("PROBE ansi", spark.conf.get("spark.sql.ansi.enabled"), flush=True)
print("PROBE cast", spark.sql("SELECT cast('abc' AS int) AS v").collect()[0][0], flush=True)
spark.stop()
"""


def _probe_flow(label):
    flow = job_flow(f"probe {label}", groups=[GROUPS[0], {**GROUPS[1], "InstanceCount": 1}],
                    steps=[step("probe", ["spark-submit", "s3://code/probe/probe.py"])])
    return {**flow, "ReleaseLabel": label}


def test_each_release_label_runs_its_own_spark_side_by_side(aws):
    s3, emr = aws
    s3.put_object(Bucket="code", Key="probe/probe.py", Body=PROBE)
    emr7 = emr.run_job_flow(**_probe_flow("emr-7.12.0"))["JobFlowId"]
    emr8 = emr.run_job_flow(**_probe_flow("emr-spark-8.0.0"))["JobFlowId"]
    for cluster_id in (emr7, emr8):
        status = wait_state(emr, cluster_id)
        assert status["StateChangeReason"]["Code"] == "ALL_STEPS_COMPLETED", status
    clusters = {c: emr.describe_cluster(ClusterId=c)["Cluster"] for c in (emr7, emr8)}
    # side by side: each was up while the other ran
    times = {c: cl["Status"]["Timeline"] for c, cl in clusters.items()}
    assert times[emr7]["ReadyDateTime"] < times[emr8]["EndDateTime"]
    assert times[emr8]["ReadyDateTime"] < times[emr7]["EndDateTime"]
    steps = {c: emr.list_steps(ClusterId=c)["Steps"][0] for c in (emr7, emr8)}

    # emr-7.12.0: Spark 3.5, ANSI off, a malformed cast is NULL
    assert steps[emr7]["Status"]["State"] == "COMPLETED"
    out7 = log_text(s3, f"emr/{emr7}/steps/{steps[emr7]['Id']}/stdout.gz")
    assert "PROBE spark 3.5.6" in out7
    assert "PROBE ansi false" in out7
    assert "PROBE cast None" in out7

    # emr-spark-8.0.0: Spark 4.0, ANSI on, the same cast fails the step with Spark 4's error
    assert steps[emr8]["Status"]["State"] == "FAILED"
    assert "CAST_INVALID_INPUT" in steps[emr8]["Status"]["FailureDetails"]["Message"]
    out8 = log_text(s3, f"emr/{emr8}/steps/{steps[emr8]['Id']}/stdout.gz")
    assert "PROBE spark 4.0.2" in out8
    assert "PROBE ansi true" in out8
    assert "PROBE cast None" not in out8


def test_release_labels_without_a_runnable_runtime_are_refused(aws):
    _, emr = aws
    for label, says in (("emr-7.14.0", "emr-7.13.0"),  # moto lists it; the guide read not
                        ("emr-6.5.0", "Spark 3.1.2")):  # Spark older than 3.4
        with pytest.raises(ClientError) as refused:
            emr.run_job_flow(**_probe_flow(label))
        error = refused.value.response["Error"]
        assert error["Code"] == "ValidationException"
        assert label in error["Message"] and says in error["Message"]
