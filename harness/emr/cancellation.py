"""Cancelling a RUNNING step as EMR documents it (emr-5.32.0 and later):

- `SEND_INTERRUPT` (the default) sends SIGTERM to the step's child process, which should
  clean up and exit; the step stays CANCEL_PENDING until it has. A Spark driver stops its
  SparkContext on SIGTERM, so its application ends FINISHED and its executors go.
- `TERMINATE_PROCESS` sends SIGKILL to the step's process and all its descendants.

Either way the step ends CANCELLED, and its ActionOnFailure does not apply. Where this
machine needs more than EMR does, the harness says so in the step's syslog: a process that
ignores SIGTERM for `INTERRUPT_GRACE_S` is killed (on EMR it would hold the step
CANCEL_PENDING), and whatever the step left running in its process group when its process
exited is stopped (on EMR such background processes survive), so no process outlives a
cancelled step on the local machine.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from harness.cluster.base import NodeProcess
from harness.emr.observe import syslog

OPTIONS = ("SEND_INTERRUPT", "TERMINATE_PROCESS")
INTERRUPT_GRACE_S = 60.0


def cancel_running(process: NodeProcess, option: str, step_dir: Path,
                   exited: threading.Event, grace_s: float = INTERRUPT_GRACE_S) -> None:
    """Signal a step's process as `option` says; with SEND_INTERRUPT, kill it after
    `grace_s` if it has not exited (`exited` is set by whoever waits for it)."""
    if option == "TERMINATE_PROCESS":
        syslog(step_dir, "CancelSteps TERMINATE_PROCESS: sending SIGKILL to the step's process "
                         "and all its descendants")
        process.signal(signal.SIGKILL, group=True)
        return
    syslog(step_dir, "CancelSteps SEND_INTERRUPT: sending SIGTERM to the step's process")
    process.signal(signal.SIGTERM, group=False)
    if not exited.wait(grace_s):
        syslog(step_dir, f"the step's process ignored SIGTERM for {grace_s:.0f} s; the local "
                         "harness sends SIGKILL to its process group (EMR would keep the step "
                         "CANCEL_PENDING)", "WARN")
        process.signal(signal.SIGKILL, group=True)


def start(process: NodeProcess, option: str, step_dir: Path,
          exited: threading.Event) -> threading.Thread:
    """cancel_running in the background (the runner's loop must not wait for a grace)."""
    thread = threading.Thread(target=cancel_running, args=(process, option, step_dir, exited),
                              daemon=True, name=f"cancel-{step_dir.name}")
    thread.start()
    return thread
