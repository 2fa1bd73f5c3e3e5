"""How an EMR step becomes a local command, as EMR itself would run it on the master node.

- `command-runner.jar` with `spark-submit ...`: the job flow's spark-defaults (master URL,
  S3A, executor sizes) apply, as EMR's do. s3:// application files are downloaded first,
  as EMR does; `--master yarn` becomes the local master; `--deploy-mode cluster` for a
  Python application (which Spark standalone refuses, but EMR's YARN accepts) runs in
  client mode. Every rewrite is written to the step's controller log.
- `command-runner.jar` with any other command (`aws s3 cp`, `bash -c`): run as given, with
  the node's PATH (spark-submit, python3, aws bound to the endpoint).
- `script-runner.jar` (any `.../script-runner/script-runner.jar`): download the s3:// script
  in Args[0] and run it with the remaining arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.emr.resources import VALUED as _VALUED  # spark-submit options with a value
from harness.emr.resources import scale_submit_args

if TYPE_CHECKING:
    from harness.cluster import Topology

_DOWNLOADED = {"--py-files", "--files"}


class StepDefinitionError(Exception):
    """The step cannot be run as given (the message becomes its failure reason)."""


@dataclass
class StepCommand:
    argv: list[str]
    notes: list[str] = field(default_factory=list)


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://", "s3n://"))


def plan_step(jar: str, args: list[str], workdir: Path,
              fetch: Callable[[str, Path], Path], topology: Topology | None = None,
              concurrency: int = 1) -> StepCommand:
    """The command a step runs. `fetch(uri, dest_dir)` downloads an s3:// object and
    returns its local path (raising StepDefinitionError with S3's reason if it cannot).
    With the job flow's `topology`, spark-submit's resource arguments are scaled to it
    (harness.emr.resources; `concurrency`: the StepConcurrencyLevel)."""
    name = jar.rsplit("/", 1)[-1]
    if name == "command-runner.jar":
        if not args:
            raise StepDefinitionError("command-runner.jar needs a command in Args")
        if args[0] == "spark-submit":
            return _spark_submit(args[1:], workdir, fetch, topology, concurrency)
        return StepCommand(list(args), [f"command-runner: running {args[0]}"])
    if name == "script-runner.jar":
        if not args:
            raise StepDefinitionError("script-runner.jar needs the script's s3:// path in Args")
        script = fetch(args[0], workdir) if is_s3(args[0]) else Path(args[0])
        script.chmod(0o755)
        head = script.read_bytes()[:2]
        argv = [str(script), *args[1:]] if head == b"#!" else ["bash", str(script), *args[1:]]
        return StepCommand(argv, [f"script-runner: downloaded {args[0]} to {script}"])
    raise StepDefinitionError(
        f"custom JAR steps ({jar}) are not rehearsed locally; use command-runner.jar "
        "with spark-submit or script-runner.jar")


def _spark_submit(args: list[str], workdir: Path, fetch: Callable[[str, Path], Path],
                  topology: Topology | None = None, concurrency: int = 1) -> StepCommand:
    notes: list[str] = []
    if topology is not None:
        args, notes = scale_submit_args(args, topology, concurrency)
    out: list[str] = ["spark-submit"]
    i, primary = 0, None
    deploy_mode = "client"
    while i < len(args):
        arg = args[i]
        if primary is None and arg in _VALUED and i + 1 < len(args):
            value = args[i + 1]
            i += 2
            if arg == "--master":
                notes.append(f"--master {value} replaced by the local cluster's master "
                             "(spark-defaults.conf)")
                continue
            if arg == "--deploy-mode":
                deploy_mode = value
                continue
            if arg in _DOWNLOADED:
                local = [str(fetch(v, workdir)) if is_s3(v) else v for v in value.split(",")]
                if local != value.split(","):
                    notes.append(f"{arg}: downloaded {value} -> {','.join(local)}")
                value = ",".join(local)
            out += [arg, value]
            continue
        if primary is None and arg.startswith("-"):
            out.append(arg)
            i += 1
            continue
        if primary is None:
            primary = arg
            if is_s3(arg):
                local = fetch(arg, workdir)
                notes.append(f"application {arg} downloaded to {local}")
                arg = str(local)
            out.append(arg)
            i += 1
            continue
        out.append(arg)  # application arguments, passed as given (s3:// stays s3://)
        i += 1
    if primary is None:
        raise StepDefinitionError("spark-submit step has no application (script or jar)")
    if deploy_mode == "cluster" and primary.endswith(".py"):
        notes.append("--deploy-mode cluster: Spark standalone cannot run Python applications "
                     "in cluster mode (EMR's YARN can); running in client mode on the master "
                     "node instead")
        deploy_mode = "client"
    out[1:1] = ["--deploy-mode", deploy_mode]
    return StepCommand(out, notes)
