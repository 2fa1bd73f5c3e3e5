"""The pytest plugin's fixtures: the README's example test file as written (a user's Spark
logic on the plugin's cluster and endpoint, a benchmark beside it), a dataset of another
workload, buckets deleted after each test, the cluster and endpoint gone after the session."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from tests.readme_example import write_example

pytestmark = pytest.mark.integration


def test_readme_plugin_example_runs_as_written(tmp_path):
    example = write_example(tmp_path, "test_my_job", marker="plugin-example")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(example), "-q", "-p", "no:cacheprovider",
         "--benchmark-json", str(tmp_path / "bench.json")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM: the plugin tears its cluster and endpoint down
        output, _ = proc.communicate(timeout=120)
        pytest.fail(f"the example hung; its output ends: {output[-3000:]}")
    assert proc.returncode == 0, output[-5000:]
    assert "2 passed" in output
    (bench,) = json.loads((tmp_path / "bench.json").read_text())["benchmarks"]
    assert bench["name"] == "test_vectorised_enrichment_speed"


def test_fixtures_are_cleaned_up_and_take_any_workload(pytester, monkeypatch):
    """The cluster's processes and the endpoint are gone after the session; the dataset
    factory makes a fixture of another workload; buckets are deleted after each test."""
    pytester.makepyfile(test_inner='''
        import json, os
        BUCKETS = []

        def test_dataset_of_another_workload(harness_dataset):
            data = harness_dataset(3_000, workload="sessions")
            assert data.workload == "sessions" and data.rows == 3_000
            assert data.read_tables()["clicks"].num_rows == 3_000

        def test_bucket(harness_bucket, harness_endpoint):
            BUCKETS.append(harness_bucket)
            harness_endpoint.client("s3").put_object(Bucket=harness_bucket, Key="k", Body=b"1")

        def test_bucket_is_gone_and_cluster_is_up(harness_endpoint, harness_cluster):
            names = [b["Name"] for b in harness_endpoint.client("s3").list_buckets()["Buckets"]]
            assert BUCKETS and BUCKETS[0] not in names
            workers = harness_cluster.master_status()["workers"]
            assert len(workers) == len(harness_cluster.workers) == 3
            with open(os.environ["PIDS_OUT"], "w") as fh:
                json.dump({"pids": [n.pid for n in harness_cluster.nodes],
                           "endpoint": harness_endpoint.url}, fh)
    ''')
    pids_file = pytester.path / "pids.json"
    monkeypatch.setenv("PIDS_OUT", str(pids_file))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    from harness.procs import pid_alive

    seen = json.loads(pids_file.read_text())
    assert len(seen["pids"]) == 4 and not any(pid_alive(p) for p in seen["pids"])
    port = int(seen["endpoint"].rsplit(":", 1)[1])
    with socket.socket() as sock:  # the endpoint is stopped: nothing listens on its port
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_harness_target_runs_a_workloads_job_and_hands_back_its_outputs(pytester):
    """A user's test runs the workload's Spark job through harness_target and judges the
    outputs it hands back (frames per output) against the vectorised job."""
    pytester.makepyfile(test_target='''
        from harness.bench.equivalence import compare_outputs
        from harness.workloads import get_workload

        def test_local_target(harness_target, harness_dataset):
            cascade = get_workload("cascade")
            data = harness_dataset(1_000)
            run = harness_target("local").run(cascade, data)
            assert run.target == "local" and run.wall_s > 0 and run.job_s > 0
            assert set(run.outputs) == set(cascade.output_names)
            reference = cascade.reference_outputs(data.read_tables())
            comparison = compare_outputs(cascade.outputs, reference, run.outputs, 1e-9)
            assert comparison.equal, comparison.summary()
            assert harness_target("local") is harness_target("local")  # one per session
    ''')
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
