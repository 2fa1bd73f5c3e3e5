"""The EMR backend's records (moto's, derived): a cluster is only requested when created,
advances through named state changes as EMR reports them, and unknown ids or work for a
cluster that is ending are EMR's errors. No server: the backend is called directly."""

from __future__ import annotations

import pytest

from harness.emr import TERMINAL
from harness.emr.exceptions import InvalidRequestException, ValidationException
from harness.emr.models import RehearsalEmrBackend


def new_cluster(backend, steps=("first", "second"), keep_alive=True):
    return backend.run_job_flow(
        name="unit", log_uri=None, job_flow_role=None, service_role=None,
        steps=[{"name": name, "action_on_failure": "CONTINUE",
                "hadoop_jar_step": {"Jar": "command-runner.jar", "Args": ["true"]}}
               for name in steps],
        instance_attrs={"master_instance_type": "m5.xlarge", "slave_instance_type": "m5.xlarge",
                        "instance_count": 2, "keep_job_flow_alive_when_no_steps": keep_alive,
                        "ec2_subnet_id": None, "emr_managed_master_security_group": None,
                        "emr_managed_slave_security_group": None,
                        "service_access_security_group": None})


@pytest.fixture
def backend():
    return RehearsalEmrBackend("us-east-1", "123456789012")


def test_a_new_cluster_is_only_requested_whatever_moto_would_play(backend):
    # moto alone would answer WAITING (or TERMINATED without steps) with the first step RUNNING
    for cluster in (new_cluster(backend), new_cluster(backend, steps=(), keep_alive=False)):
        assert cluster.status["State"] == "STARTING"
        assert cluster.status["StateChangeReason"]["Message"] == "Provisioning local nodes"
        assert cluster.ready_datetime is None and cluster.end_datetime is None
        assert all(s.state == "PENDING" and s.start_date_time is None for s in cluster.steps)


def test_named_state_changes_report_what_emr_reports(backend):
    cluster = new_cluster(backend)
    first, second = cluster.steps
    cluster.run_bootstrap_actions()
    assert cluster.state == "BOOTSTRAPPING"
    first.run()
    cluster.running()
    assert cluster.state == "RUNNING" and cluster.ready_datetime is not None
    first.fail("Step failed with a non-zero exit code", "RuntimeError: broke", "s3://l/x.gz")
    assert first.status["FailureDetails"] == {
        "Reason": "Step failed with a non-zero exit code", "Message": "RuntimeError: broke",
        "LogFile": "s3://l/x.gz"}
    cluster.terminate("STEP_FAILURE", "Shut down as step failed: first")
    status = cluster.status
    assert status["State"] == "TERMINATED_WITH_ERRORS" and status["State"] in TERMINAL
    assert status["StateChangeReason"] == {"Code": "STEP_FAILURE",
                                           "Message": "Shut down as step failed: first"}
    assert second.state == "CANCELLED"
    cluster.running()  # once ended, a cluster stays ended
    assert cluster.state == "TERMINATED_WITH_ERRORS"


def test_termination_cancels_pending_interrupts_running_and_ends_once(backend):
    cluster = new_cluster(backend)
    first, second = cluster.steps
    first.run()
    assert cluster.terminating("USER_REQUEST", "Terminated by user request")
    assert (first.state, second.state, cluster.state) == ("INTERRUPTED", "CANCELLED",
                                                          "TERMINATING")
    assert not cluster.terminating("USER_REQUEST", "again")
    cluster.waiting()  # a runner that has not seen the request yet cannot revive it
    assert cluster.state == "TERMINATING"
    cluster.terminate(cluster.last_state_change_code, cluster.last_state_change_reason)
    assert cluster.status["State"] == "TERMINATED"
    assert cluster.status["StateChangeReason"]["Code"] == "USER_REQUEST"


def test_terminate_job_flows_ends_a_cluster_no_runner_drives(backend):
    cluster = new_cluster(backend)
    backend.terminate_job_flows([cluster.id])
    assert cluster.state == "TERMINATED" and cluster.end_datetime is not None
    with pytest.raises(ValidationException, match="may not be modified"):
        backend.add_job_flow_steps(cluster.id, [
            {"name": "late", "hadoop_jar_step": {"Jar": "command-runner.jar", "Args": ["x"]}}])


def test_cancel_steps_cancels_pending_steps_and_asks_running_ones_to_stop(backend):
    cluster = new_cluster(backend, steps=("first", "second", "third"))
    first, second, third = cluster.steps
    first.run()
    third.run()
    third.complete()
    infos = backend.cancel_steps(cluster.id, [first.id, second.id, third.id, "s-NOSUCH"],
                                 "TERMINATE_PROCESS")
    assert [i["Status"] for i in infos] == ["SUBMITTED", "SUBMITTED", "FAILED", "FAILED"]
    assert "is COMPLETED; only PENDING or RUNNING steps" in infos[2]["Reason"]
    assert "is not a step of this cluster" in infos[3]["Reason"]
    # the runner ends a CANCEL_PENDING step once its process is gone
    assert (first.state, first.cancellation_option) == ("CANCEL_PENDING", "TERMINATE_PROCESS")
    assert second.state == "CANCELLED"
    backend.cancel_steps(cluster.id, [first.id], "SEND_INTERRUPT")  # never softens a kill
    assert first.cancellation_option == "TERMINATE_PROCESS"


def test_unknown_clusters_and_steps_are_invalid_requests_not_key_errors(backend):
    cluster = new_cluster(backend)
    for call in (lambda: backend.list_steps("j-NOSUCHCLUSTER"),
                 lambda: backend.cancel_steps("j-NOSUCHCLUSTER", ["s-1"]),
                 lambda: backend.terminate_job_flows([cluster.id, "j-NOSUCHCLUSTER"])):
        with pytest.raises(InvalidRequestException, match="j-NOSUCHCLUSTER"):
            call()
    assert cluster.state == "STARTING"  # one unknown id: none of the clusters ends
    with pytest.raises(InvalidRequestException, match="Step id 's-NOSUCHSTEP'"):
        backend.describe_step(cluster.id, "s-NOSUCHSTEP")
