"""The detached-mode state file: what `up` recorded is what `down` stops, and a dead or
reused pid is never mistaken for our endpoint."""

from __future__ import annotations

import os

from harness.state import EndpointRecord, RuntimeState


def test_state_round_trips_and_clears(tmp_path):
    state = RuntimeState.load(tmp_path)
    assert state.empty
    state.endpoint = EndpointRecord("http://127.0.0.1:4566", 4566, 123, "moto", "us-east-1")
    state.save()
    loaded = RuntimeState.load(tmp_path)
    assert loaded.endpoint == state.endpoint
    loaded.clear()
    assert RuntimeState.load(tmp_path).empty


def test_a_pid_running_something_else_is_not_our_endpoint():
    record = EndpointRecord("http://127.0.0.1:4566", 4566, os.getpid(), "moto", "us-east-1")
    assert not record.alive  # this pytest process is alive, but it is not the endpoint
    gone = EndpointRecord("http://127.0.0.1:4566", 4566, 2**22 + 7, "moto", "us-east-1")
    assert not gone.alive


def test_corrupt_state_file_reads_as_empty(tmp_path):
    (tmp_path / "state.json").write_text("{not json")
    assert RuntimeState.load(tmp_path).empty
