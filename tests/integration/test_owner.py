"""A harness killed with SIGKILL leaves nothing running once the next harness command has
run: that command's reaper (harness.procs.reap) stops the dead run's JVMs and moto server.
Each run is marked by a variable in its environment, which every process it starts
inherits, so the test finds exactly that run's processes in /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from harness import procs
from harness.net import free_port

pytestmark = pytest.mark.integration

MARKER = "HARNESS_TEST_RUN"


def _marked(marker: str) -> dict[int, str]:
    """Live processes whose environment carries the run's marker: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"{MARKER}={marker}".encode() in environ.split(b"\0") and \
                procs.pid_alive(int(entry.name)):
            found[int(entry.name)] = procs.cmdline(int(entry.name))
    return found


def _wait_for(what: str, marker: str, timeout_s: float = 240.0) -> dict[int, str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _marked(marker)
        if any(what in cmd for cmd in found.values()):
            return found
        time.sleep(0.2)
    raise AssertionError(f"no process running {what} within {timeout_s:.0f} s")


def _kill_then_next_command(argv: list[str], until: str, tmp_path: Path) -> None:
    """Start `harness argv`, SIGKILL it once a process running `until` exists, check that
    its children outlived it, run the next harness command, and check that none is left."""
    marker = uuid.uuid4().hex
    env = {**os.environ, MARKER: marker, "HARNESS_WORK_DIR": str(tmp_path / ".harness")}
    run = subprocess.Popen([sys.executable, "-m", "harness.cli", *argv], cwd=tmp_path, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(until, marker)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    orphans = _marked(marker)
    assert any("harness.emr.server" in cmd for cmd in orphans.values()), orphans
    assert any("java" in cmd for cmd in orphans.values()), orphans
    try:
        nxt = subprocess.run([sys.executable, "-m", "harness.cli", "status"], cwd=tmp_path,
                             env={**env, MARKER: "next"}, capture_output=True, text=True,
                             timeout=180)
        assert "left by a harness that was killed" in nxt.stderr, nxt.stderr
        deadline = time.monotonic() + 10  # the reaper waited; executors' exit is async
        while _marked(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _marked(marker) == {}
    finally:
        procs.stop_identified([procs.Identity.of(pid) for pid in _marked(marker)], 5.0)


def test_kill_9_of_harness_up_cluster_leaves_no_jvm_or_moto(tmp_path: Path) -> None:
    _kill_then_next_command(["up", "--cluster", "small", "--port", str(free_port())],
                            "deploy.worker.Worker", tmp_path)


def test_kill_9_of_a_bench_run_with_a_cluster_leaves_no_jvm_or_moto(tmp_path: Path) -> None:
    """spark-emr: the bench run's own endpoint, whose job flow starts a cluster."""
    _kill_then_next_command(["bench", "--rows", "500", "--variants", "spark-emr"],
                            "deploy.worker.Worker", tmp_path)
