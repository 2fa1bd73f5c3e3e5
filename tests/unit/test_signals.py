"""The one signal policy (harness.procs): Ctrl-C, SIGTERM and SIGHUP unwind the run, so the
owned processes a `with` block started are stopped, and the exit status is 128 + the
signal, through typer too; inside pytest they end the session with its teardown; a signal
the caller had ignored (nohup) stays ignored; a handler someone else set is kept when
asked; a server's main loop waits for them. Each case runs in a child interpreter
(signals are process-wide)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from harness.procs import pid_alive

# a command as the CLI runs one: under typer, with an owned process and a finally clause
OWNER = textwrap.dedent("""
    import json, sys
    import typer
    from harness.procs import OwnedProcess, install_signal_handlers

    app = typer.Typer()

    @app.command()
    def run() -> None:
        child = OwnedProcess(["sleep", "600"])
        try:
            print(json.dumps({"child": child.pid}), flush=True)
            sys.stdin.read()  # until a signal
        finally:
            child.stop(grace_s=5.0)
            print("unwound", flush=True)

    install_signal_handlers()
    sys.exit(app(standalone_mode=False))
""")

SESSION = textwrap.dedent("""
    import json, pytest
    from harness.procs import OwnedProcess, install_signal_handlers

    @pytest.fixture(scope="session")
    def child():
        install_signal_handlers(keep_existing=True, keyboard_interrupt=True)
        proc = OwnedProcess(["sleep", "600"])
        yield proc
        proc.stop(grace_s=5.0)
        print("TEARDOWN", flush=True)

    def test_waits(child):
        print(json.dumps({"child": child.pid}), flush=True)
        import time
        time.sleep(600)

    def test_never_reached():
        print("NEXT TEST RAN", flush=True)
""")


def _default_sigint() -> None:
    # a test run started in the background of a script inherits SIGINT ignored; the child
    # stands for an interactive command, where Ctrl-C arrives
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *argv], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pid_alive(pid)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_unwinds_stops_owned_processes_and_sets_the_exit_status(sig):
    proc = _run("-c", OWNER)
    try:
        child = json.loads(proc.stdout.readline())["child"]
        assert pid_alive(child)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 128 + sig  # typer turned no signal into exit 0
        assert proc.stdout.read().strip() == "unwound"
    finally:
        proc.kill()
    assert _gone(child)


def test_inside_pytest_sigterm_ends_the_session_with_its_teardown(tmp_path):
    (tmp_path / "test_session.py").write_text(SESSION)
    proc = _run("-m", "pytest", str(tmp_path / "test_session.py"), "-s", "-q",
                "-p", "no:cacheprovider", "--rootdir", str(tmp_path))
    try:
        line = proc.stdout.readline()
        while not line.startswith("{"):
            assert line, "pytest ended before the test started"
            line = proc.stdout.readline()
        child = json.loads(line[line.index("{"):])["child"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == pytest.ExitCode.INTERRUPTED
        output = proc.stdout.read()
    finally:
        proc.kill()
    assert "TEARDOWN" in output and "NEXT TEST RAN" not in output
    assert _gone(child)


def test_an_ignored_signal_stays_ignored_and_a_foreign_handler_is_kept_when_asked():
    script = textwrap.dedent("""
        import signal
        from harness.procs import install_signal_handlers
        mine = lambda *_: None
        signal.signal(signal.SIGTERM, mine)
        install_signal_handlers(keep_existing=True)
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
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


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_server_main_loop_waits_for_a_stop_signal_and_names_it(sig):
    proc = _run("-c", "from harness.procs import wait_for_stop_signal\n"
                      "n = wait_for_stop_signal(lambda: print('ready', flush=True))\n"
                      "print(int(n), flush=True)\n")
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(sig)  # at once: caught even before the loop pauses
        assert proc.wait(timeout=30) == 0
        assert proc.stdout.read().strip() == str(int(sig))
    finally:
        proc.kill()
