"""The cluster backends the integration tests run on: every test that starts a cluster is
parametrised over these, never copied per backend. HARNESS_TEST_BACKENDS=process narrows
the list on a machine without a Docker engine (CI's scripts/ensure-docker provides one).
And what those tests share: waiting for a job flow's state."""

from __future__ import annotations

import os
import time
from typing import Any

CLUSTER_BACKENDS = [b.strip() for b in
                    os.environ.get("HARNESS_TEST_BACKENDS", "process,docker").split(",")
                    if b.strip()]
# The backends whose nodes are containers: where a shape the process backend's tests prove
# in full is run again by a leaner test (what differs there: nodes are containers).
CONTAINER_BACKENDS = [b for b in CLUSTER_BACKENDS if b != "process"]
TERMINAL = frozenset({"TERMINATED", "TERMINATED_WITH_ERRORS"})


def wait_state(emr: Any, cluster_id: str, states: set[str] | frozenset[str] = TERMINAL,
               timeout_s: float = 600) -> dict[str, Any]:
    """Poll DescribeCluster until the cluster is in one of `states` (by default: ended);
    returns its Status. An AssertionError with the last Status after timeout_s."""
    deadline = time.monotonic() + timeout_s
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]
        if status["State"] in states:
            return status
        time.sleep(0.5)
    raise AssertionError(f"{cluster_id} never reached {sorted(states)} in {timeout_s:.0f} s: "
                         f"{status}")
