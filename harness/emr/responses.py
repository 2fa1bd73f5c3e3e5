"""moto's EMR responses, changed only where the wire differs from what moto does: the region
comes from the request's signature, every request's JSON is checked against EMR's shapes
before moto parses it, RunJobFlow is validated in full before a record exists, CancelSteps
and the cluster controls moto lacks exist, an operation the rehearsal does not emulate says
so (harness.emr.refusals), and no request ends in a 500 unless the endpoint itself failed."""

from __future__ import annotations

import json
import logging
import re
from functools import cache
from typing import Any

from moto.backends import get_backend
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, EmptyResult, PaginatedResult
from moto.core.utils import camelcase_to_underscores, method_names_from_class
from moto.emr.responses import ElasticMapReduceResponse

import harness.emr.validation as validation
from harness.emr import configurations, controls
from harness.emr.exceptions import (
    EmrApiError,
    InternalServerError,
    InvalidSignatureException,
    SerializationException,
)
from harness.emr.models import RehearsalCluster, RehearsalEmrBackend
from harness.emr.refusals import refusal

log = logging.getLogger(__name__)
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
ENDPOINT_REGION = "harness.endpoint_region"  # the WSGI environ's: the endpoint's --region


class RehearsalEmrResponse(ElasticMapReduceResponse):
    """One method per EMR action: read the parameters, call the backend, serialise."""

    request_body: dict[str, Any]

    def get_region_from_url(self, request: Any, full_url: str) -> str:
        # moto's EMR reads the region from an amazonaws.com host name; behind 127.0.0.1 the
        # SigV4 credential scope says which region the client addresses, and an unsigned
        # request addresses the endpoint's own (harness.emr.server puts it in the environ)
        match = _SCOPE.search(request.headers.get("Authorization", ""))
        if match:
            return match.group(1)
        endpoint_region = getattr(request, "environ", {}).get(ENDPOINT_REGION)
        return endpoint_region or super().get_region_from_url(request, full_url)

    @property
    def backend(self) -> RehearsalEmrBackend:
        regions = get_backend("emr")[self.current_account]
        try:
            return regions[self.region]
        except KeyError:  # moto serves only the regions botocore knows for EMR
            raise InvalidSignatureException(
                f"Credential should be scoped to a valid region: '{self.region}' is not an "
                "EMR region; sign for one such as us-east-1 (AWS_REGION)") from None

    def parse_parameters(self, request: Any) -> None:
        """EMR's JSON body, checked against the operation's input shape, then moto's parse."""
        try:
            body = json.loads(request.data or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise SerializationException("The request body is not valid JSON") from None
        validation.check_shape(self._get_action(), body)
        self.request_body = body
        super().parse_parameters(request)

    @classmethod
    def emulates(cls, operation: str) -> bool:
        """Whether an EMR operation has a handler here (moto's, or the rehearsal's own)."""
        return camelcase_to_underscores(operation) in _handlers(cls)

    def call_action(self) -> Any:
        operation = self._get_action()
        if operation in validation.operation_names() and not self.emulates(operation):
            raise refusal(operation)  # not moto's NotImplementedError, nor a 400
        return super().call_action()

    def _dispatch(self, request: Any, full_url: str | None = None, headers: Any = None) -> Any:
        # moto serialises the errors an action raises; these come from parsing (before an
        # action runs) or are the endpoint's own faults, which AWS answers with a 500
        try:
            return super()._dispatch(request, full_url, headers)
        except EmrApiError as exc:
            return _error(exc)
        except Exception as exc:  # noqa: BLE001 - a fault here is ours, not the caller's
            log.exception("EMR request failed inside the endpoint")
            return _error(InternalServerError(f"{type(exc).__name__}: {exc}"))

    # -- actions that differ from moto's -------------------------------------------------

    def run_job_flow(self) -> ActionResult:
        self.backend.validate_job_flow(self.request_body)
        cluster: RehearsalCluster | None = None
        with self.backend.accepting() as accepted:
            try:
                super().run_job_flow()  # the answer is built from the record, below
                cluster = accepted.cluster
            except Exception as exc:
                cluster = accepted.cluster
                if cluster is None:
                    raise
                # moto failed after the record exists: that is the cluster's failure, as on
                # EMR, and a 500 here would make the client's retry create a second job flow
                code = "VALIDATION_ERROR" if isinstance(exc, ServiceException) \
                    else "INTERNAL_ERROR"
                cluster.terminate(code, f"The cluster could not be created: {exc}")
                return ActionResult({"JobFlowId": cluster.id, "ClusterArn": cluster.arn})
        assert cluster is not None
        answer = ActionResult({"JobFlowId": cluster.id, "ClusterArn": cluster.arn})
        try:
            self._complete_job_flow(cluster)
        except Exception as exc:  # noqa: BLE001 - after the record exists, as moto's above
            log.exception("RunJobFlow failed after %s was created", cluster.id)
            cluster.terminate("INTERNAL_ERROR", "The cluster could not be created: "
                              f"{type(exc).__name__}: {exc}")
            return answer
        self.backend.start_job_flow(cluster)  # its failures are the cluster's (models.py)
        return answer

    def _complete_job_flow(self, cluster: RehearsalCluster) -> None:
        """What moto's record lacks: the request's Configurations, auto-termination policy
        and instance fleets (all checked before the record existed, validate_job_flow)."""
        cluster.requested_configurations = list(self.request_body.get("Configurations") or [])
        requested = (self.request_body.get("Instances") or {}).get("InstanceGroups") or []
        cluster.group_configurations = {
            group.id: list(spec.get("Configurations") or [])
            for group, spec in zip(cluster.instance_groups, requested, strict=False)}
        policy = self.request_body.get("AutoTerminationPolicy")
        if policy is not None:  # moto drops it
            cluster.auto_termination_policy = controls.check_auto_termination_policy(
                policy, cluster.release_label)
        fleets = self.request_body.get("Instances", {}).get("InstanceFleets")
        if fleets:
            self.backend.add_instance_fleets(cluster, fleets)

    def add_instance_groups(self) -> ActionResult:
        requested = self.request_body.get("InstanceGroups", [])
        validation.check_instance_groups(requested, self.backend.instance_type_names,
                                         new_cluster=False)
        cluster_id = self._get_param("JobFlowId")
        label = self.backend.clusters[cluster_id].release_label
        for group in requested:
            configurations.check_configurations(group.get("Configurations") or [], label)
        self.backend.check_added_groups(cluster_id, requested)
        groups = self.backend.add_instance_groups(cluster_id,
                                                  self._get_param("InstanceGroups", []))
        cluster = self.backend.clusters[cluster_id]
        for group, spec in zip(groups, requested, strict=False):  # write_spark_conf's notes
            cluster.group_configurations[group.id] = list(spec.get("Configurations") or [])
        return ActionResult({"JobFlowId": cluster.id, "ClusterArn": cluster.arn,
                             "InstanceGroupIds": [g.id for g in groups]})

    def modify_instance_groups(self) -> ActionResult:
        self.backend.modify_instance_groups(self._get_param("InstanceGroups", []),
                                            self._get_param("ClusterId"))
        return EmptyResult()

    def list_instances(self) -> ActionResult:
        instances = self.backend.list_instances(
            self._get_param("ClusterId"), self._get_param("InstanceGroupId"),
            self._get_param("InstanceGroupTypes"), self._get_param("InstanceFleetId"),
            self._get_param("InstanceFleetType"), self._get_param("InstanceStates"))
        return PaginatedResult({"Instances": instances})

    def add_instance_fleet(self) -> ActionResult:
        cluster_id = self._get_param("ClusterId")
        fleet = self.backend.add_instance_fleet(cluster_id, self.request_body["InstanceFleet"])
        cluster = self.backend.clusters[cluster_id]
        return ActionResult({"ClusterId": cluster.id, "InstanceFleetId": fleet.id,
                             "ClusterArn": cluster.arn})

    def list_instance_fleets(self) -> ActionResult:
        fleets = self.backend.list_instance_fleets(self._get_param("ClusterId"))
        return PaginatedResult({"InstanceFleets": fleets})

    def modify_instance_fleet(self) -> ActionResult:
        self.backend.modify_instance_fleet(self._get_param("ClusterId"),
                                           self.request_body["InstanceFleet"])
        return EmptyResult()

    def cancel_steps(self) -> ActionResult:
        infos = self.backend.cancel_steps(
            self._get_param("ClusterId"), self._get_param("StepIds", []),
            self._get_param("StepCancellationOption") or "SEND_INTERRUPT")
        return ActionResult({"CancelStepsInfoList": infos})

    # -- cluster controls moto lacks (harness.emr.controls) ------------------------------

    def put_auto_termination_policy(self) -> ActionResult:
        self.backend.put_auto_termination_policy(
            self._get_param("ClusterId"), self.request_body.get("AutoTerminationPolicy", {}))
        return EmptyResult()

    def get_auto_termination_policy(self) -> ActionResult:
        policy = self.backend.get_auto_termination_policy(self._get_param("ClusterId"))
        return ActionResult({"AutoTerminationPolicy": policy} if policy else {})

    def remove_auto_termination_policy(self) -> ActionResult:
        self.backend.remove_auto_termination_policy(self._get_param("ClusterId"))
        return EmptyResult()

    def set_keep_job_flow_alive_when_no_steps(self) -> ActionResult:
        self.backend.set_keep_job_flow_alive_when_no_steps(
            self._get_param("JobFlowIds", []),
            bool(self.request_body.get("KeepJobFlowAliveWhenNoSteps")))
        return EmptyResult()

    def modify_cluster(self) -> ActionResult:
        cluster = self.backend.modify_cluster(self._get_param("ClusterId"),
                                              self.request_body.get("StepConcurrencyLevel"))
        return ActionResult({"StepConcurrencyLevel": cluster.step_concurrency_level})

    def set_unhealthy_node_replacement(self) -> ActionResult:
        self.backend.set_unhealthy_node_replacement(
            self._get_param("JobFlowIds", []),
            bool(self.request_body.get("UnhealthyNodeReplacement")))
        return EmptyResult()

    def list_security_configurations(self) -> ActionResult:
        return ActionResult({"SecurityConfigurations":
                             self.backend.list_security_configurations()})


@cache
def _handlers(cls: type) -> frozenset[str]:
    # inspect.getmembers over the class costs ~1 ms: once per class, not once per request
    return frozenset(method_names_from_class(cls))


def _error(exc: EmrApiError) -> tuple[int, dict[str, str], str]:
    body = json.dumps({"__type": exc.code, "message": exc.message})
    return exc.status, {"Content-Type": "application/x-amz-json-1.1",
                        "X-Amzn-ErrorType": exc.code}, body
