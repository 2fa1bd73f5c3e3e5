"""AddInstanceGroups as EMR answers it (no server: the response class in-process, on the
rehearsal's backend without a control plane): refused on a cluster shutting down or gone,
for a MASTER group, for a second CORE group; a group's Configurations kept for its nodes."""

from __future__ import annotations

import moto.emr
import pytest
from moto.core.base_backend import BackendDict

from harness.emr.models import RehearsalEmrBackend
from tests.unit.test_emr_controls import call

ACCOUNT = "123456789012"


class _Accepting:
    """A runner that accepts job flows and starts nothing: they stay STARTING."""

    def run_job_flow(self, cluster) -> None:  # noqa: ANN001
        pass

    def resizable(self, cluster_id: str) -> bool:
        return False

    def __getattr__(self, name: str):  # noqa: ANN204 - whatever else the backend tells it
        return lambda *args, **kwargs: None


@pytest.fixture
def backend(monkeypatch):
    monkeypatch.setattr(moto.emr, "emr_backends",
                        BackendDict(RehearsalEmrBackend.bound_to(_Accepting()), "emr"))
    return moto.emr.emr_backends[ACCOUNT]["us-east-1"]


def run_job_flow() -> str:
    status, body = call("RunJobFlow", {
        "Name": "groups", "ReleaseLabel": "emr-7.12.0",
        "Instances": {"KeepJobFlowAliveWhenNoSteps": True, "InstanceGroups": [
            {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
            {"InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 1}]}})
    assert status == 200, body
    return body["JobFlowId"]


def add(cluster_id: str, *groups: dict) -> tuple[int, dict]:
    return call("AddInstanceGroups", {"JobFlowId": cluster_id, "InstanceGroups": [
        {"InstanceType": "m5.xlarge", "InstanceCount": 1, **g} for g in groups]})


def test_a_task_groups_configurations_are_kept_for_its_nodes(backend):
    cluster_id = run_job_flow()
    own = [{"Classification": "spark-defaults",
            "Properties": {"spark.executor.memoryOverhead": "512m"}}]
    status, body = add(cluster_id, {"InstanceRole": "TASK", "Name": "Task",
                                    "Configurations": own})
    assert status == 200, body
    (group_id,) = body["InstanceGroupIds"]
    assert backend.clusters[cluster_id].group_configurations[group_id] == own


@pytest.mark.parametrize(("role", "message"), [
    ("MASTER", "A MASTER instance group cannot be added"),
    ("CORE", "The cluster already has a CORE instance group (ig-"),
])
def test_a_master_or_second_core_group_is_refused(backend, role, message):
    cluster_id = run_job_flow()
    before = len(backend.clusters[cluster_id].instance_groups)
    status, body = add(cluster_id, {"InstanceRole": role})
    assert status == 400, body
    assert body["__type"] == "ValidationException"
    assert message in body["Message"]
    assert len(backend.clusters[cluster_id].instance_groups) == before


def test_a_terminated_cluster_takes_no_groups(backend):
    cluster_id = run_job_flow()
    backend.clusters[cluster_id].terminate("USER_REQUEST", "Terminated by the test")
    status, body = add(cluster_id, {"InstanceRole": "TASK"})
    assert status == 400, body
    assert body["__type"] == "ValidationException"
    assert body["Message"] == ("A job flow that is shutting down, terminated, or finished "
                               "may not be modified.")
    assert [g.role for g in backend.clusters[cluster_id].instance_groups] == ["MASTER", "CORE"]
