"""The EMR API in front of moto: a WSGI middleware that validates every EMR request as EMR
does, answers what moto lacks (CancelSteps, terminating with real clean-up), never lets
a request end in a 500, and tells the control plane what to run."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from harness.catalog import instance_types
from harness.emr import validation
from harness.emr.controlplane import ControlPlane
from harness.emr.jobflow import TERMINAL
from harness.emr.validation import EmrApiError, invalid_request

CLUSTER_ID_PARAMS = {
    "AddJobFlowSteps": "JobFlowId", "AddInstanceGroups": "JobFlowId",
    "DescribeCluster": "ClusterId", "DescribeStep": "ClusterId", "ListSteps": "ClusterId",
    "ListInstanceGroups": "ClusterId", "ListInstances": "ClusterId",
    "ListBootstrapActions": "ClusterId", "CancelSteps": "ClusterId",
    "ModifyCluster": "ClusterId", "AddTags": "ResourceId", "RemoveTags": "ResourceId",
}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/elasticmapreduce/")


def _patch_moto_status() -> None:
    """moto's status records have no failure details or reason codes; EMR's do."""
    from moto.emr import models

    if getattr(models.Step, "_harness_patched", False):
        return
    step_status, cluster_status = models.Step.status.fget, models.Cluster.status.fget

    def step(self):  # noqa: ANN001, ANN202
        data = step_status(self)
        if getattr(self, "failure_details", None):
            data["FailureDetails"] = self.failure_details
        return data

    def cluster(self):  # noqa: ANN001, ANN202
        data = cluster_status(self)
        code = getattr(self, "last_state_change_code", None)
        if code:
            data["StateChangeReason"]["Code"] = code
        return data

    models.Step.status = property(step)
    models.Cluster.status = property(cluster)
    models.Step._harness_patched = True


def _json_response(start_response: Callable, status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body, default=str).encode()
    reason = {200: "OK", 400: "Bad Request"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "application/x-amz-json-1.1"),
                                          ("Content-Length", str(len(payload)))])
    return [payload]


class EmrApi:
    """WSGI middleware: EMR requests are checked and routed; everything else passes."""

    def __init__(self, app: Callable, plane: ControlPlane) -> None:
        self.app = app
        self.plane = plane
        self._known_types = set(instance_types())
        _patch_moto_status()

    def _backend(self, region: str) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.emr.models import emr_backends

        return emr_backends[DEFAULT_ACCOUNT_ID][region]

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("ElasticMapReduce."):
            return self.app(environ, start_response)
        operation = target.split(".", 1)[1]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        region = match.group(1) if match else self.plane.endpoint.region
        try:
            try:
                params = json.loads(raw or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise EmrApiError("SerializationException",
                                  "The request body is not valid JSON") from None
            validation.check_shape(operation, params)
            backend = self._backend(region)
            self._check(operation, params, backend)
            if operation == "CancelSteps":
                jobflow = self.plane.get(params["ClusterId"])
                infos = jobflow.cancel(params["StepIds"]) if jobflow else [
                    {"StepId": s, "Status": "FAILED", "Reason": "Cluster is not running"}
                    for s in params["StepIds"]]
                return _json_response(start_response, 200, {"CancelStepsInfoList": infos})
            if operation == "TerminateJobFlows":
                for cluster_id in params["JobFlowIds"]:
                    jobflow = self.plane.get(cluster_id)
                    if jobflow is not None:
                        jobflow.request_termination()
                    elif backend.clusters[cluster_id].state not in TERMINAL:
                        backend.clusters[cluster_id].terminate()
                return _json_response(start_response, 200, {})
            status, headers, body = self._forward(environ, raw)
            if status >= 500:
                message = _moto_message(body) or "the request could not be processed"
                raise validation.validation(message)
            if status == 200:
                self._after(operation, params, json.loads(body or b"{}"), backend)
            start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers)
            return [body]
        except EmrApiError as exc:
            return _json_response(start_response, 400, exc.body())

    def _check(self, operation: str, params: dict[str, Any], backend: Any) -> None:
        key = CLUSTER_ID_PARAMS.get(operation)
        ids = [params[key]] if key and key in params else []
        if operation == "TerminateJobFlows":
            ids = params.get("JobFlowIds", [])
        for cluster_id in ids:
            if cluster_id not in backend.clusters:
                raise invalid_request(f"Cluster id '{cluster_id}' is not valid.")
        if operation == "DescribeStep":
            steps = {s.id for s in backend.clusters[params["ClusterId"]].steps}
            if params["StepId"] not in steps:
                raise invalid_request(f"Step id '{params['StepId']}' is not valid.")
        if operation == "RunJobFlow":
            validation.check_run_job_flow(params, self._known_types)
        if operation == "AddJobFlowSteps":
            cluster = backend.clusters[params["JobFlowId"]]
            jobflow = self.plane.get(cluster.id)
            state = jobflow.state if jobflow else cluster.state
            if state in TERMINAL or state == "TERMINATING":
                raise validation.validation("A job flow that is shutting down, terminated, or "
                                            "finished may not be modified.")
            validation.check_steps(params["Steps"], cluster.step_concurrency_level)
        if operation == "AddInstanceGroups":
            validation.check_instance_groups(params["InstanceGroups"], self._known_types,
                                             new_cluster=False)

    def _forward(self, environ: dict[str, Any], raw: bytes) -> tuple[int, list, bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = int(status.split()[0]), headers

        environ = {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
        try:
            body = b"".join(self.app(environ, capture))
        except Exception as exc:  # noqa: BLE001 - moto raised: EMR would have said why
            raise validation.validation(f"{type(exc).__name__}: {exc}") from None
        return captured["status"], captured["headers"], body

    def _after(self, operation: str, params: dict[str, Any], result: dict[str, Any],
               backend: Any) -> None:
        if operation == "RunJobFlow":
            self.plane.run_job_flow(backend.clusters[result["JobFlowId"]], params)
        elif operation == "AddJobFlowSteps":
            jobflow = self.plane.get(params["JobFlowId"])
            if jobflow is not None:
                jobflow.steps_added(result.get("StepIds", []))


def _moto_message(body: bytes) -> str:
    text = body.decode(errors="replace")
    try:
        data = json.loads(text)
        return str(data.get("message") or data.get("Message") or "")
    except json.JSONDecodeError:
        found = re.search(r"<Message>(.*?)</Message>", text)
        return found.group(1) if found else text[:200]
