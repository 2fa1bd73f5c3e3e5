"""What the detached mode (`harness up`) started, recorded so `status` can show it and
`down` can stop exactly that: a JSON file under the work directory."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.procs import Identity

ENDPOINT_MODULE = "harness.emr.server"  # in the endpoint's command line (identity fallback)
JOBFLOWS = "jobflows.json"  # the EMR control plane's running job flows' clusters, by id


def jobflow_records(work_dir: Path) -> dict[str, dict[str, Any]]:
    """The clusters (RunningCluster.to_dict) of the job flows the endpoint's EMR control
    plane recorded as running, by cluster id; empty when none is recorded or the record
    is unreadable."""
    try:
        recorded = json.loads((work_dir / JOBFLOWS).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


@dataclass
class EndpointRecord:
    url: str
    port: int
    pid: int | None
    provider: str
    region: str
    log: str | None = None
    emr_backend: str = "process"  # the cluster backend its EMR job flows use
    pid_start: int | None = None  # with pid, its identity (harness.procs.Identity)

    @property
    def identity(self) -> Identity | None:
        if self.pid is None:
            return None
        return Identity(self.pid, self.pid_start, cmd_hint=ENDPOINT_MODULE)

    @property
    def alive(self) -> bool:
        """Still our endpoint process (a reused pid running something else is not)."""
        return self.identity is None or self.identity.running()


@dataclass
class RuntimeState:
    path: Path
    endpoint: EndpointRecord | None = None
    clusters: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, work_dir: Path) -> RuntimeState:
        path = work_dir / "state.json"
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return cls(path)
        endpoint = EndpointRecord(**data["endpoint"]) if data.get("endpoint") else None
        return cls(path, endpoint, data.get("clusters", []))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"endpoint": asdict(self.endpoint) if self.endpoint else None,
                "clusters": self.clusters}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.endpoint, self.clusters = None, []

    @property
    def empty(self) -> bool:
        return self.endpoint is None and not self.clusters
