"""Bad input exits non-zero with one short line naming the problem and the remedy, never a
traceback. These run the real `harness` command; none of them reaches Spark or a server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = [sys.executable, "-m", "harness.cli"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*HARNESS, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, check=False)


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    text = proc.stderr + proc.stdout
    assert proc.returncode != 0, text
    assert "Traceback" not in text, text
    for needle in needles:
        assert needle in text, text
    return text


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["bench", "--no-such-option"], ["No such option", "--help"]),
        (["bench", "--rows", "lots"], ["Invalid value for '--rows'", "valid integer", "--help"]),
        (["bench", "--rows", "0"], ["--rows must be a positive whole number"]),
        (["bench", "--variants", "per-row,turbo"], ["unknown variant(s): turbo", "choose from"]),
        (["bench", "--profile", "mars"], ["unknown latency profile 'mars'", "use one of"]),
        (["bench", "--rows", "10", "--fixture", "x"], ["exclude each other"]),
        (["fixtures", "generate", "--bad-share", "2"], ["--bad-share must be between 0 and 1"]),
        (["up", "--region", "eu-west-9", "--port", "1"],  # refused before anything starts
         ["--region 'eu-west-9' is not an AWS region", "did you mean", "eu-west-1"]),
    ],
)
def test_bad_options_give_a_one_line_error(tmp_path, args, needles):
    assert_clean_error(run(*args, cwd=tmp_path), *needles)


def test_missing_fixture_directory(tmp_path):
    text = assert_clean_error(run("bench", "--fixture", str(tmp_path / "nope"), cwd=tmp_path),
                              "does not exist", "harness fixtures generate")
    assert len(text.strip().splitlines()) == 1


def test_missing_fixture_file(tmp_path, small_fixture):
    copy = tmp_path / "fx"
    shutil.copytree(small_fixture.path, copy)
    (copy / "parquet" / "products.parquet").unlink()
    assert_clean_error(run("bench", "--fixture", str(copy), "--variants", "batched",
                           cwd=tmp_path), "products.parquet is missing", "--force")


def test_corrupt_parquet_file(tmp_path, small_fixture):
    copy = tmp_path / "fx"
    shutil.copytree(small_fixture.path, copy)
    target = copy / "parquet" / "orders.parquet"
    target.write_bytes(target.read_bytes()[:200])  # truncated, as by a failed copy
    text = assert_clean_error(run("bench", "--fixture", str(copy), "--variants", "batched",
                                  cwd=tmp_path), "orders.parquet", "regenerate")
    assert len(text.strip().splitlines()) == 1


def test_unreachable_database(tmp_path, small_fixture):
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    text = assert_clean_error(
        run("bench", "--fixture", str(small_fixture.path), "--variants", "batched",
            "--db-url", "postgresql://nobody@127.0.0.1:1/legacy", cwd=tmp_path),
        "cannot reach the legacy database", "--db-url",
    )
    assert len(text.strip().splitlines()) == 1


def test_unsupported_database_url(tmp_path, small_fixture):
    assert_clean_error(
        run("bench", "--fixture", str(small_fixture.path), "--variants", "batched",
            "--db-url", "oracle://x@127.0.0.1/db", cwd=tmp_path),
        "not supported", "postgresql://",
    )


def test_fixtures_generate_then_reuse(tmp_path):
    first = run("fixtures", "generate", "--rows", "300", "--out", "fx", cwd=tmp_path)
    assert first.returncode == 0 and "generated fixture" in first.stdout
    again = run("fixtures", "generate", "--rows", "300", "--out", "fx", cwd=tmp_path)
    assert again.returncode == 0 and "reused cached fixture" in again.stdout


def test_missing_java_is_reported_before_anything_starts(tmp_path):
    env = {"PATH": "/usr/bin/nonexistent", "JAVA_HOME": str(tmp_path / "no-jdk"),
           "HARNESS_WORK_DIR": str(tmp_path / ".harness")}
    proc = subprocess.run([*HARNESS, "up", "--cluster", "small"], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=60, check=False)
    text = assert_clean_error(proc, "no Java runtime found", "JAVA_HOME")
    assert len(text.strip().splitlines()) == 1
    assert not (tmp_path / ".harness" / "state.json").exists()  # nothing was started


def test_unknown_instance_type_and_oversized_cluster_on_the_cli(tmp_path):
    import json

    flow = tmp_path / "groups.json"
    flow.write_text(json.dumps([
        {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
        {"InstanceRole": "CORE", "InstanceType": "m5.xlarg", "InstanceCount": 2}]))
    assert_clean_error(run("up", "--cluster", str(flow), cwd=tmp_path),
                       "unknown instance type 'm5.xlarg'", "did you mean m5.xlarge")
    # 40 instances are consolidated; 21 groups (a worker each) never fit in 8 GiB at most
    flow.write_text(json.dumps([
        {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
        {"InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 40}] + [
        {"InstanceRole": "TASK", "InstanceType": "m5.xlarge", "InstanceCount": 1,
         "Name": f"Task {i}"} for i in range(20)]))
    assert_clean_error(run("up", "--cluster", str(flow), cwd=tmp_path),
                       "21 instance groups need 21 workers", "use fewer instance groups")


def test_bench_on_a_cluster_when_none_runs(tmp_path, small_fixture):
    assert_clean_error(run("bench", "--fixture", str(small_fixture.path), "--variants", "spark",
                           "--cluster", cwd=tmp_path),
                       "no cluster is running", "harness up --cluster small")


def test_fixtures_generate_refuses_a_directory_that_is_not_a_fixture(tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "README.md").write_text("mine\n")
    (project / "src" / "job.py").write_text("print('mine')\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    proc = run("fixtures", "generate", "--rows", "1000", "--out", str(project), cwd=tmp_path)
    assert_clean_error(proc, "is not empty and is not a fixture", "nothing deleted",
                       "choose another --out")
    # --force regenerates a fixture; it never makes a non-fixture directory one
    forced = run("fixtures", "generate", "--rows", "1000", "--force", "--out", str(project),
                 cwd=tmp_path)
    assert_clean_error(forced, "is not a fixture")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (project / "README.md").read_text() == "mine\n"
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    assert_clean_error(run("fixtures", "generate", "--rows", "1000", "--out", str(a_file),
                           cwd=tmp_path), "is not a fixture directory")
    assert a_file.read_text() == "mine\n"
