"""The errors the EMR API returns, as moto's service exceptions: raised in the backend or
the responses, moto serialises them with EMR's error code (`__type`) and HTTP 400.

They carry the codes of moto.emr.exceptions but derive from moto.core's ServiceException
alone: importing moto.emr loads moto's whole EMR backend, which validating a job-flow file
(`harness rehearse`) does not need."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class EmrApiError(ServiceException):
    """An error EMR's API itself would return: `code` is its __type, `message` says why."""

    status = 400


class ValidationException(EmrApiError):
    """The request breaks one of EMR's rules (shape, instance groups, steps, state)."""

    code = "ValidationException"


class InvalidRequestException(EmrApiError):
    """The request names a cluster or step that does not exist."""

    code = "InvalidRequestException"


class InvalidCluster(InvalidRequestException):
    """No cluster with this id (EMR's ErrorCode NoSuchCluster)."""

    error_code = "NoSuchCluster"

    def __init__(self, cluster_id: str) -> None:
        super().__init__(f"Cluster id '{cluster_id}' is not valid.")


class SerializationException(EmrApiError):
    """The request body is not the JSON the EMR protocol needs."""

    code = "SerializationException"


class UnknownOperationException(EmrApiError):
    """X-Amz-Target names an operation EMR does not have."""

    code = "UnknownOperationException"


class InvalidSignatureException(EmrApiError):
    """The request is signed for a region the endpoint does not serve."""

    code = "InvalidSignatureException"


class InternalServerError(EmrApiError):
    """A fault of the endpoint itself, not of the request (HTTP 500: SDKs retry it)."""

    code = "InternalServerError"
    status = 500


class NotEmulated(EmrApiError):
    """An operation the local endpoint does not rehearse. AWS's own code for functionality a
    service does not implement is S3's `NotImplemented` (HTTP 501); SDKs do not retry a
    501, and the message names the operation and what to do instead."""

    code = "NotImplemented"
    status = 501

    def __init__(self, operation: str, why: str, service: str = "EMR") -> None:
        super().__init__(f"{service} operation {operation} is not emulated by the local "
                         f"endpoint (emr-rehearsal): {why}")
