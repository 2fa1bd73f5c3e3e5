"""A cluster's master takes its ports when it starts, after a job flow's bootstrap actions,
and is started again on fresh ports when another process took one in between (no JVM: the
"master" here binds real sockets, so the conflict is the operating system's own)."""

from __future__ import annotations

import socket

import pytest

from harness.cluster import ClusterError, ProcessBackend, build_topology
from harness.cluster.base import is_port_conflict, start_master
from harness.net import free_port


class SocketMaster:
    """Binds the RPC and UI ports as a Spark master would; a port already bound makes it
    exit with Spark's BindException."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.started: list[tuple[int, int]] = []

    def launch(self, port: int, ui: int):
        self.started.append((port, ui))
        bound = []
        try:
            for p in (port, ui):
                s = socket.socket()
                bound.append(s)
                s.bind(("127.0.0.1", p))
                s.listen()
        except OSError as exc:
            for s in bound:
                s.close()
            log = (f"ERROR MasterWebUI: Failed to bind\njava.net.BindException: {exc}: "
                   "Service 'sparkMaster' could not bind on a random free port.")
            return lambda: log
        self.sockets += bound
        return lambda: None

    def listening(self, port: int, ui: int) -> bool:
        return {port, ui} <= {s.getsockname()[1] for s in self.sockets}

    def close(self) -> None:
        for s in self.sockets:
            s.close()


@pytest.fixture
def master():
    m = SocketMaster()
    yield m
    m.close()


def test_a_port_taken_since_it_was_chosen_starts_the_master_again_on_fresh_ports(master):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    chosen = [taken.getsockname()[1], free_port()]  # another process has the first one

    def choose() -> int:
        return chosen.pop(0) if chosen else free_port()

    try:
        port, ui = start_master(master.launch, master.listening, timeout_s=5, choose=choose)
    finally:
        taken.close()
    assert len(master.started) == 2  # the conflict, then the fresh ports
    assert master.started[-1] == (port, ui) and master.started[0][0] not in (port, ui)
    assert master.listening(port, ui)


def test_the_conflicts_are_retried_a_bounded_number_of_times(master):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(ClusterError, match="could not bind"):
            start_master(master.launch, master.listening, timeout_s=5,
                         choose=lambda: taken.getsockname()[1], attempts=3)
    finally:
        taken.close()
    assert len(master.started) == 3


def test_another_exit_is_an_error_at_once_not_a_retry():
    launches = []

    def launch(port, ui):
        launches.append(port)
        return lambda: "Error: JAVA_HOME is not set"

    with pytest.raises(ClusterError, match="JAVA_HOME"):
        start_master(launch, lambda p, u: False, timeout_s=5, choose=free_port)
    assert len(launches) == 1


def test_spark_s_bind_failures_read_as_port_conflicts():
    assert is_port_conflict("java.net.BindException: Address already in use")
    assert is_port_conflict("Service 'sparkMaster' could not bind on port 7077.")
    assert not is_port_conflict("java.lang.OutOfMemoryError: Java heap space")


def test_the_process_backend_chooses_no_master_port_before_the_nodes_setup(tmp_path):
    """A job flow's bootstrap actions run in the setup: the master's ports come after."""
    topology = build_topology([{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
                                "InstanceCount": 1},
                               {"InstanceRole": "CORE", "InstanceType": "m5.xlarge",
                                "InstanceCount": 1}], memory_budget_mb=2048, host_cores=2)
    seen = {}

    class Bootstrapped(Exception):
        pass

    def setup(cluster):
        seen["master_url"] = cluster.master_url
        seen["ports"] = [n.port for n in cluster.nodes] + [n.ui_url for n in cluster.nodes]
        raise Bootstrapped

    with pytest.raises(Bootstrapped):
        ProcessBackend().start(topology, tmp_path, "j-PORTS", setup=setup)
    assert seen == {"master_url": "", "ports": [None, None, "", ""]}
