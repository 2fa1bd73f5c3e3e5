"""The runner contract (harness.targets) without Spark or servers: what each target
supports is checked before anything runs, cores are counted one way, fixtures resolve one
way, a command that needs a running endpoint says so, and the real-EMR target stages data
only under the user's own prefix (against moto's in-process mock, never AWS)."""

from __future__ import annotations

import pytest

from harness.aws import EndpointError, open_endpoint
from harness.cluster import Node, NodeSpec, RunningCluster
from harness.errors import UsageError
from harness.targets import (
    TARGETS,
    ClusterSpark,
    EmrStep,
    LocalSpark,
    RealEmr,
    Target,
    cluster_cores,
    get_target,
)
from harness.workloads.fixtures import fixture_dir, resolve_fixture


def _node(name: str, role: str, cores: int, state: str = "RUNNING") -> Node:
    spec = NodeSpec(name=name, role=role, instance_type="m5.xlarge", market="ON_DEMAND",
                    cores=cores, memory_mb=1024, group=role.title())
    return Node(spec, ui_url=f"http://127.0.0.1/{name}", state=state)


def _cluster() -> RunningCluster:
    return RunningCluster(
        id="c-1", backend="process", master_url="spark://127.0.0.1:7077",
        master_ui_url="http://127.0.0.1:8080", work_dir="/tmp", executor_memory_mb=512,
        nodes=[_node("master", "MASTER", 4), _node("core-1", "CORE", 2),
               _node("core-2", "CORE", 2), _node("task-1", "TASK", 1, state="LOST")])


def test_cluster_cores_count_workers_and_leave_a_lost_node_out():
    assert cluster_cores(_cluster()) == 4


def test_the_cluster_target_offers_the_cluster_and_its_settings(tmp_path):
    target = ClusterSpark(tmp_path, cluster=_cluster(), conf={"spark.x": "1"})
    master, conf, cores = target.spark()
    assert master == "spark://127.0.0.1:7077" and cores == 4
    assert conf["spark.executor.memory"] == "512m" and conf["spark.x"] == "1"


def test_a_target_refuses_a_storage_it_does_not_support_before_anything_runs(tmp_path):
    with pytest.raises(UsageError, match="emr-step target cannot keep its data on 'local'"):
        EmrStep(tmp_path, storage="local")
    with pytest.raises(UsageError, match="cannot keep its data on 'hdfs'"):
        LocalSpark(tmp_path, storage="hdfs")
    with pytest.raises(UsageError, match="needs a running cluster or a topology"):
        ClusterSpark(tmp_path)


def test_targets_are_named_by_alias_and_share_the_base_contract(tmp_path):
    assert set(TARGETS) == {"local", "cluster", "emr-step", "aws"}
    assert all(issubclass(t, Target) for t in TARGETS.values())
    assert isinstance(get_target("local", tmp_path, master="local[1]"), LocalSpark)
    with pytest.raises(UsageError, match="unknown target 'yarn'"):
        get_target("yarn", tmp_path)


def test_local_storage_stages_nothing_and_s3_needs_an_endpoint(cascade, small_fixture,
                                                                tmp_path):
    target = LocalSpark(tmp_path)
    job = target._stage(cascade, small_fixture, "spark", tmp_path / "out")
    assert job.input_uri == small_fixture.uri() and job.output_uri.startswith("file://")
    assert job.conf == {} and job.env is None
    with pytest.raises(UsageError, match="needs an endpoint"):
        LocalSpark(tmp_path, storage="s3")._stage(cascade, small_fixture, "spark", tmp_path)


def test_resolve_fixture_uses_the_directory_or_the_cache(cascade, small_fixture, tmp_path):
    fixture, reused = resolve_fixture(cascade, fixture=small_fixture.path)
    assert fixture.path == small_fixture.path and reused
    made, reused = resolve_fixture(cascade, rows=200, root=tmp_path)
    assert not reused and made.rows == 200 and made.seed == cascade.default_seed
    assert made.path == fixture_dir(tmp_path, cascade, 200, cascade.default_seed,
                                    cascade.default_bad_share)
    again, reused = resolve_fixture(cascade, rows=200, root=tmp_path)
    assert reused and again.path == made.path


def test_a_command_that_needs_a_running_endpoint_says_so(tmp_path):
    with pytest.raises(EndpointError, match="no local AWS endpoint is running"), \
            open_endpoint(None, tmp_path, start=False):
        pass


@pytest.fixture
def mocked_aws(no_real_aws, monkeypatch):
    """moto's mock_aws, inside a test setup where no real credential or host is reachable."""
    from moto import mock_aws

    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mock-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "mock-secret")
    with mock_aws():
        yield


def test_real_emr_stages_under_the_users_prefix_and_keeps_their_job_flow(
        mocked_aws, cascade, small_fixture, tmp_path):
    request = {"Name": "nightly", "ReleaseLabel": "emr-7.12.0", "LogUri": "s3://my-logs/emr/",
               "Instances": {"InstanceGroups": [], "KeepJobFlowAliveWhenNoSteps": False},
               "JobFlowRole": "EMR_EC2_DefaultRole", "ServiceRole": "EMR_DefaultRole"}
    target = RealEmr(tmp_path, request=request, staging="s3://my-bucket/rehearsal",
                     region="eu-west-1")
    assert target.endpoint is not None and target.endpoint.target == "aws"
    s3 = target.endpoint.client("s3")
    s3.create_bucket(Bucket="my-bucket",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    job = target._stage(cascade, small_fixture, "spark-emr", tmp_path / "out")
    assert job.script == "s3://my-bucket/rehearsal/code/cascade/spark_job.py"
    assert job.input_uri == f"s3://my-bucket/rehearsal/raw/cascade/{small_fixture.path.name}"
    assert job.output_uri == "s3://my-bucket/rehearsal/curated/cascade/spark-emr"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="my-bucket")["Contents"]}
    assert "rehearsal/code/cascade/spark_job.py" in keys
    assert f"rehearsal/raw/cascade/{small_fixture.path.name}/manifest.json" in keys
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["my-bucket"]  # none made
    sent = target._job_flow_request([])
    assert sent["Name"] == "nightly" and sent["LogUri"] == "s3://my-logs/emr/"
    assert sent["Instances"]["KeepJobFlowAliveWhenNoSteps"]  # steps are added one by one
    assert target.step_logs("j-1", "s-2") == "s3://my-logs/emr/j-1/steps/s-2/"
    target.cleanup()  # started no job flow: nothing to terminate
