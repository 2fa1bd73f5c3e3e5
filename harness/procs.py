"""Child processes the harness owns, and the one policy for the signals that stop us.

An owned process runs in its own process group and is stopped, with everything it
started, on every exit path: normal return, exception, Ctrl-C, SIGTERM, SIGHUP, interpreter
exit. The object that started it stops it (in `__exit__` or a finally clause); whatever is
still running at interpreter exit is stopped by `stop_all()` (atexit). Detached processes
(`harness up`) are the exception: they outlive us and `harness down` stops them.

The signal policy, one for the CLI, the endpoint server and the pytest plugin, in force
once `install_signal_handlers()` has run in the main thread:
- SIGINT (Ctrl-C), SIGTERM (a cancelled CI job, `timeout`, `docker stop`) and SIGHUP (a
  closed terminal) stop the run the same way: they raise `Terminated` in the main thread,
  a SystemExit whose status is 128 + the signal's number (130, 143, 129). It unwinds the
  run, so every `with` block and finally clause runs and the owned processes stop; no
  `except Exception` swallows it, and typer and click let it through (a KeyboardInterrupt
  they turn into a return value).
- Inside pytest (`keyboard_interrupt=True`, the plugin) SIGTERM and SIGHUP raise
  KeyboardInterrupt instead, which pytest ends the session on, with the fixtures'
  teardown (a SystemExit would fail one test and carry on); SIGINT stays pytest's own.
- A signal the process was started with ignored (`nohup`, `&` in a script) stays ignored;
  a server waits for the policy's signals with `wait_for_stop_signal()`.
- SIGKILL cannot be caught: nothing runs, and owned process groups outlive us (`harness
  down` finds what `harness up` recorded).
"""
from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
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

    def signal(self, sig: int, group: bool = True) -> None:
        """Send `sig` to the whole process group, or to the leader alone."""
        with contextlib.suppress(ProcessLookupError):
            (os.killpg if group else os.kill)(self.proc.pid, sig)

    def stop(self, grace_s: float = 10.0) -> None:
        stop_group(self.proc.pid, grace_s, self.proc)
        with _lock:
            _owned.discard(self)
        if self._log is not subprocess.DEVNULL:
            self._log.close()


def pid_alive(pid: int) -> bool:
    """Whether the process runs (a zombie counts as gone)."""
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
    """Stop every owned, non-detached process still running (at interpreter exit, after
    the `with` blocks a signal unwound)."""
    with _lock:
        owned = list(_owned)
    for process in owned:
        with contextlib.suppress(Exception):
            process.stop(grace_s=5.0)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Terminated(SystemExit):
    """A stop signal arrived: unwinds the main thread, then exits 128 + its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def _raise_keyboard_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def install_signal_handlers(keep_existing: bool = False,
                            keyboard_interrupt: bool = False) -> None:
    """Apply the signal policy (module docstring) to this process. keyboard_interrupt: for a
    host that stops on KeyboardInterrupt (pytest); SIGINT is then left to it. keep_existing
    leaves a signal alone whose handler someone else set. Only the main thread can set
    handlers: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return
    handler = _raise_keyboard_interrupt if keyboard_interrupt else _raise_terminated
    for sig in STOP_SIGNALS:
        if keyboard_interrupt and sig == signal.SIGINT:
            continue
        current = signal.getsignal(sig)
        if current is signal.SIG_IGN:  # nohup: whoever started us asked for that
            continue
        if keep_existing and current not in (signal.SIG_DFL, signal.default_int_handler,
                                             handler):
            continue
        signal.signal(sig, handler)


def wait_for_stop_signal(ready: Callable[[], object] | None = None) -> int:
    """Block the main thread until Ctrl-C, SIGTERM or SIGHUP (a server's main loop, with the
    policy installed); returns the signal's number. `ready` runs once the handlers are in
    place: a server announces itself there, so a stop sent as soon as it reads the
    announcement is still caught here."""
    try:
        install_signal_handlers()
        if ready is not None:
            ready()
        while True:
            signal.pause()
    except Terminated as exc:
        return exc.signum
    except KeyboardInterrupt:  # SIGINT, where someone else's handler was kept
        return signal.SIGINT


atexit.register(stop_all)
