"""The test suite's check that a test leaves no process or container of its own behind.

What counts as the suite's own: every child and resource in the registry (harness.procs)
whose owner is this pytest process, whose owner is gone (a `harness` the test ran and
killed, say), or that owns itself (a detached `harness up` endpoint), among owners of this
run's session; and every live direct child of this pytest process. Children of an owner
that still runs (the session endpoint's job flows) are that owner's to stop, and are
checked when it stops.

Fixtures wider than a test (module, session) keep their processes past the test that set
them up: what a fixture's setup started is the fixture's until it is finalized, then must
be gone (`fixture_started` / `fixture_finalized`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness import procs


class LeakCheck:
    """Snapshots of what this run owns, compared around each test (module docstring)."""

    def __init__(self, session: str | None) -> None:
        self.session = session
        self.pid = os.getpid()
        self._fixtures: dict[object, dict[str, str]] = {}  # a wide fixture -> what it started
        self._finalized: dict[str, str] = {}  # what finalized fixtures started

    def snapshot(self) -> dict[str, str]:
        """What this run owns now: key (pid and start time, or a resource) -> description."""
        mine = procs.owner_key()
        found: dict[str, str] = {}
        for item in procs.registered(self.session):
            if item.owner == mine or not item.owner_alive or item.self_owned:
                found[item.ident] = item.what
        for pid in _children(self.pid):
            ident = procs.Identity.of(pid)
            if ident.running():
                found.setdefault(f"{pid}-{ident.start}", str(ident))
        return found

    def fixture_started(self, fixture: object, before: dict[str, str]) -> None:
        # a wider fixture set up inside this one's setup (a module fixture asking for the
        # session endpoint) finished first and claimed what it started: not this one's
        claimed = set().union(*self._fixtures.values()) if self._fixtures else set()
        started = {k: v for k, v in self.snapshot().items()
                   if k not in before and k not in claimed}
        if started:
            self._fixtures.setdefault(fixture, {}).update(started)

    def fixture_finalized(self, fixture: object) -> None:
        self._finalized.update(self._fixtures.pop(fixture, {}))

    def leaked(self, before: dict[str, str], wait_s: float = 3.0) -> dict[str, str]:
        """What a test left: new since `before` and no wide fixture's, or a finalized
        fixture's and still there. Waits up to `wait_s` for processes still exiting."""
        kept = set().union(*self._fixtures.values()) if self._fixtures else set()
        deadline = time.monotonic() + wait_s
        while True:
            now = self.snapshot()
            left = {k: v for k, v in now.items()
                    if k not in kept and (k not in before or k in self._finalized)}
            if not left or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        self._finalized = {}
        return left


class LeakPlugin:
    """The check as pytest hooks, registered as a plugin (tests/conftest.py): around each
    test, after its teardown; a wide fixture's setup is attributed to that fixture."""

    def __init__(self, session: str | None) -> None:
        self.check = LeakCheck(session)
        self._before = pytest.StashKey[dict]()

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef, request: object):
        if fixturedef.scope == "function":
            return (yield)
        before = self.check.snapshot()
        try:
            return (yield)
        finally:
            self.check.fixture_started(fixturedef, before)

    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef) -> None:
        if fixturedef.scope != "function":
            self.check.fixture_finalized(fixturedef)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        item.stash[self._before] = self.check.snapshot()
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item):
        result = yield
        before = item.stash.get(self._before, None)
        if before is not None:
            left = self.check.leaked(before)
            if left:
                stop_leaked(left)
                pytest.fail(f"{item.nodeid} left {len(left)} process(es) or cluster(s) of "
                            f"its own running (stopped now): {'; '.join(left.values())}",
                            pytrace=False)
        return result


def stop_leaked(leaked: dict[str, str]) -> None:
    """Stop leaked processes (so the next test is not blamed); reap gone owners' rest."""
    targets = []
    for key in leaked:
        pid, _, start = key.partition("-")
        if pid.isdigit() and start.isdigit():
            targets.append(procs.Identity(int(pid), int(start)))
    procs.stop_identified(targets, grace_s=5.0)
    procs.reap()


def _children(pid: int) -> list[int]:
    """The direct children of `pid` (every thread's)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found
