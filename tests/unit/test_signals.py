"""The one signal policy (harness.procs): SIGTERM and SIGHUP unwind like Ctrl-C, so the
owned processes a `with` block started are stopped and the exit status is 128 + the
signal; a signal the caller had ignored (nohup) stays ignored; a handler someone else set
is kept when asked. Each case runs in a child interpreter (signals are process-wide)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from harness.procs import Terminated, interrupted_exit_code, pid_alive

OWNER = textwrap.dedent("""
    import json, sys
    from harness.procs import OwnedProcess, install_signal_handlers, interrupted_exit_code
    install_signal_handlers()
    try:
        child = OwnedProcess(["sleep", "600"])
        try:
            print(json.dumps({"child": child.pid}), flush=True)
            sys.stdin.read()  # until a signal
        finally:
            child.stop(grace_s=5.0)
            print("unwound", flush=True)
    except KeyboardInterrupt as exc:
        sys.exit(interrupted_exit_code(exc))
""")


def _default_sigint() -> None:
    # a test run started in the background of a script inherits SIGINT ignored; the child
    # stands for an interactive command, where Ctrl-C arrives
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(script: str):
    return subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_unwinds_stops_owned_processes_and_sets_the_exit_status(sig):
    proc = _run(OWNER)
    try:
        child = json.loads(proc.stdout.readline())["child"]
        assert pid_alive(child)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 128 + sig
        assert proc.stdout.read().strip() == "unwound"
    finally:
        proc.kill()
    deadline = time.monotonic() + 5
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child)


def test_an_ignored_signal_stays_ignored_and_a_foreign_handler_is_kept_when_asked():
    script = textwrap.dedent("""
        import signal
        from harness.procs import install_signal_handlers
        mine = lambda *_: None
        signal.signal(signal.SIGTERM, mine)
        install_signal_handlers(keep_existing=True)
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # nohup
        install_signal_handlers()
        assert signal.getsignal(signal.SIGTERM) is not mine
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
                         check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_the_exit_status_is_found_through_a_library_s_own_interrupt():
    class Abort(RuntimeError):  # as click re-raises KeyboardInterrupt
        pass

    try:
        try:
            raise Terminated(signal.SIGTERM)
        except KeyboardInterrupt as exc:
            raise Abort() from exc
    except Abort as abort:
        assert interrupted_exit_code(abort) == 143
    assert interrupted_exit_code(KeyboardInterrupt()) == 130
    assert isinstance(Terminated(signal.SIGHUP), KeyboardInterrupt)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_server_main_loop_waits_for_a_stop_signal_and_names_it(sig):
    proc = _run("from harness.procs import wait_for_stop_signal\n"
                "n = wait_for_stop_signal(lambda: print('ready', flush=True))\n"
                "print(int(n), flush=True)\n")
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(sig)  # at once: caught even before the loop pauses
        assert proc.wait(timeout=30) == 0
        assert proc.stdout.read().strip() == str(int(sig))
    finally:
        proc.kill()
