"""What a step or a bootstrap action finds on an EMR node, never the harness's own environment:
the release's python3 (a virtual environment per node, holding EMR's default packages and,
once Spark is installed, the runtime's pyspark and py4j), pip and `sudo pip` that install
there, `sudo` running as the same user, `aws` bound to the endpoint, `spark-submit` and
friends only when `Applications` has Spark, and EMR's paths (`/usr/lib/spark`,
`/mnt/var/lib/info/{instance,job-flow}.json`, `/home/hadoop`).

Per node, not per job flow, on the process backend too, because EMR differs per node: a
bootstrap action that installs a package on the master only (the `isMaster` idiom) leaves
the core nodes' executors without it. Each node's Spark daemon gets its node's PATH, so
PySpark workers run their own node's python3 (`PYSPARK_PYTHON=python3`). A node's
environment is a hard-linked copy of a template made once per interpreter and package list.

EMR's absolute paths on the process backend come from a private mount namespace per command
and per daemon (`unshare`; root, or unprivileged user namespaces): overlays whose upper
layers live in a tmpfs add `spark`, `var/lib/info` and `hadoop` to `/usr/lib`, `/mnt` and
`/home` for that process tree only; the host's directories are never written. Where no
namespace can be made, the paths are missing and the step's controller log says so. On the
docker backend (ContainerNodeEnv) the container is the node: the paths are real mounts and
python3 is the node image's.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness import procs
from harness.errors import HarnessError

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SPARK_COMMANDS = ("spark-submit", "pyspark", "spark-shell", "spark-sql", "spark-class")
CACHE = Path.home() / ".cache" / "emr-rehearsal" / "nodeenv"
# EMR's paths, each made by an overlay on an existing parent directory: (parent, entry)
EMR_PATHS = (("/usr/lib", "spark"), ("/mnt", "var"), ("/home", "hadoop"))


class NodeEnvError(HarnessError):
    """A node's Python environment cannot be made."""


# -- interpreters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Interpreter:
    path: Path
    version: tuple[int, int, int]

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def full(self) -> str:
        return ".".join(map(str, self.version))


def _version_key(minor: str) -> tuple[int, ...]:
    return tuple(int(p) for p in minor.split("."))


def _probe(path: Path) -> Interpreter | None:
    """The interpreter's version when it can make virtual environments with pip."""
    try:
        out = subprocess.run(
            [str(path), "-I", "-c", "import sys, venv, ensurepip; "
             "print('.'.join(map(str, sys.version_info[:3])))"],
            capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    parts = tuple(int(p) for p in out.split("."))
    return Interpreter(path, parts) if len(parts) == 3 else None  # type: ignore[arg-type]


def _candidates(search_path: str, pyenv_root: Path) -> list[Path]:
    """python3.X executables on PATH and in pyenv's versions directory, never a virtual
    environment's (the harness's own) nor pyenv's shims."""
    found: list[Path] = []
    own = Path(sys.prefix).resolve()
    for directory in search_path.split(os.pathsep):
        d = Path(directory)
        if not directory or "shims" in d.parts or not d.is_dir():
            continue
        if (d.parent / "pyvenv.cfg").exists() or d.resolve().parent == own:
            continue
        found += [p for p in d.glob("python3.*") if re.fullmatch(r"python3\.\d+", p.name)]
    versions = pyenv_root / "versions"
    if versions.is_dir():
        found += [p for p in versions.glob("*/bin/python3.*")
                  if re.fullmatch(r"python3\.\d+", p.name)]
    return found


@lru_cache(maxsize=4)
def interpreters(search_path: str | None = None,
                 pyenv_root: str | None = None) -> tuple[Interpreter, ...]:
    """Every CPython 3 on this machine that can make a virtual environment, by version."""
    found = {}
    for path in _paths(search_path, pyenv_root):
        probed = _probe(path)
        if probed is not None:
            found[path.resolve()] = probed
    return tuple(sorted(found.values(), key=lambda i: i.version))


def _paths(search_path: str | None, pyenv_root: str | None) -> list[Path]:
    root = Path(pyenv_root or os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    unique: dict[Path, Path] = {}
    for path in _candidates(search_path or os.environ.get("PATH", SYSTEM_PATH), root):
        if os.access(path, os.X_OK):
            unique.setdefault(path.resolve(), path)
    return list(unique.values())


def choose_python(wanted: str, found: tuple[Interpreter, ...]) -> Interpreter | None:
    """The release's minor version when found; else the nearest newer one (Python files are
    then checked statically, so what `wanted` would reject still fails); else the newest."""
    if not found:
        return None
    key = _version_key(wanted)
    exact = [i for i in found if i.version[:2] == key[:2]]
    if exact:
        return exact[-1]
    newer = [i for i in found if i.version[:2] > key[:2]]
    return newer[0] if newer else found[-1]


@lru_cache(maxsize=8)
def find_python(wanted: str) -> Interpreter | None:
    """choose_python over this machine's interpreters, probing only as many as it takes
    (each probe starts an interpreter)."""
    key = _version_key(wanted)[:2]

    def minor(path: Path) -> tuple[int, int]:
        return (3, int(path.name.split(".")[1]))

    paths = _paths(None, None)
    ranked = sorted(paths, key=lambda p: (minor(p) != key, minor(p) < key,
                                          abs(minor(p)[1] - key[1])))
    for path in ranked:
        probed = _probe(path)
        if probed is not None:
            return probed
    return None


# -- the environment template, one per interpreter and package set ---------------------------


def template(python: Interpreter, packages: tuple[str, ...], cache: Path = CACHE) -> Path:
    """A virtual environment of `python` with pip and EMR's default `packages`, made once
    (file-locked; pip's cache makes a second machine's build quick) and copied per node."""
    key = hashlib.sha256("\0".join([python.full, str(python.path), *sorted(packages)])
                         .encode()).hexdigest()[:12]
    target = cache / f"py{python.full}-{key}"
    if (target / ".complete").exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=cache))
        try:
            _run([str(python.path), "-m", "venv", str(building)], "make a virtual environment")
            if packages:
                _run([str(building / "bin" / "python"), "-m", "pip", "install", "--quiet",
                      "--disable-pip-version-check", *packages],
                     f"install EMR's default packages ({', '.join(packages)})")
            building.rename(target)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        (target / ".complete").write_text(" ".join(packages) + "\n")
    return target


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise NodeEnvError(f"cannot {what} for a node's python3: {tail[0]}",
                           "check that pip can reach PyPI, or its cache holds the packages")


def copy_venv(src: Path, dest: Path) -> None:
    """Copy a virtual environment, files hard-linked where the filesystem allows (a node's
    copy of the template takes a fraction of a second instead of copying ~130 MB; pip
    replaces files, never rewrites them in place, so a node's installs leave the template
    alone); scripts in bin/ are rewritten, unlinked first, to name the copy's interpreter."""

    # cp, not shutil.copytree: thousands of files walked in Python would hold the endpoint's
    # GIL for a second per node, stalling every API call meanwhile
    linked = procs.run(["cp", "-al", str(src), str(dest)], timeout=600, capture_output=True,
                       text=True, niceness=procs.NODE_NICENESS)
    if linked.returncode != 0:  # another filesystem: no hard links, copy
        shutil.rmtree(dest, ignore_errors=True)
        copied = procs.run(["cp", "-a", str(src), str(dest)], timeout=600,
                           capture_output=True, text=True, niceness=procs.NODE_NICENESS)
        if copied.returncode != 0:
            raise OSError(f"cannot copy {src} to {dest}: {copied.stderr.strip()}")
    (dest / ".complete").unlink(missing_ok=True)
    old, new = f"#!{src}/bin/".encode(), f"#!{dest}/bin/".encode()
    for script in (dest / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if data.startswith(old):
                mode = script.stat().st_mode
                script.unlink()
                script.write_bytes(data.replace(old, new, 1))
                script.chmod(mode)


# -- EMR's info files ------------------------------------------------------------------------


def instance_json(role: str, group_id: str | None) -> dict[str, Any]:
    """/mnt/var/lib/info/instance.json as EMR writes it."""
    master = role == "MASTER"
    return {"instanceGroupId": group_id or "", "isMaster": master,
            "isRunningNameNode": master, "isRunningDataNode": role == "CORE",
            "isRunningJobTracker": False, "isRunningTaskTracker": False,
            "isRunningResourceManager": master, "isRunningNodeManager": not master}


def job_flow_json(cluster_id: str, created_ms: int, hadoop: str,
                  groups: list[dict[str, Any]]) -> dict[str, Any]:
    """/mnt/var/lib/info/job-flow.json as EMR writes it (groups: ListInstanceGroups' shape)."""
    master = next((g for g in groups if g["InstanceGroupType"] == "MASTER"), {})
    others = [g for g in groups if g["InstanceGroupType"] != "MASTER"]
    market = {"ON_DEMAND": "OnDemand", "SPOT": "Spot"}
    return {
        "jobFlowId": cluster_id, "jobFlowCreationInstant": created_ms,
        "instanceCount": sum(int(g.get("RequestedInstanceCount", 0)) for g in groups),
        "masterInstanceId": f"i-{cluster_id[2:].lower()}0", "masterPrivateDnsName": "localhost",
        "masterInstanceType": master.get("InstanceType", ""),
        "slaveInstanceType": others[0]["InstanceType"] if others else "",
        "hadoopVersion": hadoop,
        "instanceGroups": [{
            "instanceGroupId": g.get("Id", ""), "instanceGroupName": g.get("Name", ""),
            "instanceRole": g["InstanceGroupType"].capitalize(),
            "marketType": market.get(g.get("Market", "ON_DEMAND"), "OnDemand"),
            "instanceType": g.get("InstanceType", ""),
            "requestedInstanceCount": int(g.get("RequestedInstanceCount", 0)),
        } for g in groups],
    }


# -- private mount namespaces ----------------------------------------------------------------


@lru_cache(maxsize=1)
def namespace_command() -> tuple[str, ...] | None:
    """How to enter a private mount namespace here (None: not possible)."""
    unshare = shutil.which("unshare", path=SYSTEM_PATH)
    if unshare is None:
        return None
    options = [("--mount",)] if os.geteuid() == 0 else []
    options.append(("--user", "--map-root-user", "--mount"))
    for opts in options:
        command = (unshare, *opts, "--propagation", "private")
        probe = subprocess.run([*command, "sh", "-c", "mount -t tmpfs none /tmp"],
                               capture_output=True)
        if probe.returncode == 0:
            return command
    return None


_MOUNTS = r"""#!/bin/bash
# Inside this node's private mount namespace: add EMR's paths to /usr/lib, /mnt and /home
# with overlays whose upper layers are in a tmpfs, so nothing is written to the host's
# directories; paths that live under them (work dir, temp dir, pip's cache) stay the
# host's own. Then run the command as EMR's command-runner would.
set -e
ns=@NS@
mount -t tmpfs emr-node "$ns"
keep=(@KEEP@)
layer() {  # layer PARENT N TARGET ENTRY: PARENT/ENTRY is TARGET
  local parent="$1" n="$2" target="$3" entry="$4" moved=()
  mkdir -p "$ns/$n/up" "$ns/$n/work"
  ln -s "$target" "$ns/$n/up/$entry"
  for k in "${!keep[@]}"; do
    case "${keep[$k]}/" in "$parent"/*)
      mkdir -p "$ns/keep$n-$k"; mount --bind "${keep[$k]}" "$ns/keep$n-$k"; moved+=("$k");;
    esac
  done
  mount -t overlay "emr-$n" -o "lowerdir=$parent,upperdir=$ns/$n/up,workdir=$ns/$n/work" \
    "$parent" 2>/dev/null || mount -t overlay "emr-$n" \
    -o "lowerdir=$parent,upperdir=$ns/$n/up,workdir=$ns/$n/work,userxattr" "$parent"
  for k in "${moved[@]}"; do mount --move "$ns/keep$n-$k" "${keep[$k]}"; done
}
@LAYERS@
set +e
[ "$EMR_NODE_CWD" = @HOME@ ] && [ -d /home/hadoop/ ] && EMR_NODE_CWD=/home/hadoop
cd "$EMR_NODE_CWD" 2>/dev/null || cd /
command -v "$1" >/dev/null 2>&1 || { echo "bash: $1: command not found" >&2; exit 127; }
exec "$@"
"""

_RUN_PLAIN = r"""#!/bin/bash
# Run a command on this node as EMR's command-runner would (no mount namespace here).
command -v "$1" >/dev/null 2>&1 || { echo "bash: $1: command not found" >&2; exit 127; }
exec "$@"
"""

_SUDO = r"""#!/bin/sh
# sudo on a rehearsal node: EMR's hadoop user may sudo anything without a password; here
# the command runs as the same user, in the node's environment (its python3 and pip).
while [ $# -gt 0 ]; do
  case "$1" in
    -u|-g|-C|-h|-p|-r|-t|-U|-D|--user|--group) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: sudo command" >&2; exit 1; }
command -v "$1" >/dev/null 2>&1 || { echo "sudo: $1: command not found" >&2; exit 1; }
exec "$@"
"""


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


# -- a node's environment --------------------------------------------------------------------


@dataclass
class NodeEnv:
    """One node's environment for steps and bootstrap actions (module docstring)."""

    node_dir: Path  # the node's directory on the host (logs, work, home)
    role: str
    wanted_python: str  # the release's python3, e.g. "3.9"
    python: Interpreter
    label: str = ""
    java_home: Path | None = None
    spark_home: Path | None = None  # set when Spark is installed (after bootstrap actions)
    keep: tuple[Path, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return self.node_dir / "emr"

    @property
    def venv(self) -> Path:
        return self.dir / "python"

    @property
    def shims(self) -> Path:
        return self.dir / "bin"

    @property
    def home(self) -> Path:
        return self.node_dir / "home"

    @property
    def info(self) -> Path:
        return self.dir / "mnt" / "var" / "lib" / "info"

    @property
    def exact_python(self) -> bool:
        return self.python.version[:2] == _version_key(self.wanted_python)[:2]

    @property
    def namespaced(self) -> bool:
        return (self.shims / "emr-node-mounts").exists()

    def create(self, template_dir: Path, info: dict[str, dict[str, Any]]) -> None:
        """Make the node's python3 (a copy of the template), its commands and EMR's files."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self._files(info)
        copy_venv(template_dir, self.venv)
        # the AWS CLI is the harness's (bound to the endpoint by the environment), run
        # isolated from the node's Python settings
        self._commands(self.venv / "bin" / "python", f'"{sys.executable}" -E -s -m awscli')
        self._runner()

    def _files(self, info: dict[str, dict[str, Any]]) -> None:
        """The node's directories and EMR's info files."""
        for path in (self.shims, self.home, self.info):
            path.mkdir(parents=True, exist_ok=True)
        for name, content in info.items():
            (self.info / name).write_text(json.dumps(content, indent=2) + "\n")

    def _commands(self, python: Path, aws: str) -> None:
        """python3, pip (any spelling), sudo and aws on the node's PATH."""
        for name in ("python3", "python", f"python{self.python.minor}"):
            _script(self.shims / name, f'#!/bin/sh\nexec "{python}" "$@"\n')
        for name in ("pip", "pip3", f"pip{self.python.minor}"):
            _script(self.shims / name, f'#!/bin/sh\nexec "{python}" -m pip "$@"\n')
        _script(self.shims / "sudo", _SUDO)
        _script(self.shims / "aws", f'#!/bin/sh\nexec {aws} "$@"\n')

    def _runner(self) -> None:
        namespace = namespace_command()
        if namespace is None:
            _script(self.shims / "emr-node-run", _RUN_PLAIN)
            self.notes.append("EMR's paths (/usr/lib/spark, /mnt/var/lib/info, /home/hadoop) "
                              "are missing: no private mount namespace can be made here "
                              "(unshare needs root or unprivileged user namespaces)")
            return
        ns = self.dir / "ns"
        ns.mkdir(exist_ok=True)
        targets = {"/usr/lib": self.dir / "usr-lib-spark", "/mnt": self.dir / "mnt" / "var",
                   "/home": self.home}
        layers = []
        for n, (parent, entry) in enumerate(EMR_PATHS):
            if Path(parent).is_dir():
                layers.append(f'layer {parent} {n} "{targets[parent]}" {entry}')
            else:
                self.notes.append(f"{parent} does not exist here: {parent}/{entry} is missing")
        keep = " ".join(f'"{p}"' for p in self.keep)
        text = (_MOUNTS.replace("@NS@", f'"{ns}"').replace("@KEEP@", keep)
                .replace("@LAYERS@", "\n".join(layers)).replace("@HOME@", f'"{self.home}"'))
        _script(self.shims / "emr-node-mounts", text)
        _script(self.shims / "emr-node-run",
                "#!/bin/sh\nEMR_NODE_CWD=\"$PWD\" exec " + " ".join(namespace)
                + f' /bin/bash "{self.shims / "emr-node-mounts"}" "$@"\n')

    def install_spark(self, spark_home: Path, python_path: tuple[Path, ...]) -> None:
        """Spark on the node, as EMR installs applications after the bootstrap actions:
        /usr/lib/spark, spark-submit and friends, pyspark and py4j on python3's path."""
        self.spark_home = spark_home
        link = self.dir / "usr-lib-spark"
        link.unlink(missing_ok=True)
        link.symlink_to(spark_home)
        site = next((self.venv / "lib").glob("python3.*/site-packages"))
        (site / "emr-spark.pth").write_text("".join(f"{p}\n" for p in python_path))
        for name in SPARK_COMMANDS:
            if (spark_home / "bin" / name).exists():
                _script(self.shims / name,
                        f'#!/bin/sh\nexec "{spark_home / "bin" / name}" "$@"\n')

    def env(self) -> dict[str, str]:
        """The variables a command on this node runs with (an empty value unsets one)."""
        home = "/home/hadoop" if self.namespaced and Path("/home").is_dir() else str(self.home)
        env = {
            "PATH": f"{self.shims}:{self.venv / 'bin'}:{SYSTEM_PATH}",
            "HOME": home,
            "PYSPARK_PYTHON": "python3",  # each node's own, found on its PATH
            "PYSPARK_DRIVER_PYTHON": "", "VIRTUAL_ENV": "", "PYTHONPATH": "",
            "PYTHONHOME": "", "PYTHONSTARTUP": "", "PYTHONNOUSERSITE": "",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_CACHE_DIR": str(pip_cache()),
            "HARNESS_NODE_RUNNER": str(self.shims / "emr-node-run"),
            "SPARK_HOME": str(self.spark_home) if self.spark_home else "",
        }
        if self.java_home is not None:
            env["JAVA_HOME"] = str(self.java_home)
        return env

    def daemon_env(self) -> dict[str, str]:
        """What the node's Spark daemon needs so that its executors' PySpark workers run
        this node's python3 and see EMR's paths (the daemon runs under the node's runner)."""
        return {"PATH": f"{self.shims}:{self.venv / 'bin'}:{SYSTEM_PATH}",
                "PYSPARK_PYTHON": "python3",
                "HARNESS_NODE_RUNNER": str(self.shims / "emr-node-run")}

    def describe(self) -> str:
        how = "as EMR's nodes" if self.exact_python else (
            f"EMR's nodes run {self.wanted_python}, which this machine lacks: Python files "
            f"are checked for {self.wanted_python} (vermin)")
        return f"python3 is CPython {self.python.full} ({self.python.path}), {how}"



IMAGE_VENV = "/opt/emr-rehearsal/venv"  # the node image's Python environment (docker/node)
IMAGE_SPARK = "/opt/emr-rehearsal/spark"


class ContainerNodeEnv(NodeEnv):
    """A node of the docker backend: its container is the node, so EMR's paths are real
    (/home/hadoop and /mnt/var/lib/info mounted from the node's directory, /usr/lib/spark a
    link the image points into it, made when Spark is installed); python3 is the image's
    environment, which a bootstrap action's pip installs into, per container."""

    def create(self, template_dir: Path | None, info: dict[str, dict[str, Any]]) -> None:
        # the directories are mounted into the running container: keep them, fill them
        self._files(info)
        (self.dir / "apps").mkdir(exist_ok=True)
        self._commands(Path(f"{IMAGE_VENV}/bin/python"), f'"{IMAGE_VENV}/bin/aws"')

    def install_spark(self, spark_home: Path, python_path: tuple[Path, ...]) -> None:
        link = self.dir / "apps" / "spark"
        link.unlink(missing_ok=True)
        link.symlink_to(IMAGE_SPARK)  # resolved inside the container
        self.spark_home = Path("/usr/lib/spark")
        for name in SPARK_COMMANDS:
            _script(self.shims / name, f'#!/bin/sh\nexec "/usr/lib/spark/bin/{name}" "$@"\n')

    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.shims}:{SYSTEM_PATH}", "HOME": "/home/hadoop",
                "PYTHONPATH": "", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    def daemon_env(self) -> dict[str, str]:
        return {}

    def describe(self) -> str:
        how = "as EMR's nodes" if self.exact_python else (
            f"EMR's nodes run {self.wanted_python}, which the node image lacks: Python files "
            f"are checked for {self.wanted_python} (vermin)")
        return f"python3 is CPython {self.python.full} (the node image's), {how}"


def prepare_container_nodes(cluster: Any, runtime: NodeRuntime, groups: list[dict[str, Any]],
                            created_ms: int, image_python: str,
                            nodes: list[Any] | None = None) -> dict[str, NodeEnv]:
    """Each container node's environment (docker backend; `nodes`: those only, a resize's);
    image_python: e.g. 3.11.2."""
    version = tuple(int(p) for p in image_python.split("."))
    python = Interpreter(Path(f"{IMAGE_VENV}/bin/python"), version)  # type: ignore[arg-type]
    flow = job_flow_json(cluster.id, created_ms, runtime.hadoop, groups)
    envs: dict[str, NodeEnv] = {}
    for node in cluster.nodes if nodes is None else nodes:
        spec = node.spec
        env = ContainerNodeEnv(Path(cluster.work_dir) / spec.name, spec.role, runtime.python,
                               python, label=runtime.label)
        env.create(None, {"instance.json": instance_json(spec.role, _group_id(spec, groups)),
                          "job-flow.json": flow})
        envs[spec.name] = env
    return envs


def _group_id(spec: Any, groups: list[dict[str, Any]]) -> str | None:
    return getattr(spec, "group_id", None) or next(
        (g.get("Id") for g in groups if g.get("Name") == spec.group), None)


def pip_cache() -> Path:
    """pip's cache of the user running the harness (shared by every node: faster, and
    what a node downloads is what EMR's would)."""
    return Path(os.environ.get("PIP_CACHE_DIR") or Path.home() / ".cache" / "pip")


def pyspark_path(spark_home: Path, cache: Path = CACHE) -> tuple[Path, ...]:
    """A directory holding only pyspark and py4j of the installed pyspark at spark_home (the
    embedded runtime's python_path)."""
    import py4j

    target = cache / "pythonpath" / hashlib.sha256(str(spark_home).encode()).hexdigest()[:12]
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(dir=target.parent))
        (building / "pyspark").symlink_to(spark_home)
        (building / "py4j").symlink_to(Path(py4j.__file__).parent)
        with contextlib.suppress(OSError):
            building.rename(target)
        shutil.rmtree(building, ignore_errors=True)
    return (target,)


# -- static checks of a step's Python files ---------------------------------------------------


def python_files(argv: list[str]) -> list[Path]:
    """The step's local .py files (its application, --py-files, a script it runs)."""
    found = []
    for arg in argv:
        for part in arg.split(","):
            path = Path(part)
            if part.endswith(".py") and path.is_file():
                found.append(path)
    return found


def check_python_files(paths: list[Path], target: str) -> list[str]:
    """Violations of Python `target` (e.g. "3.9") in the files, as vermin finds them
    ("job.py:L3: pattern matching requires Python 3.10"); empty when they all run there."""
    if not paths:
        return []
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from vermin import main; sys.exit(main())",
         "--violations", "--format", "parsable", "--no-parse-comments",
         f"--target={target}-", *map(str, paths)], capture_output=True, text=True)
    if done.returncode == 0:
        return []
    problems = []
    for line in done.stdout.splitlines():
        # file:line:column:py2:py3:feature (the per-file and total lines have no line number)
        parts = line.rsplit(":", 5)
        if len(parts) == 6 and parts[1].isdigit() and parts[5]:
            problems.append(f"{Path(parts[0]).name}:L{parts[1]}: {parts[5]} requires Python "
                            f"{parts[4]}")
    if not problems and done.returncode != 0:
        text = (done.stderr or done.stdout).strip().splitlines()
        problems.append(f"vermin cannot check {', '.join(p.name for p in paths)}: "
                        f"{text[-1] if text else done.returncode}")
    return problems


# -- a job flow's nodes -----------------------------------------------------------------------


@dataclass(frozen=True)
class NodeRuntime:
    """What the node environment needs of the job flow's runtime (harness.runtimes)."""

    label: str
    python: str  # the release's python3, e.g. "3.9"
    packages: tuple[str, ...]
    spark_home: Path
    python_path: tuple[Path, ...]
    hadoop: str


def prepare_template(installed: Any) -> str:
    """Make the runtime's node environment template now (`harness runtimes install`), so the
    first job flow on it does not spend its start building one; says what it made."""
    runtime = node_runtime(installed, None)
    python = find_python(runtime.python)
    if python is None:
        return "node environment: no Python 3 that can make virtual environments was found"
    started = time.perf_counter()
    path = template(python, runtime.packages)
    return (f"node environment: Python {python.full} with {len(runtime.packages)} of EMR's "
            f"default packages ({path}, {time.perf_counter() - started:.1f} s)")


def node_runtime(installed: Any, label: str | None) -> NodeRuntime:
    """The job flow's runtime (an InstalledRuntime), or the embedded pyspark's when None."""
    if installed is not None:
        rt = installed.runtime
        return NodeRuntime(label or rt.label, rt.python, tuple(rt.packages),
                           Path(installed.spark_home), tuple(installed.python_path), rt.hadoop)
    from harness.jars import hadoop_version
    from harness.spark import spark_home

    home = spark_home()
    return NodeRuntime(label or "embedded", f"{sys.version_info[0]}.{sys.version_info[1]}", (),
                       home, pyspark_path(home), hadoop_version())


def has_spark(applications: list[Any]) -> bool:
    """Whether the job flow's Applications install Spark (none given: EMR installs Hadoop)."""
    return any((getattr(a, "name", None) or "").lower() == "spark" for a in applications)


def prepare_nodes(cluster: Any, runtime: NodeRuntime,
                  groups: list[dict[str, Any]], created_ms: int,
                  java_home: Path | None, keep: tuple[Path, ...],
                  nodes: list[Any] | None = None) -> dict[str, NodeEnv]:
    """Each node's environment (process backend; `nodes`: those only, the workers a resize
    adds): python3 of the release (copied from a template made once), the commands, EMR's
    info files; Spark is installed later."""
    python = find_python(runtime.python)
    if python is None:
        raise NodeEnvError("no Python 3 interpreter that can make virtual environments was "
                           "found for the nodes", "install python3-venv (or pyenv's Pythons)")
    base = template(python, runtime.packages)
    flow = job_flow_json(cluster.id, created_ms, runtime.hadoop, groups)
    envs = {}
    for node in cluster.nodes if nodes is None else nodes:
        spec = node.spec
        if spec.on_node in envs:  # a single node's worker runs on the master node: its env
            envs[spec.name] = envs[spec.on_node]
            continue
        env = NodeEnv(Path(cluster.work_dir) / spec.name, spec.role, runtime.python, python,
                      label=runtime.label, java_home=java_home, keep=keep)
        env.create(base, {"instance.json": instance_json(spec.role, _group_id(spec, groups)),
                          "job-flow.json": flow})
        envs[spec.name] = env
    return envs


class SetupStopped(HarnessError):
    """A job flow's nodes stopped before their daemons started: a failed bootstrap action
    (code BOOTSTRAP_FAILURE), or termination requested meanwhile (code None)."""

    def __init__(self, problem: str, code: str | None = None) -> None:
        super().__init__(problem)
        self.code = code
