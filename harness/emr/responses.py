"""moto's EMR responses, changed only where the wire differs from what moto does: the region
comes from the request's signature, every request's JSON is checked against EMR's shapes
before moto parses it, RunJobFlow is validated in full before a record exists, CancelSteps
exists, and no request ends in a 500 unless the endpoint itself failed."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from moto.backends import get_backend
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, EmptyResult, PaginatedResult
from moto.emr.responses import ElasticMapReduceResponse

import harness.emr.validation as validation
from harness.emr.exceptions import (
    EmrApiError,
    InternalServerError,
    InvalidSignatureException,
    SerializationException,
)
from harness.emr.models import RehearsalCluster, RehearsalEmrBackend

log = logging.getLogger(__name__)
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")


class RehearsalEmrResponse(ElasticMapReduceResponse):
    """One method per EMR action: read the parameters, call the backend, serialise."""

    request_body: dict[str, Any]

    def get_region_from_url(self, request: Any, full_url: str) -> str:
        # moto's EMR reads the region from an amazonaws.com host name; behind 127.0.0.1 the
        # SigV4 credential scope says which region the client addresses
        match = _SCOPE.search(request.headers.get("Authorization", ""))
        return match.group(1) if match else super().get_region_from_url(request, full_url)

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
                result = super().run_job_flow()
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
        fleets = self.request_body.get("Instances", {}).get("InstanceFleets")
        if fleets:
            self.backend.add_instance_fleets(cluster, fleets)
        self.backend.start_job_flow(cluster)
        return result

    def add_instance_groups(self) -> ActionResult:
        validation.check_instance_groups(self.request_body.get("InstanceGroups", []),
                                         self.backend.instance_type_names, new_cluster=False)
        cluster_id = self._get_param("JobFlowId")
        groups = self.backend.add_instance_groups(cluster_id,
                                                  self._get_param("InstanceGroups", []))
        cluster = self.backend.clusters[cluster_id]
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
        infos = self.backend.cancel_steps(self._get_param("ClusterId"),
                                          self._get_param("StepIds", []))
        return ActionResult({"CancelStepsInfoList": infos})


def _error(exc: EmrApiError) -> tuple[int, dict[str, str], str]:
    body = json.dumps({"__type": exc.code, "message": exc.message})
    return exc.status, {"Content-Type": "application/x-amz-json-1.1",
                        "X-Amzn-ErrorType": exc.code}, body
