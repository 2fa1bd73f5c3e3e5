"""Child processes the harness owns: each runs in its own process group and is stopped,
with everything it started, on every exit path (normal return, exception, Ctrl-C, SIGTERM,
interpreter exit)."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

_owned: set[OwnedProcess] = set()
_lock = threading.Lock()


class OwnedProcess:
    """A `subprocess.Popen` in a new session; `stop()` signals the whole group."""

    def __init__(self, cmd: Sequence[str], env: Mapping[str, str] | None = None,
                 cwd: Path | None = None, log: Path | None = None,
                 detached: bool = False, stdout: IO | None = None,
                 stderr: IO | None = None) -> None:
        self.cmd = list(cmd)
        self._log = log.open("ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self.cmd, env=dict(env) if env is not None else None, cwd=cwd,
            stdin=subprocess.DEVNULL, stdout=stdout or self._log,
            stderr=stderr or subprocess.STDOUT, start_new_session=True,
        )
        self.detached = detached  # detached processes outlive us (harness up): not reaped
        if not detached:
            with _lock:
                _owned.add(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def stop(self, grace_s: float = 10.0) -> None:
        stop_group(self.proc.pid, grace_s, self.proc)
        with _lock:
            _owned.discard(self)
        if self._log is not subprocess.DEVNULL:
            self._log.close()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); treat it as gone
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def cmdline(pid: int) -> str:
    """The process's command line ('' when it is gone or unreadable)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def stop_group(pgid: int, grace_s: float = 10.0,
               proc: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group, wait up to `grace_s`, then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    else:
        import time

        deadline = time.monotonic() + grace_s
        while pid_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    if proc is not None:
        proc.wait()


def stop_all() -> None:
    """Stop every owned, non-detached process (at exit and on SIGTERM)."""
    with _lock:
        owned = list(_owned)
    for process in owned:
        with contextlib.suppress(Exception):
            process.stop(grace_s=5.0)


def install_signal_handlers() -> None:
    """Turn SIGTERM (and SIGHUP) into SystemExit so `with` blocks and finally clauses run,
    exactly as Ctrl-C's KeyboardInterrupt does."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not in the main thread
            signal.signal(sig, _exit)


atexit.register(stop_all)
