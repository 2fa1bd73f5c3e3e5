"""An EMR-shaped Spark standalone cluster from instance groups: topology, backends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cluster.base import ClusterBackend, ClusterError, Node, NodeProcess, RunningCluster
from harness.cluster.docker import DockerBackend
from harness.cluster.process import ProcessBackend
from harness.cluster.topology import PRESETS, NodeSpec, Topology, build_topology, load_groups

if TYPE_CHECKING:
    from harness.runtimes import InstalledRuntime

BACKENDS = {ProcessBackend.alias: ProcessBackend, DockerBackend.alias: DockerBackend}


@contextmanager
def running(topology: Topology, work_dir: Path, backend: str = "process",
            cluster_id: str = "c-local", java_home: Path | None = None,
            runtime: InstalledRuntime | None = None
            ) -> Iterator[tuple[RunningCluster, ClusterBackend]]:
    """A cluster (running `runtime`'s Spark, default the harness's own) for the duration of
    a `with` block, stopped on every exit path."""
    impl = BACKENDS[backend](java_home=java_home)
    cluster = impl.start(topology, work_dir, cluster_id, runtime=runtime)
    try:
        yield cluster, impl
    finally:
        impl.stop(cluster)

__all__ = [
    "BACKENDS", "PRESETS", "ClusterBackend", "ClusterError", "DockerBackend", "Node",
    "NodeProcess", "NodeSpec", "ProcessBackend", "RunningCluster", "Topology", "build_topology",
    "load_groups", "running",
]
