"""What the local endpoint does not rehearse, said plainly instead of pretended.

- An EMR operation the backend does not emulate answers `NotImplemented` (HTTP 501, see
  harness.emr.exceptions.NotEmulated) naming the operation and why, never a
  ValidationException that blames the request or a 200 for work that never happens.
- `emr-serverless` and `emr-containers` (EMR on EKS) job runs are refused the same way:
  moto would record them and report SUCCESS (serverless) or RUNNING for ever (EKS) with
  nothing executed. Their other calls (applications, virtual clusters) stay moto's records.
- Applications EMR installs but the local cluster does not run (Hive, HBase, Presto...) are
  accepted as EMR accepts them; `application_notes` says which are not there, for the
  cluster's status, `harness status` and the `harness rehearse` summary.
"""

from __future__ import annotations

from typing import Any

from harness.emr.exceptions import NotEmulated

# Families of operations the rehearsal has no local equivalent for, and what to do instead.
_STUDIO = ("EMR Studio and its session mappings are not rehearsed; develop notebooks against "
           "a real EMR Studio, and rehearse their jobs as steps")
_NOTEBOOKS = ("notebook executions need EMR Studio, which is not rehearsed; run the "
              "notebook's code as a step (command-runner.jar spark-submit)")
_APP_UI = ("EMR's persistent and on-cluster application UIs are not served; each job flow's "
           "Spark History Server URL is in `harness status` and in every step's controller "
           "log")
_SESSIONS = ("interactive sessions and their credentials are not rehearsed; submit the work "
             "as a step")
_MANAGED_SCALING = ("managed scaling is not rehearsed: the local cluster changes size only "
                    "when its instance groups or fleets are modified (ModifyInstanceGroups, "
                    "ModifyInstanceFleet)")
REASONS: dict[str, str] = {
    **dict.fromkeys(("CreateStudio", "DeleteStudio", "DescribeStudio", "ListStudios",
                     "UpdateStudio", "CreateStudioSessionMapping",
                     "DeleteStudioSessionMapping", "GetStudioSessionMapping",
                     "ListStudioSessionMappings", "UpdateStudioSessionMapping"), _STUDIO),
    **dict.fromkeys(("StartNotebookExecution", "StopNotebookExecution",
                     "DescribeNotebookExecution", "ListNotebookExecutions"), _NOTEBOOKS),
    **dict.fromkeys(("CreatePersistentAppUI", "DescribePersistentAppUI",
                     "GetPersistentAppUIPresignedURL", "GetOnClusterAppUIPresignedURL"),
                    _APP_UI),
    **dict.fromkeys(("GetSession", "GetSessionEndpoint", "ListSessions", "StartSession",
                     "TerminateSession", "GetClusterSessionCredentials"), _SESSIONS),
    **dict.fromkeys(("GetManagedScalingPolicy", "PutManagedScalingPolicy",
                     "RemoveManagedScalingPolicy"), _MANAGED_SCALING),
    "DescribeReleaseLabel": ("release labels' application versions are not served; "
                             "ListReleaseLabels works, and `harness runtimes list` says what "
                             "each label runs locally"),
}
DEFAULT_REASON = "the local rehearsal has no equivalent; call it against real EMR"


def refusal(operation: str) -> NotEmulated:
    """The explicit answer to an EMR operation the endpoint does not emulate."""
    return NotEmulated(operation, REASONS.get(operation, DEFAULT_REASON))


# -- applications ------------------------------------------------------------------------

# What a job flow's Applications really get locally (lower-case names, as EMR matches them)
EMULATED_APPLICATIONS = {"spark": "Spark (spark-submit, pyspark on the job flow's nodes)"}
_PARTLY = {"hadoop": "Hadoop: client libraries and S3A only (no YARN, HDFS or MapReduce)"}


def application_notes(applications: list[Any]) -> list[str]:
    """One line per requested application the local cluster does not (fully) run; EMR's
    Applications are dicts with Name, moto's records have `.name`."""
    names = [a.get("Name", "") if isinstance(a, dict) else getattr(a, "name", "")
             for a in applications or []]
    absent = [n for n in names if n and n.lower() not in EMULATED_APPLICATIONS
              and n.lower() not in _PARTLY]
    notes = [_PARTLY[n.lower()] for n in names if n and n.lower() in _PARTLY]
    if absent:
        notes.insert(0, f"not emulated locally, accepted as EMR accepts them but not running "
                        f"on this cluster: {', '.join(absent)}")
    return notes


# -- emr-serverless and emr-containers ---------------------------------------------------


def install_job_run_refusals() -> Any:
    """Serve emr-serverless and emr-containers from backends that refuse job runs (moto's
    records otherwise); returns what restores moto's own."""
    import moto.emrcontainers
    import moto.emrserverless
    from moto.core.base_backend import BackendDict

    from harness.emr import elsewhere

    originals = (moto.emrserverless.emrserverless_backends,
                 moto.emrcontainers.emrcontainers_backends)
    moto.emrserverless.emrserverless_backends = BackendDict(
        elsewhere.RefusingServerlessBackend, "emr-serverless")
    moto.emrcontainers.emrcontainers_backends = BackendDict(
        elsewhere.RefusingContainersBackend, "emr-containers")

    def restore() -> None:
        (moto.emrserverless.emrserverless_backends,
         moto.emrcontainers.emrcontainers_backends) = originals

    return restore
