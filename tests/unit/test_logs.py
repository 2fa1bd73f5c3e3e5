"""The one "telling lines of a log" heuristic: error lines first, the log's end otherwise,
on one line; an unreadable log says so. spark-submit's failures and the cluster backends'
"node exited" messages quote logs through it."""

from __future__ import annotations

from harness import logs
from harness.spark import SubmitResult

SPARK_STDERR = """\
25/06/01 12:00:01 INFO SparkContext: Running Spark version 4.0.1
25/06/01 12:00:05 WARN NativeCodeLoader: Unable to load native-hadoop library
25/06/01 12:00:09 INFO SparkContext: Successfully stopped SparkContext
"""
PYSPARK_STDOUT = """\
Traceback (most recent call last):
  File "/work/job.py", line 12, in <module>
    df = spark.read.parquet(sys.argv[1])
pyspark.errors.exceptions.captured.AnalysisException: [PATH_NOT_FOUND] Path does not exist
"""


def test_the_last_error_lines_are_quoted_on_one_line():
    text = "\n".join(["INFO starting", "ERROR Worker: Failed to connect to master",
                      "INFO retrying", "java.net.ConnectException: Connection refused",
                      "INFO shutting down"])
    assert logs.error_excerpt(text, 2) == ("ERROR Worker: Failed to connect to master | "
                                           "java.net.ConnectException: Connection refused")


def test_a_log_without_errors_is_quoted_by_its_end_without_blank_lines():
    assert logs.error_excerpt("one\ntwo\n\nthree\n\n", 2) == "two | three"
    assert logs.error_excerpt("") == ""


def test_every_kind_of_error_line_counts():
    for line in ("25/06/01 ERROR Master: x", "ValueError: bad", "java.io.IOException: y",
                 "aws: error: argument --bucket is required", "Step FAILED"):
        assert logs.is_error(line), line
    assert not logs.is_error("25/06/01 INFO Worker: Successfully registered with master")


def test_a_log_file_is_quoted_and_a_missing_one_says_so(tmp_path):
    log = tmp_path / "worker.log"
    log.write_bytes(b"INFO up\nERROR Worker: \xff lost the master\nINFO down\n")
    assert logs.tail(log) == "ERROR Worker: \ufffd lost the master"
    assert logs.tail(tmp_path / "none.log") == "(no log)"
    assert logs.tail(tmp_path / "none.log", missing="") == ""


def test_a_failed_spark_job_is_quoted_by_its_python_exception():
    result = SubmitResult(1, 9.0, PYSPARK_STDOUT, SPARK_STDERR)
    excerpt = result.error_excerpt(1)
    assert excerpt.startswith("pyspark.errors.exceptions.captured.AnalysisException")
    assert "PATH_NOT_FOUND" in excerpt
    assert "NativeCodeLoader" in SubmitResult(1, 9.0, "", SPARK_STDERR).error_excerpt(2)
