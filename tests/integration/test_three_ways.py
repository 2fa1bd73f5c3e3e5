"""The README's one job flow submitted three ways (boto3, the AWS CLI, plain HTTP with
curl's SigV4), each run exactly as written there, all three at once against one
endpoint: every way's Spark step COMPLETES, its stdout log (read back by the way itself)
holds the job's metrics line, and its output equals the cascade's independent reference."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.aws.s3 import S3Uri, download_prefix
from harness.bench.equivalence import compare_outputs
from harness.procs import OwnedProcess
from harness.workloads.fixtures import resolve_fixture
from tests.readme_example import readme_block

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # harness, aws: the venv's own
# way: (the README block's marker, its language, how to run it)
WAYS = {
    "boto3": ("three-ways-boto3", "python", [sys.executable]),
    "cli": ("three-ways-cli", "sh", ["bash", "-euo", "pipefail"]),
    "rest": ("three-ways-rest", "sh", ["bash", "-euo", "pipefail"]),
}
DEADLINE_S = 600  # all ways: cluster starts and a 10k-row Spark step on a loaded 2-core host


@pytest.fixture(scope="module")
def readme_shell(endpoint, tmp_path_factory):
    """The environment of a shell where `harness up` ran and its exports were pasted (the
    session's endpoint in its place), after the README's setup block ran in the clone."""
    work = tmp_path_factory.mktemp("three-ways")
    env = endpoint.child_env()
    env.update(HARNESS_ENDPOINT_URL=endpoint.url,  # harness up's, for `harness fixtures`
               HARNESS_FIXTURES_DIR=str(work / "fixtures"),
               HARNESS_WORK_DIR=str(work / "harness"),
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    setup = readme_block("three-ways-setup", "sh")
    run_blocks({"setup": ["bash", "-euo", "pipefail", "-c", setup]}, env, ROOT, work)
    return env, work


def run_blocks(commands: dict[str, list[str]], env, cwd: Path, logs: Path,
               ) -> dict[str, tuple[int, str]]:
    """Run the commands at once, each logging to logs/NAME.log; their exit codes and output
    (a failed one fails the test with its output)."""
    results = {}
    with contextlib.ExitStack() as stack:
        running = {}
        for name, cmd in commands.items():
            log = logs / f"{name}.log"
            proc = OwnedProcess(cmd, env=env, cwd=cwd, log=log)
            stack.callback(proc.stop)
            running[name] = (proc, log)
        deadline = time.monotonic() + DEADLINE_S
        for name, (proc, log) in running.items():
            try:
                code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise AssertionError(f"the README's {name} block did not end within "
                                     f"{DEADLINE_S} s:\n{log.read_text()[-4000:]}") from None
            results[name] = (code, log.read_text())
    for name, (code, output) in results.items():
        assert code == 0, f"the README's {name} block exited {code}:\n{output[-4000:]}"
    return results


def test_one_job_flow_three_ways(readme_shell, endpoint, cascade):
    env, work = readme_shell
    commands = {}
    for way, (marker, language, runner) in WAYS.items():
        script = work / way / ("flow.py" if language == "python" else "flow.sh")
        script.parent.mkdir()
        script.write_text(readme_block(marker, language))
        commands[way] = [*runner, str(script)]
    cwd = work / "shell"  # where flow.json and step.json of the plain-HTTP way land
    cwd.mkdir()
    results = run_blocks(commands, env, cwd, work)

    for way, (_, output) in results.items():
        # printed from <LogUri>/<cluster>/steps/<step>/stdout.gz, by each way itself:
        # emr-7.12.0's Spark ran the job to its end
        assert "enrichment-metrics {" in output, f"{way}: {output[-2000:]}"
        assert '"spark_version": "3.5.6"' in output, way
    assert '"State": "COMPLETED"' in results["rest"][1]  # its ListSteps response

    # the endpoint's record: one cluster per way, its one step COMPLETED, the cluster ended
    emr, s3 = endpoint.client("emr"), endpoint.client("s3")
    steps, timings = {}, []
    clusters = [c for page in emr.get_paginator("list_clusters").paginate()
                for c in page["Clusters"]]
    for summary in clusters:
        if summary["Name"] != "cascade-10k":
            continue
        (step,) = emr.list_steps(ClusterId=summary["Id"])["Steps"]
        steps[step["Config"]["Args"][-1]] = step["Status"]["State"]
        assert summary["Status"]["State"] in {"TERMINATING", "TERMINATED"}, summary
        made = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]["Status"]["Timeline"]
        ran = step["Status"]["Timeline"]
        timings.append(
            f"{step['Config']['Args'][-1].rsplit('/', 1)[-1]}: ready "
            f"{(made['ReadyDateTime'] - made['CreationDateTime']).total_seconds():.1f} s, "
            f"step {(ran['EndDateTime'] - ran['StartDateTime']).total_seconds():.1f} s")
    print("\n" + "; ".join(sorted(timings)))
    assert steps == {f"s3://curated/cascade-10k/{way}": "COMPLETED" for way in WAYS}

    fixture, _ = resolve_fixture(cascade, rows=10_000, root=work / "fixtures")
    expected = cascade.reference_outputs(fixture.read_tables())
    for way in WAYS:
        local = work / "out" / way
        download_prefix(s3, S3Uri("curated", f"cascade-10k/{way}"), local)
        outputs = {name: pd.read_parquet(local / name) for name in cascade.output_names}
        comparison = compare_outputs(cascade.outputs, expected, outputs, 1e-9)
        assert comparison.equal, f"{way}: {comparison.summary()}"
