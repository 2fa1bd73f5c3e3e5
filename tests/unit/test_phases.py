"""A Spark run's wall time cut into phases (harness.phases), from the job's marks, the
launcher's clock, a Spark event log and an EMR step's timeline; hand-written events."""

import json
from datetime import UTC, datetime

from harness.phases import (
    controller_lines,
    event_log_figures,
    event_log_file,
    event_log_lines,
    parse_controller,
    spark_phases,
    step_phases,
)

T0 = 1_800_000_000.0  # epoch seconds of the job's main()
MARKS = {"python": T0 - 0.5, "main": T0, "session": T0 + 2.0, "read": T0 + 3.0,
         "written": T0 + 9.0}


def _events() -> list[str]:
    ms = lambda s: int((T0 + s) * 1000)  # noqa: E731
    events = [
        {"Event": "SparkListenerExecutorAdded", "Timestamp": ms(4.0), "Executor ID": "1"},
        # a schema job during the read: outside the writes' window
        {"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": ms(2.5),
         "Properties": {}},
        {"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": ms(2.8)},
        # the first write: a broadcast beside its main job (overlap counted once), waiting
        # 0.5 s for the executor
        {"Event": "SparkListenerJobStart", "Job ID": 1, "Submission Time": ms(3.5),
         "Properties": {"spark.sql.execution.id": "0"}},
        {"Event": "SparkListenerJobStart", "Job ID": 2, "Submission Time": ms(3.6),
         "Properties": {"spark.sql.execution.id": "0"}},
        {"Event": "SparkListenerJobEnd", "Job ID": 2, "Completion Time": ms(4.5)},
        {"Event": "SparkListenerJobEnd", "Job ID": 1, "Completion Time": ms(6.0)},
        {"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd",
         "executionId": 0, "time": ms(6.5)},
        {"Event": "SparkListenerJobStart", "Job ID": 3, "Submission Time": ms(7.0),
         "Properties": {"spark.sql.execution.id": "1"}},
        {"Event": "SparkListenerJobEnd", "Job ID": 3, "Completion Time": ms(8.0)},
        {"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd",
         "executionId": 1, "time": ms(8.75)},
    ]
    return [json.dumps(e) for e in events] + ['{"Event": "SparkListenerTaskEn']  # cut off


def test_event_log_gives_executor_wait_compute_once_and_commit():
    figures = event_log_figures(_events(), (MARKS["read"], MARKS["written"]))
    assert round(figures["executors"], 3) == 0.5  # job 1 at 3.5, executor at 4.0
    # jobs cover 3.5-6.0 and 7.0-8.0 = 3.5 s, less the 0.5 s waiting
    assert round(figures["compute"], 3) == 3.0
    assert round(figures["commit"], 3) == 1.25  # 6.0-6.5 and 8.0-8.75


def test_phases_cover_the_wall_time_in_order(tmp_path):
    logs = tmp_path / "events"
    rolling = logs / "eventlog_v2_app-1"  # Spark 4's rolling layout
    rolling.mkdir(parents=True)
    (rolling / "events_1_app-1").write_text("\n".join(_events()[:5]) + "\n")
    (rolling / "events_2_app-1").write_text("\n".join(_events()[5:]) + "\n")
    (rolling / "events_3_app-1.zstd").write_bytes(b"\x28\xb5\x2f\xfd")  # skipped
    found = event_log_file(logs, "app-1")
    assert found == rolling and len(list(event_log_lines(found))) == len(_events())
    launched, ended = T0 - 1.5, T0 + 9.4
    phases = spark_phases({"marks": MARKS, "app_id": "app-1"}, launched, ended, found)
    assert list(phases) == ["driver start", "session", "read", "executors", "compute",
                            "commit", "write", "stop"]
    assert phases["driver start"] == 1.5 and phases["session"] == 2.0
    assert phases["read"] == 1.0 and phases["write"] == 6.0 - 3.0 - 0.5 - 1.25
    assert phases["stop"] == 0.4
    assert round(sum(phases.values()), 3) == round(ended - launched, 3)


def test_without_an_event_log_the_writes_are_one_phase():
    phases = spark_phases({"marks": MARKS}, T0 - 1.0, T0 + 10.0, None)
    assert phases == {"driver start": 1.0, "session": 2.0, "read": 1.0, "write": 6.0,
                      "stop": 1.0}
    assert spark_phases({"job_s": 3.0}, T0, T0 + 5, None) == {}  # no marks: nothing guessed


def test_a_step_adds_its_bookkeeping_around_the_controller_log_phases():
    recorded = {"step downloads": 0.25, "driver start": 1.5, "write": 3.0}
    text = "INFO exit code 0\n" + "\n".join(controller_lines(recorded)) + "\nPHASE junk=x\n"
    assert parse_controller(text) == recorded
    start = datetime.fromtimestamp(T0 + 0.2, UTC)
    end = datetime.fromtimestamp(T0 + 5.0, UTC)
    phases = step_phases(recorded, {"StartDateTime": start, "EndDateTime": end}, T0, T0 + 5.3)
    assert list(phases) == ["step queued", "step downloads", "driver start", "write",
                            "step after exit", "polling"]
    assert phases["step queued"] == 0.2 and phases["polling"] == 0.3
    assert phases["step after exit"] == round(4.8 - 4.75, 3)
