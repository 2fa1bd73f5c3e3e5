"""The cluster contract: one interface, several backends (processes now, containers next).

A backend starts a topology and returns a RunningCluster (master URL, nodes with their
processes or containers), stops it, and kills a node the way a spot reclaim does."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.cluster.topology import NodeSpec, Topology
from harness.errors import HarnessError


class ClusterError(HarnessError):
    """The cluster cannot start, be reached or be changed as asked."""


@dataclass
class Node:
    """A running node: its spec, where its UI is, and what to signal to stop it."""

    spec: NodeSpec
    ui_url: str
    pid: int | None = None
    log: str | None = None
    state: str = "STARTING"  # STARTING, RUNNING, LOST (killed), TERMINATED
    port: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.spec.to_dict(), "ui_url": self.ui_url, "pid": self.pid,
                "log": self.log, "state": self.state, "port": self.port}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Node:
        spec = NodeSpec(**{k: data[k] for k in ("name", "role", "instance_type", "market",
                                                 "cores", "memory_mb", "group")})
        return cls(spec, data["ui_url"], data.get("pid"), data.get("log"),
                   data.get("state", "RUNNING"), data.get("port"))


@dataclass
class RunningCluster:
    id: str
    backend: str
    master_url: str
    master_ui_url: str
    work_dir: str
    nodes: list[Node]
    executor_memory_mb: int
    started_at: float = field(default_factory=time.time)
    startup_s: float | None = None
    notes: list[str] = field(default_factory=list)

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.spec.name == name:
                return node
        raise ClusterError(f"cluster {self.id} has no node {name!r}",
                           f"nodes are: {', '.join(n.spec.name for n in self.nodes)}")

    @property
    def workers(self) -> list[Node]:
        return [n for n in self.nodes if n.spec.role != "MASTER"]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["nodes"] = [n.to_dict() for n in self.nodes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunningCluster:
        data = dict(data)
        data["nodes"] = [Node.from_dict(n) for n in data["nodes"]]
        return cls(**data)

    def spark_conf(self) -> dict[str, str]:
        """What a driver needs to use this cluster as EMR's would be used."""
        return {
            "spark.executor.memory": f"{self.executor_memory_mb}m",
            "spark.executor.cores": str(min(n.spec.cores for n in self.workers)),
            # lost executors are replaced and their tasks re-run elsewhere
            "spark.task.maxFailures": "8",
            "spark.stage.maxConsecutiveAttempts": "8",
        }

    def master_status(self, timeout: float = 2.0) -> dict[str, Any]:
        """The Spark master's own JSON view (workers, their state, cores, memory)."""
        with urllib.request.urlopen(f"{self.master_ui_url}/json/", timeout=timeout) as resp:
            return json.loads(resp.read())


class ClusterBackend(Protocol):
    """What every backend implements; `alias` is what --backend names."""

    alias: str

    def start(self, topology: Topology, work_dir: Path, cluster_id: str,
              detached: bool = False) -> RunningCluster: ...

    def stop(self, cluster: RunningCluster) -> None: ...

    def kill_node(self, cluster: RunningCluster, node: str, notice_s: float = 0.0) -> None: ...
