"""The control plane under concurrent use, small: job flows submitted at once, threads
adding steps to one running job flow and pollers calling describe/list meanwhile; every
step runs exactly once and completes, no call fails or answers a 5xx (SDK retries off).
The full size, with job flows queueing for capacity and the latency figures, is
benchmarks/test_load.py's."""

from __future__ import annotations

import pytest

from harness.emr.load import LoadPlan, run_load

pytestmark = pytest.mark.integration


def test_concurrent_job_flows_step_adders_and_pollers(endpoint, tmp_path):
    plan = LoadPlan(flows=2, steps_per_flow=1, adders=4, steps_per_adder=2, pollers=10,
                    poller_processes=2, timeout_s=300)
    result = run_load(endpoint, plan, tmp_path / "load", on_event=print)
    print(result.figures())
    assert result.problems() == []
    assert len(result.flows) == 2 and len(result.steps) == 2 + 4 * 2
    figures = result.pollers.figures()
    assert figures["calls"] > 0 and result.pollers.server_errors == 0
    # the pollers ran in their own processes; the endpoint timed every answer it gave them
    assert len(result.pollers.server_ms) == figures["calls"]
    assert result.reference.figures()["calls"] > 0
