"""Shared fixtures: a small cascade fixture on disk, and (integration) a real PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import pytest

from harness.workloads import Fixture, Workload, generate_fixture, get_workload

pytest_plugins = [
    "pytester",  # the harness plugin's own tests run pytest in pytest
    "tests.browser",  # browser_page: headless Chromium with its request log
]

SMALL_ROWS = 1_000


@pytest.fixture(scope="session")
def cascade() -> Workload:
    return get_workload("cascade")


@pytest.fixture(scope="session")
def small_fixture(tmp_path_factory: pytest.TempPathFactory, cascade: Workload) -> Fixture:
    """1,000 orders with 5% bad rows (50: 10 of each defect kind)."""
    path = tmp_path_factory.mktemp("fixtures") / "cascade-small"
    fixture, _ = generate_fixture(cascade, SMALL_ROWS, seed=7, bad_share=0.05, out=path)
    return fixture


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL server on 127.0.0.1 for the whole session (integration tests)."""
    from harness.testing import PostgresServer

    server = PostgresServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path / "work"


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory):
    """The embedded endpoint (moto + the EMR control plane) on a free 127.0.0.1 port for the
    session (integration)."""
    from harness.aws import EmbeddedEndpoint

    work = tmp_path_factory.mktemp("endpoint")
    with EmbeddedEndpoint(port=0, work_dir=work, log=work / "endpoint.log") as ep:
        yield ep


# -- a test of the --target aws path can never reach real AWS -----------------------------------

@pytest.fixture
def no_real_aws(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every AWS credential source botocore's chain knows of disabled, and every socket to a
    host outside the loopback refused (and recorded: the test fails if one was tried).
    For tests of the --target aws path; moto's mock_aws may run inside it (they set their
    own fake keys after it). Yields the list of refused addresses."""
    import socket

    for var in [v for v in os.environ if v.startswith("AWS_")]:
        # keys, profiles, web identity (IRSA), container credentials (ECS, CodeBuild), ...
        monkeypatch.delenv(var)
    empty = tmp_path_factory.mktemp("no-aws") / "empty"
    empty.write_text("")
    for var in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "BOTO_CONFIG"):
        monkeypatch.setenv(var, str(empty))  # BOTO_CONFIG: not /etc/boto.cfg nor ~/.boto
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata service
    refused: list[str] = []

    def guarded(connect):  # noqa: ANN001, ANN202
        def call(sock, address, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
                refused.append(f"{address[0]}:{address[1]}")
                raise ConnectionRefusedError(f"test refused a connection to {address[0]}")
            return connect(sock, address, *args, **kwargs)
        return call

    monkeypatch.setattr(socket.socket, "connect", guarded(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(socket.socket.connect_ex))
    yield refused
    assert refused == [], f"the test tried to reach {', '.join(refused)}"


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


# -- nothing of the docker backend may outlive the suite --------------------------------------
# Every container and network this run's clusters make (in this process, in `harness up`
# children, in endpoints' job flows) carries emr-rehearsal.session=<this run's id>, so the
# check sees only this run's objects, never those of another run on the same engine.

def _docker_leftovers(session_id: str) -> list[str] | None:
    """This run's containers, networks and volumes still there (None: no engine)."""
    try:
        from harness.cluster import images
        from harness.cluster.docker import SESSION_LABEL, leftovers

        return leftovers(images.client(timeout=10), f"{SESSION_LABEL}={session_id}")
    except Exception:  # noqa: BLE001 - no engine, no SDK: nothing can be left behind
        return None


def pytest_sessionstart(session: pytest.Session) -> None:
    session_id = f"pytest-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    session.config.stash[_DOCKER_SESSION] = session_id
    os.environ["HARNESS_DOCKER_SESSION"] = session_id  # children inherit it
    from harness.procs import reap
    from harness.testing.leaks import LeakPlugin

    reap()  # what killed runs left: not this run's to blame
    # nor may a test leave a process or cluster of its own (harness.testing.leaks); a
    # plugin, not hooks here, since session fixtures' hooks never see this conftest
    leaks = LeakPlugin(session_id)
    session.config.pluginmanager.register(leaks, "harness-leaks")
    session.config.stash[_LEAKS] = leaks.check
    # spot capacity's modelled wait (harness.emr.capacity) is the subject of the fleet
    # tests, which set their own scale; in every other job flow it would only add seconds
    os.environ.setdefault("HARNESS_EMR_TIME_SCALE", "0")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when it left processes, containers, networks or volumes behind (and
    stop or remove them, so the next run starts clean)."""
    leaks = session.config.stash.get(_LEAKS, None)
    if leaks is not None:
        from harness.testing.leaks import stop_leaked

        left = leaks.leaked({})
        stop_leaked(left)
        if left:
            _fail_session(session, f"the test run left {len(left)} process(es) or "
                          f"cluster(s) behind: {'; '.join(left.values())}")
    session_id = session.config.stash.get(_DOCKER_SESSION, None)
    left = _docker_leftovers(session_id) if session_id else None
    if not left:
        return
    from harness.cluster import images
    from harness.cluster.docker import SESSION_LABEL, remove_labelled

    with contextlib.suppress(Exception):
        remove_labelled(images.client(timeout=10), f"{SESSION_LABEL}={session_id}")
    _fail_session(session, f"the test run left {len(left)} docker object(s) behind: "
                  f"{', '.join(left)}")


def _fail_session(session: pytest.Session, message: str) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"ERROR: {message}", red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


_DOCKER_SESSION = pytest.StashKey[str]()
_LEAKS = pytest.StashKey[object]()
