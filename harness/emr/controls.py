"""EMR's cluster controls as EMR documents them, for the backend (harness.emr.models) and
the job-flow runner (harness.emr.jobflow):

- AutoTerminationPolicy (RunJobFlow, Put/Get/RemoveAutoTerminationPolicy): IdleTimeout of
  60 s to 7 days, from emr-5.30.0 / emr-6.1.0. A cluster is idle, as EMR 6.4+ decides, when
  no step is pending or running and no application runs on it (here: no Spark application
  on the job flow's master); after IdleTimeout seconds idle it terminates.
- Termination protection: TerminateJobFlows is refused with EMR's own message; a step
  failure whose ActionOnFailure terminates the cluster leaves a protected, kept-alive
  cluster WAITING (EMR's "will not terminate"), and a protected cluster still ends when its
  steps complete without keep-alive, as EMR's API reference says.
- ModifyCluster's StepConcurrencyLevel (1 to 256); the runner reads the record's level.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.emr.exceptions import ValidationException

IDLE_TIMEOUT_MIN_S, IDLE_TIMEOUT_MAX_S = 60, 7 * 24 * 3600
# EMR's own message when TerminateJobFlows meets a protected cluster (as AWS answers it)
PROTECTED = ("Could not shut down one or more job flows since they are termination "
             "protected.")
# EMR has no state-change code of its own for an idle cluster's end: it is a clean end
IDLE_CODE = "ALL_STEPS_COMPLETED"


def idle_message(timeout_s: int, scale: float = 1.0) -> str:
    scaled = "" if scale == 1 else \
        f"; waited {timeout_s * scale:g} s: HARNESS_EMR_IDLE_SCALE={scale:g}"
    return (f"Auto-terminated: the cluster was idle for {timeout_s} seconds "
            f"(AutoTerminationPolicy IdleTimeout{scaled})")


def _release(label: str | None) -> tuple[int, ...] | None:
    if not label or not label.startswith("emr-"):
        return None
    try:
        return tuple(int(p) for p in label[4:].split("."))
    except ValueError:
        return None


def check_auto_termination_policy(policy: Any, release_label: str | None) -> dict[str, int]:
    """The policy as EMR stores it ({"IdleTimeout": seconds}), or EMR's ValidationException."""
    if not isinstance(policy, dict):
        raise ValidationException("AutoTerminationPolicy must be an object with IdleTimeout")
    timeout = policy.get("IdleTimeout", 3600)  # EMR's default: one hour
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise ValidationException("AutoTerminationPolicy.IdleTimeout must be a whole number "
                                  "of seconds")
    if not IDLE_TIMEOUT_MIN_S <= timeout <= IDLE_TIMEOUT_MAX_S:
        raise ValidationException(
            f"AutoTerminationPolicy.IdleTimeout {timeout} is out of range: it must be between "
            f"{IDLE_TIMEOUT_MIN_S} and {IDLE_TIMEOUT_MAX_S} seconds (1 minute to 7 days)")
    release = _release(release_label)
    if release is not None and (release < (5, 30, 0) or (6, 0, 0) <= release < (6, 1, 0)):
        raise ValidationException(f"Auto-termination is not supported for release label "
                                  f"{release_label}; it needs emr-5.30.0 or emr-6.1.0 and "
                                  "later")
    return {"IdleTimeout": timeout}


def check_step_concurrency_level(level: Any) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 256:
        raise ValidationException(f"StepConcurrencyLevel {level!r} is not valid: it must be "
                                  "between 1 and 256")
    return level


def cancels_running_steps(release_label: str | None) -> bool:
    """Whether CancelSteps reaches RUNNING steps on this release (emr-5.28.0 and later)."""
    release = _release(release_label)
    return release is None or release >= (5, 28, 0)


class IdleClock:
    """How long a kept-alive cluster has been idle: `tick(busy)` once per runner loop;
    `busy_apps()` says whether an application (a Spark application on the job flow's
    master) runs, asked at most every `poll_s` seconds, as EMR samples its metrics.
    `scale`: real seconds per second of IdleTimeout (HARNESS_EMR_IDLE_SCALE; 1 as EMR), so
    tests rehearse EMR's 60 s minimum, which the API still enforces, in 6 s."""

    def __init__(self, busy_apps: Callable[[], bool], poll_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, scale: float = 1.0) -> None:
        self.busy_apps = busy_apps
        self.poll_s = poll_s
        self.scale = scale
        self.clock = clock
        self.idle_since: float | None = None
        self._polled = float("-inf")

    def tick(self, steps_active: bool) -> None:
        now = self.clock()
        if steps_active:
            self.idle_since = None
            return
        if now - self._polled >= self.poll_s:
            self._polled = now
            if self.busy_apps():
                self.idle_since = None
                return
        if self.idle_since is None:
            self.idle_since = now

    def idle_for(self) -> float:
        return 0.0 if self.idle_since is None else self.clock() - self.idle_since

    def expired(self, policy: dict[str, int] | None) -> bool:
        return bool(policy) and self.idle_since is not None \
            and self.idle_for() >= policy["IdleTimeout"] * self.scale


def spark_apps_running(master_status: Callable[[], dict[str, Any]]) -> bool:
    """True when the Spark master lists an active application (unreachable: assume busy,
    never terminate a cluster on a failed probe)."""
    try:
        return bool(master_status().get("activeapps"))
    except (OSError, ValueError):
        return True


# -- clients of an endpoint (harness down, harness rehearse) -----------------------------

LIVE_STATES = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]


def protected_job_flows(emr: Any, cluster_ids: list[str] | None = None) -> list[str]:
    """The live job flows (of `cluster_ids`, default all) an EMR client sees that are
    termination protected."""
    if cluster_ids is None:
        cluster_ids = [c["Id"] for c in
                       emr.list_clusters(ClusterStates=LIVE_STATES)["Clusters"]]
    return [i for i in cluster_ids
            if emr.describe_cluster(ClusterId=i)["Cluster"].get("TerminationProtected")]


def release_protection(emr: Any, force: bool,
                       cluster_ids: list[str] | None = None) -> list[str]:
    """Before stopping job flows (default: every live one): refuse (HarnessError) while one
    is protected, as TerminateJobFlows does, unless `force`, which removes the protection
    first; returns the job flows it was removed from."""
    from harness.errors import HarnessError

    protected = protected_job_flows(emr, cluster_ids)
    if protected and not force:
        raise HarnessError(
            f"job flow(s) {', '.join(protected)} are termination protected, so nothing was "
            "stopped", "run `harness down --force` to remove the protection and terminate "
            "them, or `aws emr modify-cluster-attributes --cluster-id ID "
            "--no-termination-protected` first")
    if protected:
        emr.set_termination_protection(JobFlowIds=protected, TerminationProtected=False)
    return protected
