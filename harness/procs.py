"""Child processes the harness owns, the registry that lets the next harness command reap
them when we die, and the one policy for the signals that stop us.

Every child the harness starts (the endpoint server, Spark daemons, spark-submit, EMR step
and bootstrap processes) is an `OwnedProcess`: it runs in its own session and process group
and is stopped, with everything it started, on every exit path: normal return, exception,
Ctrl-C, SIGTERM, SIGHUP, interpreter exit. The object that started it stops it (in
`__exit__` or a finally clause); whatever is still running at interpreter exit is stopped
by `stop_all()` (atexit). A stop is SIGTERM to the whole group, then SIGKILL after a grace.

Nothing of that runs when we are SIGKILLed (an OOM kill, a CI timeout's `kill -9`). So
every child is also recorded on disk, with its identity, in the *registry*: a directory per
owner (the harness process that started it) under `Settings().owners_dir`
(HARNESS_OWNERS_DIR, default /tmp/emr-rehearsal-UID/owners):

    <owner pid>-<owner start time>/owner.json           who owns (pid, start, command line)
    <owner pid>-<owner start time>/p-<pid>-<start>.json  a child: pid, start time, command
    <owner pid>-<owner start time>/r-<name>.json         a resource: how to remove it (the
                                                        docker backend's containers)
    <owner pid>-<owner start time>/s-<token>.json        a child being started: written
                                                        before the fork, removed once its
                                                        p- record is written

A child's pid exists only once it is forked, so a SIGKILL between the fork and its record
would leave a child nobody knows of: every child is started with a token in its
environment (HARNESS_SPAWN, inherited by what it starts), recorded (`s-`) before the fork;
the reaper finds the processes of a gone owner's unfinished spawns by that token in
/proc/PID/environ.

A process's identity is its pid plus its start time (clock ticks after boot, field 22 of
/proc/PID/stat): pids are reused (pid_max is 32768 on many machines), a pid with another
start time is another process and is never signalled. The command line is recorded to name
the process in messages; it is not compared, since spark-class and the node runner `exec`.

`reap()` finds owners that are gone (no process with that pid and start time) and stops
what they left: children SIGTERM-then-SIGKILL with their groups (each checked against its
identity first), resources through their recorded remover; a stopped child that was itself
an owner (an endpoint with job flows) is reaped in the same call. It runs at the start of
every `harness` command and at the start and end of the test suite; on a machine with
nothing to reap it costs a directory listing (README: "Processes and their owner").

Why a reaper and not PR_SET_PDEATHSIG: the parent-death signal fires when the *thread*
that forked the child exits, and the harness starts workers from short-lived threads
(capacity resizes, bootstrap actions), so it would kill healthy daemons; it also cannot
remove a container.

Detached processes (`harness up`) outlive the command that started them: they are
recorded as detached and, once `up` has succeeded, handed over (`hand_over`) to the
endpoint process `up` started, which owns them from then on (its own exit stops them,
`harness down` stops them, and if it is SIGKILLed the next command reaps them). A `harness
up` killed before it finished never handed them over: the next command reaps them.

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
- SIGKILL cannot be caught: nothing runs here, and the registry is what the next command
  reaps.
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_owned: set[OwnedProcess] = set()
_lock = threading.Lock()
SPAWN_VAR = "HARNESS_SPAWN"  # a child's spawn token, in its environment (module docstring)
# The nodes' processes (Spark daemons, their executors, steps, their environments' copies)
# run below the harness's CPU priority: on EMR the control plane never shares the
# cluster's cores, and here a queued job flow's JVMs starting on both cores made the
# endpoint's describe/list calls wait (benchmarks/test_load.py; README "Faults, bad input
# and load"). With the CPU idle it changes nothing.
NODE_NICENESS = 10


# -- identity ----------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields from the state on (index 0 = field 3), None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    return text.rsplit(")", 1)[1].split()


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks after boot), None when there is none."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


@dataclass(frozen=True)
class Identity:
    """One process, not just a pid: the pid plus its start time; `cmd` names it in messages.
    `start` None (a record written before start times were kept) falls back to `cmd_hint`:
    a substring the process's command line must contain."""

    pid: int
    start: int | None
    cmd: str = ""
    cmd_hint: str | None = None

    @classmethod
    def of(cls, pid: int) -> Identity:
        return cls(pid, start_time(pid), cmdline(pid))

    def running(self) -> bool:
        """This very process runs (a zombie, or another process with the pid, does not)."""
        fields = _stat(self.pid)
        if fields is None or fields[0] == "Z":
            return False
        if self.start is not None:
            return int(fields[19]) == self.start
        return bool(self.cmd_hint) and self.cmd_hint in cmdline(self.pid)

    def _leader_gone(self) -> bool:
        fields = _stat(self.pid)
        return fields is None or (fields[0] == "Z" and (
            self.start is None or int(fields[19]) == self.start))

    def group_members(self) -> list[int]:
        """Live processes of this process's group, its leader included, or [] when the pid
        now belongs to another process. With the leader gone, members are what still has
        its pgid and session and started after it (a pid is not reused while a group uses
        it, but a recycled pid may lead a new group of its own: hence the start check)."""
        if self.running():
            return [self.pid]  # killpg reaches the rest
        if not self._leader_gone() or self.start is None:
            return []
        members = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            fields = _stat(int(entry.name))
            if (fields and fields[0] != "Z" and int(fields[2]) == self.pid
                    and int(fields[3]) == self.pid and int(fields[19]) >= self.start):
                members.append(int(entry.name))
        return members

    def alive(self) -> bool:
        """Anything of its group still runs (the leader, or members that outlived it)."""
        return bool(self.group_members())

    def signal_group(self, sig: int) -> bool:
        """Send `sig` to its group if the group is still this process's (to the process
        alone if it leads no group); False when the pid is another process's now."""
        members = self.group_members()
        if not members:
            return False
        fields = _stat(self.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if fields is not None and int(fields[2]) != self.pid:
                os.kill(self.pid, sig)  # not a group leader: its group is not ours to signal
            else:
                os.killpg(self.pid, sig)
        return True

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.cmd[:120] or '?'})"


def stop_identified(targets: Sequence[Identity], grace_s: float = 10.0) -> list[Identity]:
    """SIGTERM each target's group (only where the pid is still that process), wait up to
    `grace_s` for all, then SIGKILL what is left; returns the targets that were running."""
    running = [t for t in targets if t.signal_group(signal.SIGTERM)]
    deadline = time.monotonic() + grace_s
    left = running
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [t for t in left if t.alive()]
    for target in left:
        target.signal_group(signal.SIGKILL)
    deadline = time.monotonic() + 5.0  # SIGKILL is delivered asynchronously
    while left and time.monotonic() < deadline:
        left = [t for t in left if t.alive()]
        if left:
            time.sleep(0.02)
    return running


# -- the registry ------------------------------------------------------------------------------

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_settings: dict[int, tuple[Path, str | None]] = {}


def _registry() -> tuple[Path, str | None]:
    """(the registry's root, this run's session label), read once per process."""
    key = os.getpid()
    if key not in _settings:
        from harness.config import Settings

        settings = Settings()
        _settings[key] = (settings.owners_dir, settings.docker_session)
    return _settings[key]


def _boot_id() -> str:
    with contextlib.suppress(OSError):
        return _BOOT_ID.read_text().strip()
    return ""


def _key(ident: Identity) -> str:
    return f"{ident.pid}-{ident.start}"


_me: dict[int, Identity] = {}


def me() -> Identity:
    """This process as an owner."""
    pid = os.getpid()
    if pid not in _me:
        _me[pid] = Identity.of(pid)
    return _me[pid]


def owner_key() -> str:
    """This process's name as an owner (docker labels carry it)."""
    return _key(me())


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _owner_dir(owner: Identity | None = None, root: Path | None = None,
               session: str | None = None) -> Path:
    """The registry directory of `owner` (default: this process), made on first use."""
    reg_root, reg_session = _registry() if root is None else (root, session)
    owner = owner or me()
    path = reg_root / _key(owner)
    if not (path / "owner.json").exists():
        path.mkdir(parents=True, exist_ok=True)
        _write_json(path / "owner.json", {
            "pid": owner.pid, "start": owner.start, "cmd": owner.cmd, "boot": _boot_id(),
            "session": reg_session})
    return path


def _record_name(ident: Identity) -> str:
    return f"p-{ident.pid}-{ident.start}.json"


def _register(ident: Identity, detached: bool, grace_s: float) -> None:
    _write_json(_owner_dir() / _record_name(ident), {
        "kind": "process", "pid": ident.pid, "start": ident.start, "cmd": ident.cmd,
        "detached": detached, "grace_s": grace_s})


def _spawning(cmd: Sequence[str]) -> tuple[str, Path]:
    """Record a child about to be forked: its token and its spawn record."""
    token = uuid.uuid4().hex
    path = _owner_dir() / f"s-{token}.json"
    _write_json(path, {"kind": "spawn", "token": token, "cmd": " ".join(cmd)})
    return token, path


def _spawned_with(tokens: set[str]) -> list[Identity]:
    """The live processes whose environment carries one of the spawn tokens."""
    wanted = {f"{SPAWN_VAR}={t}".encode() for t in tokens}
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
        except OSError:
            continue
        if wanted.intersection(environ):
            found.append(Identity.of(int(entry.name)))
    return [ident for ident in found if ident.running()]


def _unregister(ident: Identity) -> None:
    path = _registry()[0] / _key(me()) / _record_name(ident)
    path.unlink(missing_ok=True)


def register_resource(name: str, remover: str, *args: str, detached: bool = False) -> None:
    """Record something this process made that is not a process (a docker cluster): the
    reaper calls `remover` ("module:function") with `args` if we die without removing it."""
    _write_json(_owner_dir() / f"r-{name}.json", {
        "kind": "resource", "name": name, "remover": remover, "args": list(args),
        "detached": detached})


def unregister_resource(name: str) -> None:
    """The resource is removed (or handed to its owner's own clean-up)."""
    for path in _registry()[0].glob(f"*/r-{name}.json"):
        path.unlink(missing_ok=True)


def hand_over(to: Identity) -> int:
    """Give every detached child and resource of this process to `to` (the endpoint `harness
    up` started), which owns them from now on; returns how many were handed over."""
    mine = _registry()[0] / _key(me())
    if not mine.is_dir():
        return 0
    target = _owner_dir(to)
    moved = 0
    for path in sorted(mine.glob("[pr]-*.json")):
        data = _read(path)
        if data is None or not data.get("detached"):
            continue
        data["detached"] = False  # the new owner stops it when it stops
        data["self"] = data.get("kind") == "process" and data["pid"] == to.pid \
            and data["start"] == to.start
        _write_json(target / path.name, data)
        path.unlink(missing_ok=True)
        moved += 1
    return moved


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@dataclass
class Orphan:
    """What a gone owner left: its record's identity (or resource name) and the owner."""

    owner: str
    what: str

    def __str__(self) -> str:
        return f"{self.what} (owner {self.owner})"


def _owner_of(path: Path) -> tuple[Identity, dict[str, Any]] | None:
    data = _read(path / "owner.json")
    if data is None:
        return None
    return Identity(int(data["pid"]), data.get("start"), data.get("cmd", "")), data


def _stop_records(records: list[tuple[Path, dict[str, Any]]], owner: str) -> list[Orphan]:
    """Stop processes (identity checked) and remove resources; delete their records."""
    done: list[Orphan] = []
    procs = [(p, d) for p, d in records if d.get("kind") == "process" and not d.get("self")]
    targets = [Identity(d["pid"], d.get("start"), d.get("cmd", "")) for _, d in procs]
    spawns = {str(d["token"]) for _, d in records if d.get("kind") == "spawn"}
    if spawns:  # killed between a fork and its record: found by their token
        known = {(t.pid, t.start) for t in targets}
        targets += [t for t in _spawned_with(spawns) if (t.pid, t.start) not in known]
    grace = max([float(d.get("grace_s", 10.0)) for _, d in procs], default=10.0)
    for target in stop_identified(targets, grace):
        done.append(Orphan(owner, str(target)))
    for path, data in records:
        if data.get("kind") == "resource":  # (a spawn record goes with its processes)
            module, _, func = str(data["remover"]).partition(":")
            try:
                getattr(importlib.import_module(module), func)(*data.get("args", []))
                done.append(Orphan(owner, f"{data['name']}"))
            except Exception as exc:  # noqa: BLE001 - the next reap tries again
                done.append(Orphan(owner, f"{data['name']} (not removed: {exc})"))
                continue
        path.unlink(missing_ok=True)
    return done


def reap(root: Path | None = None, rounds: int = 5) -> list[Orphan]:
    """Stop what gone owners left (module docstring); returns what was stopped or removed.
    Another reaper busy with an owner (a lock) is left to it."""
    root = root if root is not None else _registry()[0]
    reaped: list[Orphan] = []
    boot = None
    for _ in range(rounds):
        try:
            dirs = [Path(e.path) for e in os.scandir(root) if e.is_dir()]
        except FileNotFoundError:
            return reaped
        found = False
        for path in dirs:
            owner = _owner_of(path)
            if owner is not None and owner[0].running():
                continue
            boot = boot if boot is not None else _boot_id()
            with _locked(path) as mine:
                if not mine:
                    continue
                found = True
                if owner is None or owner[1].get("boot") == boot:  # pids of another boot
                    records = [(p, d) for p in sorted(path.glob("[prs]-*.json"))
                               if (d := _read(p)) is not None]
                    reaped += _stop_records(records, path.name)
                if not any(path.glob("[prs]-*.json")):
                    _remove_dir(path)
        if not found:
            break
    return reaped


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[bool]:
    try:
        fd = os.open(path / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _remove_dir(path: Path) -> None:
    for child in path.iterdir():
        child.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.rmdir()


@dataclass(frozen=True)
class Owned:
    """A live registered child or resource (what the test suite's leak check compares)."""

    owner: str
    kind: str
    ident: str
    what: str
    owner_alive: bool
    self_owned: bool = False


def registered(session: str | None = None, root: Path | None = None) -> list[Owned]:
    """Every live registered child and resource (those of one session's owners, if given)."""
    root = root if root is not None else _registry()[0]
    found: list[Owned] = []
    try:
        dirs = [Path(e.path) for e in os.scandir(root) if e.is_dir()]
    except FileNotFoundError:
        return found
    for path in dirs:
        owner = _owner_of(path)
        if owner is None or (session is not None and owner[1].get("session") != session):
            continue
        owner_alive = owner[0].running()
        for record in path.glob("[pr]-*.json"):
            data = _read(record)
            if data is None:
                continue
            if data["kind"] == "process":
                ident = Identity(data["pid"], data.get("start"), data.get("cmd", ""))
                if ident.alive():
                    found.append(Owned(path.name, "process", _key(ident), str(ident),
                                       owner_alive, bool(data.get("self"))))
            else:
                found.append(Owned(path.name, "resource", data["name"], data["name"],
                                   owner_alive))
    return found


def _exit_owner() -> None:
    """At our exit: stop what was handed to us, drop our own records, and leave the
    directory only if detached children were never handed over (the reaper's, then)."""
    if os.getpid() not in _me and "harness.config" not in sys.modules:
        return  # neither registered anything nor read the settings: owns nothing
    path = _registry()[0] / _key(me())
    if not path.is_dir():
        return
    records = [(p, d) for p in sorted(path.glob("[pr]-*.json")) if (d := _read(p)) is not None]
    _stop_records([(p, d) for p, d in records if not d.get("detached")], path.name)
    for p, d in records:
        if d.get("self"):
            p.unlink(missing_ok=True)
    if not any(path.glob("[pr]-*.json")):
        _remove_dir(path)


# -- owned processes ---------------------------------------------------------------------------

def lower_priority(pid: int, niceness: int) -> None:
    """Lower the CPU priority of the session `pid` leads, everything it starts included.
    `nice` alone does not do it where the kernel groups tasks by session (autogroup, on by
    default in most distributions): CPU is shared between sessions first and a nice value
    counts only inside its own, so the session's autogroup is given the niceness too (an
    unprivileged process may raise it). Best effort: without autogroup there is nothing
    more to do."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(niceness))


class OwnedProcess:
    """A `subprocess.Popen` in a new session, recorded in the registry; `stop()` signals
    the whole group. `grace_s`: how long the reaper waits after SIGTERM (an endpoint stops
    its job flows first). `niceness`: run below our CPU priority (`nice`, which execs, and
    the session's autogroup: `lower_priority`)."""

    def __init__(self, cmd: Sequence[str], env: Mapping[str, str] | None = None,
                 cwd: Path | None = None, log: Path | None = None,
                 detached: bool = False, stdout: IO | int | None = None,
                 stderr: IO | int | None = None, text: bool = False,
                 grace_s: float = 10.0, niceness: int = 0) -> None:
        self.cmd = ["nice", "-n", str(niceness), *cmd] if niceness else list(cmd)
        self._log: IO | int = subprocess.DEVNULL
        token, spawning = _spawning(self.cmd)
        try:
            self._log = log.open("ab") if log else subprocess.DEVNULL
            self.proc = subprocess.Popen(
                self.cmd, env={**(os.environ if env is None else env), SPAWN_VAR: token},
                cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout or self._log,
                stderr=stderr or subprocess.STDOUT, start_new_session=True, text=text,
            )
        except BaseException:
            spawning.unlink(missing_ok=True)
            self._close_log()
            raise
        if niceness:
            lower_priority(self.proc.pid, niceness)
        # its identity now: a process that exits at once (a failed exec) still has one
        start = start_time(self.proc.pid)
        self.identity = Identity(self.proc.pid, start, " ".join(self.cmd))
        self.detached = detached  # outlives us (harness up): not stopped at our exit
        with _lock:
            if not detached:
                _owned.add(self)
        try:
            if start is not None:
                _register(self.identity, detached, grace_s)
        except BaseException:
            self.stop()
            raise
        finally:
            spawning.unlink(missing_ok=True)  # recorded by its identity now (or gone)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def signal(self, sig: int, group: bool = True) -> None:
        """Send `sig` to the whole process group, or to the leader alone."""
        if self.proc.returncode is not None and not self.identity.alive():
            return  # reaped: its pid may be another process's now
        with contextlib.suppress(ProcessLookupError):
            (os.killpg if group else os.kill)(self.proc.pid, sig)

    def stop(self, grace_s: float = 10.0) -> None:
        if self.proc.returncode is None or self.identity.alive():
            stop_group(self.proc.pid, grace_s, self.proc)
        with _lock:
            _owned.discard(self)
        _unregister(self.identity)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not subprocess.DEVNULL:
            self._log.close()


def run(cmd: Sequence[str], timeout: float | None = None, grace_s: float = 30.0,
        **kwargs: Any) -> subprocess.CompletedProcess:
    """`subprocess.run` for a child that may start servers or clusters (pytest, harness):
    owned, and on a timeout (or Ctrl-C) SIGTERM then SIGKILL to its group, so it can stop
    what it started; subprocess.run would SIGKILL it alone (what a SIGKILL leaves, the
    reaper stops here). `capture_output`, `text`, `env`, `cwd`, `check` as subprocess.run;
    output not captured goes to `stdout` / `stderr` if given, else nowhere; `niceness` as
    OwnedProcess's."""
    capture = kwargs.pop("capture_output", False)
    check = kwargs.pop("check", False)
    stdin_input = kwargs.pop("input", None)
    if stdin_input is not None:
        raise TypeError("procs.run takes no input")
    proc = OwnedProcess(cmd, env=kwargs.pop("env", None), cwd=kwargs.pop("cwd", None),
                        stdout=subprocess.PIPE if capture else kwargs.pop("stdout", None),
                        stderr=subprocess.PIPE if capture else kwargs.pop("stderr", None),
                        text=bool(kwargs.pop("text", False)), grace_s=grace_s,
                        niceness=int(kwargs.pop("niceness", 0)))
    if kwargs:
        raise TypeError(f"procs.run does not take {', '.join(kwargs)}")
    try:
        stdout, stderr = proc.proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        proc.stop(grace_s)
        stdout, stderr = proc.proc.communicate()
        reap()  # had it to be SIGKILLed, what it started is an orphan now
        raise subprocess.TimeoutExpired(proc.cmd, timeout or 0, stdout, stderr) from exc
    except BaseException:
        proc.stop(grace_s)
        reap()
        raise
    proc.stop(grace_s)  # anything it left in its group
    done = subprocess.CompletedProcess(proc.cmd, proc.proc.returncode, stdout, stderr)
    if check:
        done.check_returncode()
    return done


def pid_alive(pid: int) -> bool:
    """Whether the process runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); treat it as gone
    fields = _stat(pid)
    return not (fields is not None and fields[0] == "Z")


def cmdline(pid: int) -> str:
    """The process's command line ('' when it is gone or unreadable)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()
    except OSError:
        return ""


def stop_group(pgid: int, grace_s: float = 10.0,
               proc: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group, wait up to `grace_s`, then SIGKILL what is left. Only for
    a group we know is ours (a Popen of ours, or checked: `Identity`)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    else:
        deadline = time.monotonic() + grace_s
        while pid_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    if proc is not None:
        proc.wait()


def stop_all() -> None:
    """Stop every owned, non-detached process still running (at interpreter exit, after
    the `with` blocks a signal unwound), then what was handed to this process."""
    with _lock:
        owned = list(_owned)
    for process in owned:
        with contextlib.suppress(Exception):
            process.stop(grace_s=5.0)
    with contextlib.suppress(Exception):
        _exit_owner()


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
