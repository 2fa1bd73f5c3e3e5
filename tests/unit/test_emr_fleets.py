"""Instance fleets and resizes in the EMR backend's records (no server: the backend is
called directly): fleet records and their instances, InstanceCollectionType, EMR's
answers to the calls of the other kind, ModifyInstanceGroups / ModifyInstanceFleet
holding the records RESIZING, the rules EMR applies to fleet requests, and the
`NODE@SECONDS` form of `harness rehearse --reclaim`."""

from __future__ import annotations

import pytest

from harness.emr.exceptions import InvalidRequestException, ValidationException
from harness.emr.fleets import check_fleets
from harness.emr.models import RehearsalEmrBackend
from harness.emr.rehearse import parse_reclaim
from harness.errors import UsageError
from tests.unit.test_emr_models import new_cluster

FLEETS = [
    {"Name": "Master", "InstanceFleetType": "MASTER", "TargetOnDemandCapacity": 1,
     "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}]},
    {"Name": "Core", "InstanceFleetType": "CORE", "TargetOnDemandCapacity": 2,
     "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}, {"InstanceType": "r5.xlarge"}]},
    {"Name": "Task", "InstanceFleetType": "TASK", "TargetSpotCapacity": 4,
     "InstanceTypeConfigs": [{"InstanceType": "c5.2xlarge", "WeightedCapacity": 2},
                             {"InstanceType": "m5.xlarge"}],
     "LaunchSpecifications": {"SpotSpecification": {"AllocationStrategy": "lowest-price"}}},
]


@pytest.fixture
def backend():
    return RehearsalEmrBackend("us-east-1", "123456789012")


def fleet_cluster(backend):
    cluster = backend.run_job_flow(
        name="fleets", log_uri=None, job_flow_role=None, service_role=None, steps=[],
        instance_attrs={"keep_job_flow_alive_when_no_steps": True, "ec2_subnet_id": None,
                        "emr_managed_master_security_group": None,
                        "emr_managed_slave_security_group": None,
                        "service_access_security_group": None})
    backend.add_instance_fleets(cluster, FLEETS)
    return cluster


def test_fleets_get_records_and_instances_by_the_rule(backend):
    cluster = fleet_cluster(backend)
    assert cluster.instance_collection_type == "INSTANCE_FLEET"
    fleets = {f.role: f for f in backend.list_instance_fleets(cluster.id)}
    assert all(f.id.startswith("if-") and f.state == "PROVISIONING" for f in fleets.values())
    instances = backend.list_instances(cluster.id)
    # task: lowest-price spot per unit is c5.2xlarge (0.34 x 0.4 + 0.085, halved)
    assert sorted((i.instance_type, i.market, i.instance_fleet_id) for i in instances) == sorted([
        ("m5.xlarge", "ON_DEMAND", fleets["MASTER"].id),
        ("m5.xlarge", "ON_DEMAND", fleets["CORE"].id),
        ("m5.xlarge", "ON_DEMAND", fleets["CORE"].id),
        ("c5.2xlarge", "SPOT", fleets["TASK"].id), ("c5.2xlarge", "SPOT", fleets["TASK"].id)])
    assert all(i.instance_group_id is None for i in instances)
    assert backend.list_instances(cluster.id, instance_fleet_type="TASK")[0].state == \
        "AWAITING_FULFILLMENT"  # spot capacity takes its modelled time
    # the nodes up and the cluster running: instances RUNNING, capacity provisioned
    cluster.run_bootstrap_actions()
    cluster.waiting()
    assert (fleets["TASK"].state, fleets["TASK"].provisioned_spot_capacity) == ("RUNNING", 4)
    assert fleets["CORE"].provisioned_on_demand_capacity == 2


@pytest.mark.parametrize("call", [
    lambda b, c: b.list_instance_groups(c.id),
    lambda b, c: b.add_instance_groups(c.id, [{"instance_role": "TASK",
                                              "instance_type": "m5.xlarge",
                                              "instance_count": 1}]),
])
def test_instance_group_calls_on_a_fleet_cluster_answer_as_emr(backend, call):
    cluster = fleet_cluster(backend)
    with pytest.raises(InvalidRequestException) as refused:
        call(backend, cluster)
    assert refused.value.error_code == "API_DOES_NOT_SUPPORT_INSTANCE_FLEET_CLUSTERS"
    assert "uses instance fleets" in refused.value.message


def test_fleet_calls_on_a_group_cluster_answer_as_emr(backend):
    cluster = new_cluster(backend)
    assert cluster.instance_collection_type == "INSTANCE_GROUP"
    with pytest.raises(InvalidRequestException) as refused:
        backend.list_instance_fleets(cluster.id)
    assert "Use the ListInstanceGroups operation instead" in refused.value.message


def test_modify_instance_fleet_holds_the_fleet_resizing(backend):
    cluster = fleet_cluster(backend)
    cluster.run_bootstrap_actions()
    cluster.waiting()
    task = next(f for f in cluster.instance_fleets if f.role == "TASK")
    backend.modify_instance_fleet(cluster.id, {"InstanceFleetId": task.id,
                                               "TargetSpotCapacity": 6})
    assert (task.state, task.target_spot_capacity) == ("RESIZING", 6)
    assert [(c.instance_type, c.count) for c in task.chosen()] == [("c5.2xlarge", 3)]
    cluster.running()  # a step starts: the resize, not the cluster, owns the fleet's state
    assert task.state == "RESIZING"
    master = next(f for f in cluster.instance_fleets if f.role == "MASTER")
    with pytest.raises(ValidationException):
        backend.modify_instance_fleet(cluster.id, {"InstanceFleetId": master.id,
                                                   "TargetOnDemandCapacity": 2})


def test_modify_instance_groups_holds_the_group_resizing(backend):
    cluster = new_cluster(backend)
    cluster.run_bootstrap_actions()
    cluster.waiting()
    core = next(g for g in cluster.instance_groups if g.role == "CORE")
    backend.modify_instance_groups([{"instance_group_id": core.id, "instance_count": 3}],
                                   cluster.id)
    assert (core.state, core.requested_instance_count, core.running_instance_count) == \
        ("RESIZING", 3, 1)
    cluster.running()
    assert core.state == "RESIZING"
    with pytest.raises(ValidationException, match="not valid"):
        backend.modify_instance_groups([{"instance_group_id": "ig-NOPE",
                                         "instance_count": 1}])


@pytest.mark.parametrize("fleets, problem", [
    (FLEETS[1:], "Exactly one MASTER"),
    ([{**FLEETS[0], "TargetOnDemandCapacity": 2}, *FLEETS[1:]], "exactly one of"),
    ([FLEETS[0], {**FLEETS[1], "TargetOnDemandCapacity": 0}], "at least 1"),
    ([FLEETS[0], {**FLEETS[1], "InstanceTypeConfigs": [
        {"InstanceType": "m5.xlarge", "BidPrice": "0.1",
         "BidPriceAsPercentageOfOnDemandPrice": 50}]}], "not both"),
    ([FLEETS[0], FLEETS[1], {**FLEETS[2], "LaunchSpecifications": {"SpotSpecification": {
        "TimeoutDurationMinutes": 2, "TimeoutAction": "TERMINATE_CLUSTER"}}}], "between 5"),
])
def test_emr_rules_for_fleet_requests(fleets, problem):
    with pytest.raises(ValidationException, match=problem):
        check_fleets(fleets, {"m5.xlarge", "r5.xlarge", "c5.2xlarge"})


def test_reclaim_spec():
    assert parse_reclaim("task-1@20") == ("task-1", 20.0)
    for bad in ("task-1", "@5", "task-1@soon", "task-1@-1"):
        with pytest.raises(UsageError, match="NODE@SECONDS"):
            parse_reclaim(bad)


def test_describe_job_flows_of_a_fleet_cluster(backend):
    cluster = fleet_cluster(backend)
    assert backend.describe_job_flows([cluster.id]) == [cluster]
    assert (cluster.master_instance_type, cluster.slave_instance_type) == ("m5.xlarge",
                                                                           "m5.xlarge")
    assert cluster.master_instance_id is not None


class _Plane:
    """What the admin route asks of the control plane."""

    time_scale = 0.05

    def __init__(self):
        self.asked = []

    def reclaim(self, cluster_id, node, notice_s):
        from harness.emr.exceptions import InvalidCluster

        if cluster_id != "j-RUNNING":
            raise InvalidCluster(cluster_id)
        self.asked.append((cluster_id, node, notice_s))
        return ["ci-TASK1"]


def _call(plane, body, remote="127.0.0.1", path="/_harness/reclaim"):
    import io
    import json

    from harness.emr import admin

    data = json.dumps(body).encode()
    answered = {}
    chunks = admin.handle(plane, {"REMOTE_ADDR": remote, "PATH_INFO": path,
                                  "REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(data)),
                                  "wsgi.input": io.BytesIO(data)},
                          lambda status, headers: answered.update(status=status))
    return answered["status"], json.loads(b"".join(chunks))


def test_the_admin_route_reclaims_for_loopback_clients_only():
    plane = _Plane()
    status, body = _call(plane, {"cluster_id": "j-RUNNING", "node": "task-1",
                                 "notice_s": None})
    assert status.startswith("200") and body["instance_ids"] == ["ci-TASK1"]
    assert plane.asked == [("j-RUNNING", "task-1", pytest.approx(6.0))]  # 120 s x 0.05
    status, body = _call(plane, {"cluster_id": "j-GONE", "node": "task-1"})
    assert status.startswith("400") and "j-GONE" in body["error"]
    assert _call(plane, {}, remote="10.0.0.7")[0].startswith("403")
    assert _call(plane, {}, path="/_harness/other")[0].startswith("404")
    assert _call(plane, {"node": "task-1"})[0].startswith("400")


def test_a_reclaim_nobody_can_answer_is_one_line():
    from harness.emr.admin import ReclaimError, reclaim
    from harness.net import free_port

    with pytest.raises(ReclaimError, match="cannot reach the endpoint"):
        reclaim(f"http://127.0.0.1:{free_port()}", "j-X", "task-1", 0)


def test_a_core_fleet_of_two_types_and_markets_maps_to_workers_of_each():
    from harness.cluster import build_topology
    from harness.emr.validation import requested_groups

    core = {"Name": "Core", "InstanceFleetType": "CORE", "TargetOnDemandCapacity": 1,
            "TargetSpotCapacity": 1,
            "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"},
                                    {"InstanceType": "r5.xlarge"}]}
    groups = requested_groups({"Instances": {"InstanceFleets": [FLEETS[0], core]}})
    assert [(g["InstanceRole"], g["InstanceType"], g["Market"]) for g in groups] == [
        ("MASTER", "m5.xlarge", "ON_DEMAND"), ("CORE", "m5.xlarge", "ON_DEMAND"),
        ("CORE", "r5.xlarge", "SPOT")]
    workers = build_topology(groups, 3072, host_cores=2).workers
    assert sorted((w.instance_type, w.market) for w in workers) == [
        ("m5.xlarge", "ON_DEMAND"), ("r5.xlarge", "SPOT")]


def test_modify_instance_fleet_may_change_the_instance_types(backend):
    cluster = fleet_cluster(backend)
    task = next(f for f in cluster.instance_fleets if f.role == "TASK")
    backend.modify_instance_fleet(cluster.id, {
        "InstanceFleetId": task.id, "TargetSpotCapacity": 2,
        "InstanceTypeConfigs": [{"InstanceType": "r5.xlarge"}]})
    assert [(c.instance_type, c.market, c.count) for c in task.chosen()] == [
        ("r5.xlarge", "SPOT", 2)]
    assert [s["InstanceType"] for s in task.instance_type_specifications] == ["r5.xlarge"]
    with pytest.raises(ValidationException, match="not supported"):
        backend.modify_instance_fleet(cluster.id, {
            "InstanceFleetId": task.id, "InstanceTypeConfigs": [{"InstanceType": "x9.huge"}]})
