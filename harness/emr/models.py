"""The EMR service's state, extended the way moto invites: a backend derived from moto's
`ElasticMapReduceBackend` whose clusters and steps (moto's `Cluster` and `Step`, derived)
are the one record of every job flow.

State changes are named methods on the records (`start_cluster`, `run_bootstrap_actions`,
`running`, `waiting`, `terminating`, `terminate`; a step's `run`, `complete`, `fail`,
`cancel`, `interrupt`). The job-flow runner (jobflow.py) calls them as the local cluster
advances and reacts to the ones requests make (new steps, cancel_steps, termination); the
responses never decide anything. Each cluster's `lock` guards its record and `changed` wakes
its runner.

Cluster: STARTING -> BOOTSTRAPPING -> RUNNING <-> WAITING -> TERMINATING -> TERMINATED
(or TERMINATED_WITH_ERRORS). Steps: PENDING -> RUNNING -> COMPLETED | FAILED, or CANCELLED
(cancel_steps, a failure's ActionOnFailure, termination; a RUNNING step through
CANCEL_PENDING until its process is gone) and INTERRUPTED (terminated while running).
The cluster controls' rules (protection, auto-termination, concurrency) are
harness.emr.controls'.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from moto.core.utils import utcnow
from moto.emr.models import Cluster, ElasticMapReduceBackend, Step

import harness.emr.instances as emr_instances
import harness.emr.validation as validation
from harness.emr import controls
from harness.emr.exceptions import InvalidCluster, InvalidRequestException
from harness.emr.fleets import FleetClusterError, InstanceFleet, attach_fleets, check_fleet
from harness.emr.instances import RehearsalInstance, RehearsalInstanceGroup
from harness.emr.states import CLEAN_ENDS, TERMINAL

if TYPE_CHECKING:
    from harness.emr.controlplane import ControlPlane



class RehearsalStep(Step):
    """moto's step record plus what EMR reports and moto lacks: the reason of its last
    change and, for a failed step, FailureDetails (Reason, Message, LogFile)."""

    def __init__(self, state: str = "PENDING", **kwargs: Any) -> None:
        super().__init__(state, **kwargs)
        self.last_state_change_reason: str | None = None
        self.failure_details: dict[str, str] | None = None
        self.cancellation_option: str | None = None  # set by cancel_steps on a RUNNING step

    @property
    def status(self) -> dict[str, Any]:
        data = super().status
        if self.failure_details:
            data["FailureDetails"] = self.failure_details
        return data

    def start(self) -> None:
        """moto starts a cluster's first step as the cluster is created; a rehearsed step
        starts when the runner runs it (`run`)."""

    def run(self) -> None:
        self.state, self.start_date_time = "RUNNING", utcnow()

    def complete(self) -> None:
        self._end("COMPLETED", "Completed")

    def fail(self, reason: str, message: str, log_file: str = "") -> None:
        self.failure_details = {"Reason": reason, "Message": message, "LogFile": log_file}
        self._end("FAILED", message)

    def cancel(self, message: str) -> None:
        self._end("CANCELLED", message)

    def cancel_pending(self, option: str) -> None:
        """CANCEL_PENDING: the runner signals the step's process (`option`) and ends the
        step CANCELLED once it is gone."""
        if self.state == "CANCEL_PENDING" and self.cancellation_option == "TERMINATE_PROCESS":
            return  # a kill already requested is not softened by a later interrupt
        self.state, self.cancellation_option = "CANCEL_PENDING", option
        self.last_state_change_reason = f"Cancellation requested ({option})"

    @property
    def active(self) -> bool:
        """Its process may still run: RUNNING, or cancelled and not yet gone."""
        return self.state in {"RUNNING", "CANCEL_PENDING"}

    def interrupt(self, message: str) -> None:
        self._end("INTERRUPTED", message)

    def _end(self, state: str, message: str) -> None:
        self.state, self.end_date_time = state, utcnow()
        self.last_state_change_reason = message


class RehearsalCluster(Cluster):
    """moto's cluster record, advanced by the runner as the local cluster does instead of
    all at once, with EMR's StateChangeReason code."""

    @property
    def master_instance_id(self) -> str | None:
        """DescribeJobFlows' MasterInstanceId: the master's EC2 instance id."""
        master = self._master_instance()
        return master.ec2_instance_id if master is not None else None

    def _master_instance(self) -> Any:
        return next((i for i in self.ec2_instances if i.instance_group.role == "MASTER"), None)

    def __init__(self, emr_backend: ElasticMapReduceBackend, **kwargs: Any) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.last_state_change_code: str | None = None
        self.instance_fleets: list[InstanceFleet] = []  # harness.emr.fleets
        # moto's constructor plays a whole life at once (start_cluster, run_bootstrap_actions,
        # maybe terminate); a rehearsal's cluster stays STARTING until its nodes are up
        self._constructing = True
        # the request's Configurations as given (moto keeps them with keys case-folded)
        # and each instance group's own, by group id (moto keeps none)
        self.requested_configurations: list[dict[str, Any]] = []
        self.group_configurations: dict[str, list[dict[str, Any]]] = {}
        super().__init__(emr_backend, **kwargs)
        self._constructing = False
        self.last_state_change_reason = "Provisioning local nodes"
        self.auto_termination_policy: dict[str, int] | None = None
        self.unhealthy_node_replacement: bool | None = None

    @property
    def master_public_dns_name(self) -> str | None:
        """The master's name as tools use it (ssh, UI URLs): this machine, where every
        local node listens; none until the nodes are up, as on EMR."""
        return None if self.state == "STARTING" else "localhost"

    @property
    def status(self) -> dict[str, Any]:
        data = super().status
        if self.last_state_change_code:
            data["StateChangeReason"]["Code"] = self.last_state_change_code
        return data

    @property
    def instance_collection_type(self) -> str:
        """What DescribeCluster says: INSTANCE_FLEET for a fleet cluster."""
        return "INSTANCE_FLEET" if self.instance_fleets else "INSTANCE_GROUP"

    @property
    def master_instance_type(self) -> str | None:  # type: ignore[override]
        master = self._master_instance()
        return master.instance_type if master is not None else None

    @property
    def slave_instance_type(self) -> str | None:  # type: ignore[override]
        core = next((i for i in self.ec2_instances if i.instance_group.role == "CORE"), None)
        return core.instance_type if core is not None else None

    # -- what requests change ----------------------------------------------------------

    def add_steps(self, steps: list[dict[str, Any]]) -> list[Step]:
        """Steps join PENDING; the runner starts them (moto runs the first at once)."""
        with self.lock:
            added = [RehearsalStep(**step) for step in steps]
            self.steps.extend(added)
            self.changed.notify_all()
        return added

    def cancel_steps(self, step_ids: list[str],
                     option: str = "SEND_INTERRUPT") -> list[dict[str, str]]:
        """cancel_steps, as EMR 5.28+ answers it (SUBMITTED or FAILED per step): PENDING
        steps are CANCELLED at once, RUNNING ones go CANCEL_PENDING until the runner has
        stopped their process (`option`: SEND_INTERRUPT or TERMINATE_PROCESS)."""
        by_id = {s.id: s for s in self.steps}
        running_ok = controls.cancels_running_steps(self.release_label)
        infos = []
        with self.lock:
            for step_id in step_ids:
                step = by_id.get(step_id)
                if step is not None and step.state == "PENDING":
                    step.cancel("Cancelled by cancel_steps")
                elif step is not None and step.active and running_ok:
                    step.cancel_pending(option)
                else:
                    what = "is not a step of this cluster" if step is None else \
                        f"is {step.state}"
                    which = "PENDING or RUNNING" if running_ok else "PENDING"
                    infos.append({"StepId": step_id, "Status": "FAILED",
                                  "Reason": f"Step {step_id} {what}; only {which} steps can "
                                            "be cancelled"})
                    continue
                infos.append({"StepId": step_id, "Status": "SUBMITTED", "Reason": ""})
            self.changed.notify_all()
        return infos

    def check_modifiable(self) -> None:
        """EMR refuses new work for a cluster that is shutting down or gone."""
        if self.state in TERMINAL or self.state == "TERMINATING":
            raise validation.validation("A job flow that is shutting down, terminated, or "
                                        "finished may not be modified.")

    # -- what the runner changes -------------------------------------------------------

    def provisioning(self, message: str) -> None:
        """Still STARTING: say what the nodes wait for."""
        with self.lock:
            self.last_state_change_reason = message

    def run_bootstrap_actions(self) -> None:
        """BOOTSTRAPPING: the nodes are up and run the bootstrap actions."""
        if not self._constructing:
            self._change("BOOTSTRAPPING", None, "Running bootstrap actions")

    def running(self) -> None:
        self._change("RUNNING", None, "Running step")

    def waiting(self) -> None:
        self._change("WAITING", None, "Cluster ready after last step completed.")

    def terminating(self, code: str, message: str) -> bool:
        """TERMINATING: PENDING steps are cancelled, RUNNING ones interrupted (their processes
        are the runner's to stop). False when the cluster already ends."""
        with self.lock:
            if self.state in TERMINAL or self.state == "TERMINATING":
                return False
            self._end_steps()
            self._change("TERMINATING", code, message)
            return True

    def terminate(self, code: str = "USER_REQUEST",
                  message: str = "Terminated by user request") -> None:
        """TERMINATED, or TERMINATED_WITH_ERRORS for a code EMR reports as an error
        (STEP_FAILURE, BOOTSTRAP_FAILURE, INTERNAL_ERROR, VALIDATION_ERROR)."""
        with self.lock:
            if self.state in TERMINAL:
                return
            self._end_steps()
            self.end_datetime = utcnow()
            self._change("TERMINATED" if code in CLEAN_ENDS else "TERMINATED_WITH_ERRORS",
                         code, message)

    def attach_nodes(self, nodes: list[Any]) -> dict[str, list[str]]:
        """The local nodes are up: each instance learns which node rehearses it. Returns
        node name -> the EC2 instance ids it stands for."""
        with self.lock:
            groups = [g for g in self.instance_groups if isinstance(g, RehearsalInstanceGroup)]
            return {**emr_instances.attach(groups, nodes),
                    **attach_fleets(self.instance_fleets, nodes)}

    def steps_in(self, state: str) -> list[RehearsalStep]:
        return [s for s in self.steps if s.state == state]

    def _end_steps(self) -> None:
        for step in self.steps_in("PENDING") + self.steps_in("CANCEL_PENDING"):
            step.cancel("Cancelled: cluster terminated")
        for step in self.steps_in("RUNNING"):
            step.interrupt("Interrupted: cluster terminated")

    def _change(self, state: str, code: str | None, message: str | None) -> None:
        with self.lock:
            ending = state == "TERMINATING" or state in TERMINAL
            if self.state in TERMINAL or (self.state == "TERMINATING" and not ending):
                return  # once shutting down, a cluster only ends (and ends once)
            self.state = state
            self.last_state_change_code, self.last_state_change_reason = code, message
            for group in [*self.instance_groups, *self.instance_fleets]:
                if isinstance(group, (RehearsalInstanceGroup, InstanceFleet)):
                    group.follow(state)
            if state in {"RUNNING", "WAITING"} and self.ready_datetime is None:
                self.ready_datetime = utcnow()
            self.changed.notify_all()


class _Clusters(dict):
    """moto's backend looks clusters up as `self.clusters[id]`; an unknown id is EMR's
    InvalidRequestException, never a KeyError (a 500)."""

    def __missing__(self, cluster_id: str) -> RehearsalCluster:
        raise InvalidCluster(cluster_id)


class RehearsalEmrBackend(ElasticMapReduceBackend):
    """moto's EMR backend whose job flows really run: each cluster it creates is handed to
    the server's job-flow runner (`runner`, bound by `bound_to` at server composition)."""

    runner: ControlPlane | None = None

    @classmethod
    def bound_to(cls, runner: ControlPlane) -> type[RehearsalEmrBackend]:
        """This backend class with the server's runner: what the server's BackendDict holds."""
        return type(cls.__name__, (cls,), {"runner": runner, "__module__": cls.__module__})

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.clusters: dict[str, RehearsalCluster] = _Clusters()
        self._accepting = threading.local()

    def reset(self) -> None:
        """moto's reset (test isolation): this backend's job flows stop first."""
        if self.runner is not None:
            self.runner.terminate_all(list(self.clusters))
        super().reset()

    # -- RunJobFlow ----------------------------------------------------------------------

    def validate_job_flow(self, request: dict[str, Any]) -> None:
        """Everything that can refuse a RunJobFlow request, checked before any record
        exists: EMR's rules, then whether this machine can ever hold the job flow."""
        validation.check_run_job_flow(request, self.instance_type_names)
        if request.get("AutoTerminationPolicy") is not None:
            controls.check_auto_termination_policy(request["AutoTerminationPolicy"],
                                                   request.get("ReleaseLabel"))
        if self.runner is not None:
            self.runner.check_job_flow(request)

    @cached_property
    def instance_type_names(self) -> set[str]:
        from harness.catalog import instance_types

        return set(instance_types())

    @contextmanager
    def accepting(self) -> Iterator[threading.local]:
        """Within: `.cluster` is the cluster this request thread's run_job_flow created
        (None until moto created it), so a failure after it is the cluster's own."""
        self._accepting.cluster = None
        try:
            yield self._accepting
        finally:
            self._accepting.cluster = None

    def run_job_flow(self, **kwargs: Any) -> RehearsalCluster:
        # moto's run_job_flow, with the rehearsal's cluster record
        attrs = kwargs["instance_attrs"]
        (attrs["emr_managed_master_security_group"], attrs["emr_managed_slave_security_group"],
         attrs["service_access_security_group"]) = self._manage_security_groups(**attrs)
        cluster = RehearsalCluster(self, **kwargs)
        self._accepting.cluster = cluster
        return cluster

    def start_job_flow(self, cluster: RehearsalCluster) -> None:
        """Hand an accepted cluster to the runner; a failure here is the cluster's own
        (TERMINATED_WITH_ERRORS, INTERNAL_ERROR), as on EMR, never the request's."""
        try:
            if self.runner is None:
                raise RuntimeError("no job-flow runner serves this endpoint")
            self.runner.run_job_flow(cluster)
        except Exception as exc:  # noqa: BLE001 - the request was accepted: the cluster fails
            cluster.terminate("INTERNAL_ERROR", f"The cluster could not start: {exc}")

    # -- the other requests --------------------------------------------------------------

    def add_job_flow_steps(self, job_flow_id: str, steps: list[dict[str, Any]]) -> list[Step]:
        cluster = self.clusters[job_flow_id]
        with cluster.lock:
            cluster.check_modifiable()
            validation.check_steps(steps, cluster.step_concurrency_level)
            return cluster.add_steps(steps)

    # -- instance groups and fleets (harness.emr.fleets, harness.emr.capacity) -----------------

    def add_instance_groups(self, cluster_id: str,
                            instance_groups: list[dict[str, Any]]) -> list[Any]:
        """Groups of a new cluster, each launching its instances; groups added to a running
        cluster start their nodes (a resize, harness.emr.capacity)."""
        cluster = self.clusters[cluster_id]
        if cluster.instance_fleets:
            raise FleetClusterError("AddInstanceGroups")
        resizing = self.runner is not None and self.runner.resizable(cluster.id)
        with cluster.lock:
            if resizing:
                cluster.check_modifiable()
            added = []
            for spec in instance_groups:
                # moto's InstanceGroup takes no Configurations: the responses keep them
                spec.pop("configurations", None)
                group = RehearsalInstanceGroup(cluster_id=cluster.id, **spec)
                group.held = resizing  # its state is the resize's until it is done
                self.instance_groups[group.id] = group
                cluster.add_instance_group(group)
                for instance in emr_instances.launch(self, group):
                    instance.held = resizing
                    cluster.add_instance(instance)
                added.append(group)
        self._resized(cluster)
        return added

    def check_added_groups(self, cluster_id: str, requested: list[dict[str, Any]]) -> None:
        """What the AddInstanceGroups action refuses (RunJobFlow's own groups come through
        add_instance_groups too): a cluster shutting down or gone, a MASTER group, a second
        CORE group."""
        cluster = self.clusters[cluster_id]
        if cluster.instance_fleets:  # EMR's answer to the call of the other kind comes first
            raise FleetClusterError("AddInstanceGroups")
        cluster.check_modifiable()
        roles = [str(spec.get("InstanceRole")) for spec in requested]
        # EMR's exact text for these two refusals is not published: searched the EMR API
        # reference (AddInstanceGroups: no errors beyond the common ones), botocore's
        # service model and docs, moto's emr (no such check), aws-cli's emr customisations
        # and issues, terraform-provider-aws issues (#7931, #22116: the only EMR texts quoted
        # are other ValidationExceptions) and the fidelity review of 2026-12-01. The code,
        # ValidationException, is EMR's for a request it refuses on a cluster's shape (as
        # "An instance group must have at least one instance."); the words are ours.
        if "MASTER" in roles:
            raise validation.validation("A MASTER instance group cannot be added to an "
                                        "existing cluster; its master group is set when it "
                                        "is created (add TASK instance groups)")
        cores = [g for g in cluster.instance_groups if g.role == "CORE"]
        if roles.count("CORE") > 1 or (cores and "CORE" in roles):
            held = f" ({cores[0].id})" if cores else ""
            raise validation.validation(f"The cluster already has a CORE instance group{held}: "
                                        "a cluster has at most one (resize it with "
                                        "ModifyInstanceGroups, or add TASK instance groups)")

    def run_instances(self, cluster_id: str, instances: dict[str, Any],
                      instance_group: Any) -> None:
        """moto launches a group's instances after adding it; here the group did."""

    def list_instance_groups(self, cluster_id: str) -> list[Any]:
        if self.clusters[cluster_id].instance_fleets:
            raise FleetClusterError("ListInstanceGroups")
        return super().list_instance_groups(cluster_id)

    def modify_instance_groups(self, instance_groups: list[dict[str, Any]],
                               cluster_id: str | None = None) -> None:
        """New InstanceCounts: the groups show RESIZING while their nodes start or stop."""
        changes = []
        for change in instance_groups:
            group = self.instance_groups.get(change.get("instance_group_id", ""))
            if group is None or (cluster_id and group.cluster_id != cluster_id):
                raise validation.validation(f"Instance group id '{change.get('instance_group_id')}'"
                                            " is not valid.")
            changes.append((group, change))
        clusters = {g.cluster_id for g, _ in changes}
        if cluster_id and self.clusters[cluster_id].instance_fleets:
            raise FleetClusterError("ModifyInstanceGroups")
        for group, change in changes:
            cluster = self.clusters[group.cluster_id]
            with cluster.lock:
                cluster.check_modifiable()
                if change.get("instance_count") is not None:
                    count = int(change["instance_count"])
                    if group.role == "MASTER" and count != group.num_instances:
                        raise validation.validation("The master instance group cannot be "
                                                    "resized")
                    if group.role == "CORE" and count < 1:
                        raise validation.validation("The core instance group needs at "
                                                    "least 1 instance")
                    group.set_instance_count(count)
                    group.held, group.state = True, "RESIZING"
                    group.state_change_reason = f"Resizing to {count} instance(s)"
        for cid in clusters:
            self._resized(self.clusters[cid])

    def add_instance_fleets(self, cluster: RehearsalCluster,
                            fleets: list[dict[str, Any]]) -> list[InstanceFleet]:
        """A RunJobFlow's InstanceFleets (or AddInstanceFleet's one) as fleet records."""
        resizing = self.runner is not None and self.runner.resizable(cluster.id)
        added = [InstanceFleet(cluster.id, spec, self.region_name) for spec in fleets]
        with cluster.lock:
            cluster.instance_fleets.extend(added)
            for fleet in added:
                fleet.held = resizing
                for instance in fleet.launch(self):
                    instance.held = resizing
                    cluster.add_instance(instance)
        self._resized(cluster)
        return added

    def add_instance_fleet(self, cluster_id: str, fleet: dict[str, Any]) -> InstanceFleet:
        cluster = self.clusters[cluster_id]
        if not cluster.instance_fleets:
            raise FleetClusterError("AddInstanceFleet", fleets=False)
        cluster.check_modifiable()
        if fleet.get("InstanceFleetType") != "TASK" or any(
                f.role == "TASK" for f in cluster.instance_fleets):
            raise validation.validation("Only a TASK instance fleet can be added, and only "
                                        "when the cluster has none")
        check_fleet(fleet, self.instance_type_names)
        return self.add_instance_fleets(cluster, [fleet])[0]

    def list_instance_fleets(self, cluster_id: str) -> list[InstanceFleet]:
        cluster = self.clusters[cluster_id]
        if not cluster.instance_fleets:
            raise FleetClusterError("ListInstanceFleets", fleets=False)
        return list(cluster.instance_fleets)

    def modify_instance_fleet(self, cluster_id: str, change: dict[str, Any]) -> None:
        """New target capacities: the fleet shows RESIZING while its nodes start or stop."""
        cluster = self.clusters[cluster_id]
        if not cluster.instance_fleets:
            raise FleetClusterError("ModifyInstanceFleet", fleets=False)
        fleet = next((f for f in cluster.instance_fleets
                      if f.id == change.get("InstanceFleetId")), None)
        if fleet is None:
            raise validation.validation(f"Instance fleet id '{change.get('InstanceFleetId')}' "
                                        "is not valid.")
        with cluster.lock:
            cluster.check_modifiable()
            on_demand, spot = change.get("TargetOnDemandCapacity"), \
                change.get("TargetSpotCapacity")
            if fleet.role == "MASTER":
                raise validation.validation("The master instance fleet cannot be resized")
            if change.get("InstanceTypeConfigs"):
                check_fleet({**fleet.spec, "InstanceTypeConfigs": change["InstanceTypeConfigs"]},
                            self.instance_type_names)
            if fleet.role == "CORE" and (on_demand if on_demand is not None
                                         else fleet.target_on_demand_capacity) + \
                    (spot if spot is not None else fleet.target_spot_capacity) < 1:
                raise validation.validation("The core instance fleet needs a target capacity "
                                            "of at least 1")
            fleet.resize(on_demand, spot, change.get("InstanceTypeConfigs"),
                         change.get("ResizeSpecifications"))
        self._resized(cluster)

    def _resized(self, cluster: RehearsalCluster) -> None:
        """A running cluster's groups or fleets changed: its runner reconciles its nodes."""
        if self.runner is not None and self.runner.drives(cluster.id):
            self.runner.resize(cluster.id)

    def list_instances(self, cluster_id: str, instance_group_id: str | None = None,
                       instance_group_types: list[str] | None = None,
                       instance_fleet_id: str | None = None,
                       instance_fleet_type: str | None = None,
                       instance_states: list[str] | None = None) -> list[Any]:
        found = [i for i in super().list_instances(cluster_id, instance_group_id, None)
                 if isinstance(i, RehearsalInstance)]
        if instance_group_types:
            found = [i for i in found if i.instance_group.role in instance_group_types]
        if instance_fleet_id:
            found = [i for i in found if i.instance_fleet_id == instance_fleet_id]
        if instance_fleet_type:
            found = [i for i in found if i.instance_group.role == instance_fleet_type]
        if instance_states:
            found = [i for i in found if i.state in instance_states]
        return found

    def describe_step(self, cluster_id: str, step_id: str) -> Step:
        step = super().describe_step(cluster_id, step_id)
        if step is None:
            raise InvalidRequestException(f"Step id '{step_id}' is not valid.")
        return step

    def cancel_steps(self, cluster_id: str, step_ids: list[str],
                     option: str = "SEND_INTERRUPT") -> list[dict[str, str]]:
        return self.clusters[cluster_id].cancel_steps(step_ids, option)

    def terminate_job_flows(self, job_flow_ids: list[str]) -> list[Cluster]:
        """TERMINATING now; the runner stops the nodes and ends the cluster TERMINATED.
        A cluster no runner drives (it never started) ends at once."""
        clusters = [self.clusters[i] for i in job_flow_ids]  # every id valid, or none ends
        protected = [c for c in clusters if c.termination_protected]
        if protected:
            raise validation.validation(controls.PROTECTED)
        for cluster in clusters:
            driven = self.runner is not None and self.runner.drives(cluster.id)
            if cluster.terminating("USER_REQUEST", "Terminated by user request") \
                    and not driven:
                cluster.terminate()
        return clusters

    # -- cluster controls (rules in harness.emr.controls) ---------------------------------

    def put_auto_termination_policy(self, cluster_id: str, policy: Any) -> None:
        cluster = self.clusters[cluster_id]
        with cluster.lock:
            cluster.check_modifiable()
            cluster.auto_termination_policy = controls.check_auto_termination_policy(
                policy, cluster.release_label)
            cluster.changed.notify_all()

    def get_auto_termination_policy(self, cluster_id: str) -> dict[str, int] | None:
        return self.clusters[cluster_id].auto_termination_policy

    def remove_auto_termination_policy(self, cluster_id: str) -> None:
        cluster = self.clusters[cluster_id]
        with cluster.lock:
            cluster.auto_termination_policy = None
            cluster.changed.notify_all()

    def set_keep_job_flow_alive_when_no_steps(self, job_flow_ids: list[str],
                                              keep_alive: bool) -> None:
        clusters = [self.clusters[i] for i in job_flow_ids]  # every id valid, or none changes
        for cluster in clusters:
            with cluster.lock:
                cluster.check_modifiable()
        for cluster in clusters:
            with cluster.lock:
                cluster.keep_job_flow_alive_when_no_steps = keep_alive
                cluster.changed.notify_all()

    def modify_cluster(self, cluster_id: str, step_concurrency_level: Any) -> Cluster:
        cluster = self.clusters[cluster_id]
        with cluster.lock:
            if step_concurrency_level is not None:
                cluster.check_modifiable()
                cluster.step_concurrency_level = controls.check_step_concurrency_level(
                    step_concurrency_level)
                cluster.changed.notify_all()
        return cluster

    def set_unhealthy_node_replacement(self, job_flow_ids: list[str], value: bool) -> None:
        for cluster in [self.clusters[i] for i in job_flow_ids]:
            cluster.unhealthy_node_replacement = value

    def list_security_configurations(self) -> list[dict[str, Any]]:
        return [{"Name": name, "CreationDateTime": config.creation_date_time}
                for name, config in self.security_configurations.items()]
