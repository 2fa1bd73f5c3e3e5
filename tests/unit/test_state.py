"""The detached-mode state file: what `up` recorded is what `down` stops, and a dead or
reused pid is never mistaken for our endpoint."""

from __future__ import annotations

import os

from harness.state import JOBFLOWS, EndpointRecord, RuntimeState, jobflow_records


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


def test_the_control_planes_jobflow_records_read_as_one_reader_says(tmp_path):
    """`harness status`/`down` and the console read the control plane's record alike: by
    cluster id, nothing when it is missing, unreadable or half-written."""
    assert jobflow_records(tmp_path) == {}
    (tmp_path / JOBFLOWS).write_text('{"j-1": {"id": "j-1"')  # cut short
    assert jobflow_records(tmp_path) == {}
    (tmp_path / JOBFLOWS).write_text("[]")
    assert jobflow_records(tmp_path) == {}
    (tmp_path / JOBFLOWS).write_text('{"j-1": {"id": "j-1", "backend": "process"}}')
    assert jobflow_records(tmp_path) == {"j-1": {"id": "j-1", "backend": "process"}}
