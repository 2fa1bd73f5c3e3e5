"""One owner for every child process (harness.procs): the registry, the reaper, identity
checks before any signal, `harness down` carrying on past failures, and the suite's own
leak check. Real processes (sleep, bash, python), no servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import procs, runtime
from harness.cluster import Node, RunningCluster
from harness.cluster.topology import NodeSpec
from harness.procs import Identity, OwnedProcess
from harness.state import EndpointRecord, RuntimeState
from harness.testing.leaks import LeakCheck

OWNER = """
import sys, time
from harness.procs import OwnedProcess
plain = OwnedProcess(["sleep", "600"])
group = OwnedProcess(["bash", "-c", "sleep 600 & wait"])  # a leader and a member
print(plain.pid, group.pid, flush=True)
time.sleep(600)
"""


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while procs.pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not procs.pid_alive(pid)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(Identity.of(pid).running() for pid in _group(pgid))


def _group(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = procs._stat(int(entry.name))
            if fields and int(fields[2]) == pgid:
                found.append(int(entry.name))
    return found


@pytest.fixture
def owners(tmp_path: Path) -> Path:
    return tmp_path / "owners"


def _owner(owners: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "HARNESS_OWNERS_DIR": str(owners)})


def test_a_killed_owners_children_are_reaped_with_their_groups(owners: Path) -> None:
    owner = _owner(owners)
    try:
        assert owner.stdout is not None
        plain, group = map(int, owner.stdout.readline().split())
        records = list(owners.glob(f"{owner.pid}-*/p-*.json"))
        assert len(records) == 2  # each child recorded with its identity
        assert {json.loads(r.read_text())["pid"] for r in records} == {plain, group}
    finally:
        owner.kill()  # SIGKILL: no atexit, no signal handler runs
        owner.wait()
    assert procs.pid_alive(plain) and _group_alive(group)  # orphans, until reaped
    reaped = procs.reap(owners)
    assert len(reaped) == 2 and all(f"{owner.pid}-" in r.owner for r in reaped)
    assert _gone(plain) and not _group_alive(group)  # the member too, not only the leader
    assert not any(owners.iterdir())  # the dead owner's records are gone
    assert procs.reap(owners) == []


# killed between the fork and the child's record: the spawn record made before the fork
# is all there is (the fork and exec of OwnedProcess, without its _register)
MID_SPAWN = """
import os, subprocess, time
from harness import procs
token, _ = procs._spawning(["bash"])
child = subprocess.Popen(["bash", "-c", "sleep 600 & wait"], start_new_session=True,
                         env={**os.environ, procs.SPAWN_VAR: token})
print(child.pid, flush=True)
time.sleep(600)
"""


def test_a_child_forked_but_not_yet_recorded_is_reaped_by_its_spawn_token(
        owners: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", MID_SPAWN], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "HARNESS_OWNERS_DIR": str(owners)})
    try:
        assert owner.stdout is not None
        child = int(owner.stdout.readline())
        assert not list(owners.glob("*/p-*.json")) and len(list(owners.glob("*/s-*.json"))) == 1
    finally:
        owner.kill()
        owner.wait()
    assert _group_alive(child)
    reaped = procs.reap(owners)
    assert reaped and not _group_alive(child)  # the child and what it started
    assert not any(owners.iterdir())


def test_a_started_child_keeps_no_spawn_record(owners: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_OWNERS_DIR", str(owners))
    monkeypatch.setattr(procs, "_settings", {})
    child = OwnedProcess(["sleep", "600"])
    try:
        assert len(list(owners.glob("*/p-*.json"))) == 1
        assert not list(owners.glob("*/s-*.json"))
    finally:
        child.stop()


def test_a_live_owners_children_are_left_alone(owners: Path) -> None:
    owner = _owner(owners)
    try:
        assert owner.stdout is not None
        plain, _ = map(int, owner.stdout.readline().split())
        assert procs.reap(owners) == [] and procs.pid_alive(plain)
    finally:
        owner.terminate()  # the policy is not installed there: default SIGTERM, no atexit
        owner.wait()
        procs.reap(owners)
    assert _gone(plain)


@pytest.fixture
def stranger() -> subprocess.Popen:
    """A real process that is not ours, whose pid a stale record names."""
    proc = subprocess.Popen(["sleep", "600"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def test_a_reused_pid_is_never_signalled(stranger: subprocess.Popen, owners: Path,
                                         tmp_path: Path) -> None:
    start = procs.start_time(stranger.pid)
    assert start is not None
    stale = Identity(stranger.pid, start - 1, "java ... org.apache.spark.deploy.worker.Worker")
    assert not stale.running() and not stale.alive()
    assert procs.stop_identified([stale], grace_s=0.5) == []
    # a gone owner's record naming the pid with another start time
    dead = owners / "1-1"
    dead.mkdir(parents=True)
    (dead / "owner.json").write_text(json.dumps({"pid": 1, "start": 1, "boot": procs._boot_id()}))
    (dead / f"p-{stranger.pid}-{start - 1}.json").write_text(json.dumps(
        {"kind": "process", "pid": stranger.pid, "start": start - 1, "cmd": "java"}))
    procs.reap(owners)
    # `harness down` with a state file whose endpoint and nodes have that pid: with a start
    # time that is not the stranger's, and (an older record) with none
    work = tmp_path / "work"
    state = RuntimeState.load(work)
    state.endpoint = EndpointRecord(url="http://127.0.0.1:1", port=1, pid=stranger.pid,
                                    provider="moto", region="us-east-1", pid_start=start - 1)
    nodes = [Node(NodeSpec("core-1", "CORE", "m5.xlarge", "ON_DEMAND", 4, 1024, "core"), "http://127.0.0.1:1",
                  pid=stranger.pid, pid_start=pid_start) for pid_start in (start - 1, None)]
    state.clusters = [RunningCluster("c-1", "process", "spark://127.0.0.1:1",
                                     "http://127.0.0.1:1", str(work), nodes, 512).to_dict()]
    state.save()
    result = runtime.down(work)
    assert result.failed == []
    time.sleep(0.2)  # a signal would have been delivered by now
    assert stranger.poll() is None and procs.pid_alive(stranger.pid)


def test_down_carries_on_past_a_failure_and_reports_it(tmp_path: Path) -> None:
    work = tmp_path / "work"
    ours = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        node = Node(NodeSpec("core-1", "CORE", "m5.xlarge", "ON_DEMAND", 4, 1024, "core"), "http://127.0.0.1:1",
                    pid=ours.pid, pid_start=procs.start_time(ours.pid))
        state = RuntimeState.load(work)
        state.clusters = [
            RunningCluster("c-broken", "nosuch", "spark://127.0.0.1:1", "http://127.0.0.1:1",
                           str(work), [node], 512).to_dict(),
            RunningCluster("c-ok", "process", "spark://127.0.0.1:1", "http://127.0.0.1:1",
                           str(work), [node], 512).to_dict()]
        state.save()
        done = subprocess.run([sys.executable, "-m", "harness.cli", "down"],
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "HARNESS_WORK_DIR": str(work)})
        assert done.returncode == 1, done.stdout + done.stderr
        assert "stopped cluster c-ok" in done.stdout
        assert "could not stop cluster c-broken" in done.stderr
        assert "unknown cluster backend 'nosuch'" in done.stderr
        assert ours.wait(timeout=10) is not None  # the second cluster was still stopped
        # what failed stays recorded, for another try
        left = RuntimeState.load(work).clusters
        assert [c["id"] for c in left] == ["c-broken"]
    finally:
        ours.kill()
        ours.wait()


HANDED = """
import sys, time
from harness import procs
from harness.procs import OwnedProcess
child = OwnedProcess(["sleep", "600"], detached=True)
to = procs.Identity.of(int(sys.argv[1]))
print(child.pid, procs.hand_over(to), flush=True)
"""


def test_handed_over_children_belong_to_their_new_owner(owners: Path) -> None:
    env = {**os.environ, "HARNESS_OWNERS_DIR": str(owners)}
    new_owner = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        done = subprocess.run([sys.executable, "-c", HANDED, str(new_owner.pid)],
                              capture_output=True, text=True, env=env, timeout=60)
        child, moved = map(int, done.stdout.split())
        assert moved == 1
        # the starter exited: the child is the new owner's, which runs
        assert procs.reap(owners) == [] and procs.pid_alive(child)
        new_owner.kill()
        new_owner.wait()
        assert [str(r) for r in procs.reap(owners)] != [] and _gone(child)
    finally:
        new_owner.kill()
        new_owner.wait()


def test_run_stops_a_timed_out_child_with_sigterm_first(tmp_path: Path) -> None:
    marker = tmp_path / "terminated"
    script = (f"import signal, sys, time, pathlib\n"
              f"def bye(*_):\n    pathlib.Path({str(marker)!r}).write_text('x'); sys.exit(0)\n"
              f"signal.signal(signal.SIGTERM, bye)\nprint('ready', flush=True)\n"
              f"time.sleep(600)\n")
    with pytest.raises(subprocess.TimeoutExpired):
        procs.run([sys.executable, "-c", script], timeout=3, capture_output=True, text=True)
    assert marker.read_text() == "x"  # it could stop what it started


def test_the_leak_check_names_what_a_test_left_and_spares_wide_fixtures() -> None:
    check = LeakCheck(os.environ.get("HARNESS_DOCKER_SESSION"))
    before = check.snapshot()
    fixture_proc = OwnedProcess(["sleep", "600"])
    check.fixture_started("module-fixture", before)
    leaked_proc = OwnedProcess(["sleep", "601"])
    bare = subprocess.Popen(["sleep", "602"])
    try:
        left = check.leaked(before, wait_s=0)
        assert set(left.values()) == {f"pid {bare.pid} (sleep 602)",
                                      f"pid {leaked_proc.pid} (sleep 601)"}
        leaked_proc.stop()
        bare.kill()
        bare.wait()
        assert check.leaked(before, wait_s=0) == {}
        check.fixture_finalized("module-fixture")  # finalized, and its process still runs
        assert list(check.leaked(before, wait_s=0).values()) == [
            f"pid {fixture_proc.pid} (sleep 600)"]
    finally:
        for proc in (fixture_proc, leaked_proc):
            proc.stop()
        bare.kill()
        bare.wait()


def test_spark_submit_is_an_owned_process(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    """spark_submit goes through OwnedProcess (recorded, reaped), not a bare Popen, and its
    record is gone once it is done."""
    from harness import spark

    seen: list[OwnedProcess] = []
    real = spark.OwnedProcess

    def recording(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(spark, "OwnedProcess", recording)
    monkeypatch.setattr(spark, "java_executable", lambda _home=None: Path("/bin/true"))
    submit = tmp_path / "spark" / "bin" / "spark-submit"  # a Spark home of one script
    submit.parent.mkdir(parents=True)
    submit.write_text("#!/bin/sh\necho job-metrics '{\"job_s\": 1}'\n")
    submit.chmod(0o755)
    result = spark.spark_submit(Path("job.py"), [], home=tmp_path / "spark")
    assert result.returncode == 0 and result.metrics == {"job_s": 1}
    assert len(seen) == 1 and seen[0].identity.start is not None
    assert not list(procs._registry()[0].glob(f"*/{procs._record_name(seen[0].identity)}"))


def test_the_suite_fails_a_test_that_leaves_a_process_and_names_it(
        pytester: pytest.Pytester) -> None:
    """The plugin tests/conftest.py registers, in a suite of its own: a test that leaves a
    process fails at teardown naming it (which is stopped), a module fixture's process is
    that fixture's until its teardown, and a session fixture first set up inside a module
    fixture's setup is the session fixture's."""
    pytester.makeconftest(
        "import os\n"
        "from harness.testing.leaks import LeakPlugin\n"
        "def pytest_configure(config):\n"
        "    config.pluginmanager.register(\n"
        "        LeakPlugin(os.environ.get('HARNESS_DOCKER_SESSION')), 'leaks')\n"
        "import pytest\n"
        "from harness.procs import OwnedProcess\n"
        "@pytest.fixture(scope='session')\n"
        "def widest():\n"
        "    proc = OwnedProcess(['sleep', '599'])\n"
        "    yield proc\n"
        "    proc.stop()\n")
    pytester.makepyfile(test_leaky="""
import subprocess
import pytest
from harness.procs import OwnedProcess

@pytest.fixture(scope="module")
def wide(request):
    # the session fixture first set up inside this module fixture's setup: still alive
    # when this one is finalized, and not this one's
    request.getfixturevalue("widest")
    proc = OwnedProcess(["sleep", "600"])
    yield proc
    proc.stop()

def test_uses_the_module_fixture(wide):
    assert wide.alive()

def test_leaves_an_owned_process():
    OwnedProcess(["sleep", "601"])

def test_leaves_a_bare_child():
    subprocess.Popen(["sleep", "602"])

def test_uses_the_module_fixture_again(wide):
    assert wide.alive()
""", test_zlater="""
def test_the_session_fixture_outlived_the_module_fixture(widest):
    assert widest.alive()
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, errors=2)
    result.stdout.fnmatch_lines([
        "*test_leaves_an_owned_process left 1 process(es)*(sleep 601)*",
        "*test_leaves_a_bare_child left 1 process(es)*(sleep 602)*"])
    assert "sleep 600" not in result.stdout.str()
    assert "sleep 599" not in result.stdout.str()


RESOURCE_OWNER = """
import sys, time
from harness import procs
procs.register_resource("marker", "tests.unit.test_owner:remove_marker", sys.argv[1])
print("ready", flush=True)
time.sleep(600)
"""


def remove_marker(path: str) -> None:
    """A resource's remover, as the docker backend's removes a cluster's containers."""
    Path(path).unlink()


def test_a_killed_owners_resources_are_removed_by_their_remover(owners: Path,
                                                               tmp_path: Path) -> None:
    marker = tmp_path / "cluster"
    marker.write_text("running")
    owner = subprocess.Popen([sys.executable, "-c", RESOURCE_OWNER, str(marker)],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
                             env={**os.environ, "HARNESS_OWNERS_DIR": str(owners)})
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
    finally:
        owner.kill()
        owner.wait()
    assert [r.what for r in procs.reap(owners)] == ["marker"]
    assert not marker.exists() and not any(owners.iterdir())


def test_an_owner_that_exits_stops_what_was_handed_to_it(owners: Path) -> None:
    """`harness down` SIGTERMs the endpoint; at its exit it stops what `harness up` handed
    it, even though it never started a child itself."""
    env = {**os.environ, "HARNESS_OWNERS_DIR": str(owners)}
    new_owner = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nimport harness.config\n"
         "from harness.procs import install_signal_handlers\ninstall_signal_handlers()\n"
         "print('ready', flush=True)\ntime.sleep(600)\n"],
        stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert new_owner.stdout is not None and new_owner.stdout.readline().strip() == "ready"
        done = subprocess.run([sys.executable, "-c", HANDED, str(new_owner.pid)],
                              capture_output=True, text=True, env=env, timeout=60)
        child, moved = map(int, done.stdout.split())
        assert moved == 1 and procs.pid_alive(child)
        new_owner.terminate()  # its signal policy unwinds it: atexit runs
        assert new_owner.wait(timeout=30) == 128 + signal.SIGTERM
        assert _gone(child) and not any(owners.iterdir())
    finally:
        new_owner.kill()
        new_owner.wait()


def test_a_niced_child_runs_below_us_in_its_own_session_too() -> None:
    """`nice` alone counts only inside a session's autogroup: the child's session gets the
    niceness too, or a node's JVMs would take the endpoint's CPU share (README, load)."""
    child = OwnedProcess(["sleep", "600"], niceness=10)
    try:
        deadline = time.monotonic() + 10
        while not procs.cmdline(child.pid).startswith("sleep") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert procs.cmdline(child.pid).startswith("sleep")  # nice exec'd: the same pid
        fields = procs._stat(child.pid)  # from field 3 (state) on
        assert fields is not None and int(fields[19 - 3]) == 10  # the task's own nice value
        autogroup = Path(f"/proc/{child.pid}/autogroup")
        if autogroup.exists():  # a kernel with autogroup (this machine's has it)
            assert autogroup.read_text().split()[-1] == "10"
    finally:
        child.stop()
