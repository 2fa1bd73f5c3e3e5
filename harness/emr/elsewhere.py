"""EMR's other deployment options on the endpoint, EMR Serverless and EMR on EKS
(emr-containers): moto's backends and responses, derived so that a job run is refused
(HTTP 501 `NotImplemented`, naming the operation) instead of reported SUCCESS or RUNNING
with nothing executed. Applications and virtual clusters stay moto's records."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from moto.backends import get_backend
from moto.core.exceptions import JsonRESTError
from moto.emrcontainers import urls as containers_urls
from moto.emrcontainers.models import EMRContainersBackend
from moto.emrcontainers.responses import EMRContainersResponse
from moto.emrserverless import urls as serverless_urls
from moto.emrserverless.models import EMRServerlessBackend
from moto.emrserverless.responses import EMRServerlessResponse


class JobRunNotRehearsed(JsonRESTError):
    """The refusal, in the REST-JSON protocol these services speak."""

    code = 501

    def __init__(self, service: str, operation: str, instead: str) -> None:
        super().__init__("NotImplemented", (
            f"{service} operation {operation} is not emulated by the local endpoint "
            f"(emr-rehearsal): no job would run. {instead}"))


_INSTEAD = ("Rehearse the same entryPoint and sparkSubmitParameters as an EMR step "
            "(command-runner.jar spark-submit) on a job flow of the same release")


def _routes(urls: Any, dispatch: Any) -> SimpleNamespace:
    """moto's URL patterns for a service, routed to `dispatch`."""
    return SimpleNamespace(url_bases=urls.url_bases,
                           url_paths=dict.fromkeys(urls.url_paths, dispatch))


class RefusingServerlessResponse(EMRServerlessResponse):
    @property
    def emrserverless_backend(self) -> EMRServerlessBackend:
        return get_backend("emr-serverless")[self.current_account][self.region]


class RefusingServerlessBackend(EMRServerlessBackend):
    """moto's EMR Serverless records, minus job runs that never run."""

    _url_module = _routes(serverless_urls, RefusingServerlessResponse.dispatch)

    def start_job_run(self, **kwargs: Any) -> Any:
        raise JobRunNotRehearsed("EMR Serverless", "StartJobRun", _INSTEAD)


class RefusingContainersResponse(EMRContainersResponse):
    @property
    def emrcontainers_backend(self) -> EMRContainersBackend:
        return get_backend("emr-containers")[self.current_account][self.region]


class RefusingContainersBackend(EMRContainersBackend):
    """moto's EMR on EKS records, minus job runs that would stay RUNNING for ever."""

    _url_module = _routes(containers_urls, RefusingContainersResponse.dispatch)

    def start_job_run(self, **kwargs: Any) -> Any:
        raise JobRunNotRehearsed("EMR on EKS (emr-containers)", "StartJobRun", _INSTEAD)
