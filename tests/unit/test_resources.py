"""Resource arguments written for EMR are scaled to the local workers keeping ratios, with a
note per rewrite; what YARN on EMR refuses fails with Spark's own message; concurrent
steps share the cluster's cores."""

from __future__ import annotations

import pytest

from harness.catalog import instance_type
from harness.cluster.topology import build_topology
from harness.emr.resources import (
    ResourceRequestError,
    executor_type,
    parse_mb,
    scale_submit_args,
    yarn_memory_mb,
)
from harness.emr.steps import StepContext, plan_step


def group(role, itype, count, **extra):
    return {"InstanceRole": role, "InstanceType": itype, "InstanceCount": count, **extra}


BIG = build_topology([group("MASTER", "m5.xlarge", 1), group("CORE", "r5.2xlarge", 11)],
                     memory_budget_mb=2048, host_cores=2)


@pytest.mark.parametrize(("itype", "mb"), [("m5.xlarge", 12288), ("r5.xlarge", 24576),
                                           ("r5.2xlarge", 57344), ("c5.xlarge", 6144),
                                           ("r5.4xlarge", 122880)])
def test_yarn_memory_follows_emr_s_defaults(itype, mb):
    assert yarn_memory_mb(instance_type(itype)) == mb


def test_the_core_group_s_type_sizes_executors_else_the_largest_task_else_the_master():
    assert executor_type(BIG).name == "r5.2xlarge"
    tasks = build_topology([group("MASTER", "m5.xlarge", 1), group("CORE", "m5.xlarge", 0),
                            group("TASK", "c5.xlarge", 1), group("TASK", "r5.xlarge", 1)],
                           2048, 2)
    assert executor_type(tasks).name == "r5.xlarge"
    single = build_topology([group("MASTER", "m5.2xlarge", 1)], 2048, 2)
    assert executor_type(single).name == "m5.2xlarge"


@pytest.mark.parametrize(("text", "mb"), [("8g", 8192), ("8G", 8192), ("8192m", 8192),
                                          ("1024", 1024), ("1.5g", 1536), ("2048k", 2)])
def test_memory_strings(text, mb):
    assert parse_mb(text, "x") == mb


def test_emr_sizes_are_scaled_and_each_rewrite_noted():
    args = ["--executor-memory", "8g", "--executor-cores", "4", "--num-executors", "4",
            "job.py", "--executor-memory", "keep-me"]
    out, notes = scale_submit_args(args, BIG)
    assert out[:6] == ["--executor-memory", "512m", "--executor-cores", "1",
                       "--num-executors", "1"]
    assert out[6:] == ["--conf", "spark.cores.max=1", "job.py", "--executor-memory", "keep-me"]
    assert notes[0].startswith("resources: --executor-memory 8g -> 512m (an executor "
                               "container took 16% of an r5.2xlarge's 57344 MB")
    assert len(notes) == 4


def test_the_conf_and_inline_forms_are_scaled_too():
    args = ["--conf", "spark.executor.memory=24g", "--conf=spark.executor.cores=8",
            "--driver-memory=8g", "-c", "spark.cores.max=88", "job.py"]
    out, notes = scale_submit_args(args, BIG)
    # 47% of a worker's executor memory is under Spark's minimum executor
    assert out[1] == "spark.executor.memory=512m"
    assert out[2] == "--conf=spark.executor.cores=1"
    assert out[3] == "--driver-memory=1024m"  # 50% of the master's 16 GiB, capped at 1 GiB
    assert out[5] == "spark.cores.max=3"  # all of the cluster's vCPUs: all local cores
    assert len(notes) == 4 and all(n.startswith("resources: ") for n in notes)


def test_without_resource_arguments_nothing_changes():
    args = ["--name", "x", "job.py", "--executor-memory", "8g"]
    assert scale_submit_args(args, BIG) == (args, [])


def test_an_executor_above_yarn_s_maximum_fails_with_spark_s_message():
    with pytest.raises(ResourceRequestError) as err:
        scale_submit_args(["--executor-memory", "200g", "job.py"], BIG)
    assert err.value.problem == (
        "java.lang.IllegalArgumentException: Required executor memory (204800 MB), offHeap "
        "memory (0) MB, overhead (20480 MB), and PySpark memory (0 MB) is above the max "
        "threshold (57344 MB) of this cluster! Please check the values of "
        "'yarn.scheduler.maximum-allocation-mb' and/or 'yarn.nodemanager.resource.memory-mb'.")
    # overhead and PySpark memory count: 52g + 5324 MB overhead > 57344 MB
    with pytest.raises(ResourceRequestError, match="PySpark memory \\(2048 MB\\)"):
        scale_submit_args(["--executor-memory", "50g", "--conf",
                           "spark.executor.pyspark.memory=2g", "job.py"], BIG)
    out, _ = scale_submit_args(["--executor-memory", "50g", "job.py"], BIG)  # + 5 GiB fits
    # 98% of the smallest worker's executor memory
    assert int(out[1][:-1]) == round(56320 / 57344 * BIG.executor_memory_mb)


def test_a_driver_above_yarn_s_maximum_fails_in_cluster_mode_only():
    with pytest.raises(ResourceRequestError, match=r"Required AM memory \(61440\+6144 MB\)"):
        scale_submit_args(["--deploy-mode", "cluster", "--driver-memory", "60g", "j.py"], BIG)
    out, _ = scale_submit_args(["--deploy-mode", "client", "--driver-memory", "60g", "j.py"],
                               BIG)
    assert out[3] == "1024m"


def test_concurrent_applications_share_the_cores():
    out, notes = scale_submit_args(["job.py"], BIG, concurrency=2)
    assert out == ["--conf", "spark.cores.max=1", "--conf", "spark.executor.memory=512m",
                   "job.py"]
    assert "StepConcurrencyLevel 2" in notes[0]
    # a step's own limit is kept
    out, _ = scale_submit_args(["--total-executor-cores", "88", "job.py"], BIG, concurrency=2)
    assert out[:2] == ["--total-executor-cores", "3"] and "spark.cores.max=1" not in out


def test_bad_values_are_clear_errors():
    with pytest.raises(ResourceRequestError, match="'lots' is not a memory size"):
        scale_submit_args(["--executor-memory", "lots", "job.py"], BIG)
    with pytest.raises(ResourceRequestError, match="'0' must be at least 1"):
        scale_submit_args(["--num-executors", "0", "job.py"], BIG)


def test_plan_step_scales_with_the_topology(tmp_path):
    command = plan_step("command-runner.jar", ["spark-submit", "--executor-memory", "8g",
                                               "job.py"], tmp_path, lambda u, d: d,
                        StepContext(topology=BIG))
    assert command.argv == ["spark-submit", "--deploy-mode", "client", "--executor-memory",
                            "512m", "job.py"]
    assert command.notes[0].startswith("resources: --executor-memory 8g -> 512m")


class FakeProcess:
    """A step's process that runs until stopped, or until `ends_after` waits."""

    def __init__(self, ends_after=None):
        self.waits, self.ends_after, self.stopped = 0, ends_after, False

    def wait(self, timeout=None):
        import subprocess
        import time

        self.waits += 1
        if self.stopped:
            return 143
        if self.ends_after is not None and self.waits >= self.ends_after:
            return 0
        time.sleep(timeout or 0)
        raise subprocess.TimeoutExpired("spark-submit", timeout)

    def stop(self, grace_s=5.0):
        self.stopped = True


class FakeCluster:
    def __init__(self, apps):
        self.apps = apps

    def master_status(self, timeout=2.0):
        return {"activeapps": self.apps, "workers": [
            {"state": "ALIVE", "coresfree": 1, "memoryfree": 640}]}


def test_an_application_without_executors_fails_after_the_bounded_wait():
    import time

    from harness.emr.resources import watch_executors

    since = time.time()
    app = {"id": "app-1", "starttime": since * 1000 + 10, "cores": 0,
           "memoryperexecutor": 8192}
    process = FakeProcess()
    rc, reason = watch_executors(process, FakeCluster([app]), since, wait_s=0.2, poll_s=0.01)
    assert process.stopped and rc == 143
    assert reason == ("The application app-1 got no executors within 0 s: it asks for 8192 MB "
                      "per executor, and the local workers offer 1 cores and 640 MB free "
                      "(HARNESS_EMR_EXECUTOR_WAIT_S bounds this wait)")


def test_queued_behind_another_application_or_running_is_no_starvation():
    import time

    from harness.emr.resources import watch_executors

    since = time.time()
    mine = {"id": "app-2", "starttime": since * 1000 + 10, "cores": 0}
    other = {"id": "app-0", "starttime": since * 1000 - 60_000, "cores": 2}
    process = FakeProcess(ends_after=40)
    assert watch_executors(process, FakeCluster([other, mine]), since, wait_s=0.05,
                           poll_s=0.005) == (0, None)
    assert not process.stopped


def test_spark_defaults_given_as_configuration_are_scaled_too():
    from harness.emr.resources import scale_spark_conf

    conf, notes = scale_spark_conf({"spark.executor.memory": "8g", "spark.sql.x": "1",
                                    "spark.executor.cores": "4"}, BIG)
    assert conf == {"spark.executor.memory": "512m", "spark.sql.x": "1",
                    "spark.executor.cores": "1"}
    assert len(notes) == 2
