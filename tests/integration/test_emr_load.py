"""The control plane under concurrent use, small: job flows submitted at once queue for
capacity and all complete, threads adding steps to one running job flow and pollers calling
describe/list meanwhile; every step runs exactly once and completes, no call fails or
answers a 5xx (SDK retries off). The full-size figures are benchmarks/test_load.py's."""

from __future__ import annotations

import pytest

from harness.emr.load import LoadPlan, run_load

pytestmark = pytest.mark.integration


def test_concurrent_job_flows_step_adders_and_pollers(tmp_path, monkeypatch):
    from harness.aws import EmbeddedEndpoint

    # room for one job flow's worker at a time: the second queues in STARTING
    monkeypatch.setenv("HARNESS_EMR_JOBFLOW_MEMORY_MB", "1024")
    monkeypatch.setenv("HARNESS_EMR_CAPACITY_MB", "1024")
    plan = LoadPlan(flows=2, steps_per_flow=1, adders=4, steps_per_adder=2, pollers=10,
                    timeout_s=300)
    with EmbeddedEndpoint(port=0, work_dir=tmp_path / "endpoint",
                          log=tmp_path / "endpoint.log") as endpoint:
        result = run_load(endpoint, plan, tmp_path / "load", on_event=print)
    print(result.figures())
    assert result.problems() == []
    assert len(result.flows) == 2 and len(result.steps) == 2 + 4 * 2
    assert len(result.queued) == 1  # one job flow at a time: the other waited for capacity
    assert result.pollers.figures()["calls"] > 0 and result.pollers.server_errors == 0
