"""The one "telling lines of a log" heuristic: error lines first, the log's end otherwise,
on one line; an unreadable log says so. spark-submit's failures and the cluster backends'
"node exited" messages quote logs through it. The failure line of a step (its
FailureDetails, the console's highlighted line) is the real error, never a WARN record's
stack trace: the fixtures are a real step's logs on emr-7.12.0 (a PySpark read of a missing
bucket, before the endpoint stopped pointing the AWS SDK at /dev/null), trimmed."""

from __future__ import annotations

from pathlib import Path

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
                      "java.net.ConnectException: Connection refused",
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


FIXTURES = Path(__file__).parent / "logs_fixtures"
NO_BUCKET_STDERR = (FIXTURES / "nosuchbucket-emr-7.12.0.stderr").read_text()
NO_BUCKET_STDOUT = (FIXTURES / "nosuchbucket-emr-7.12.0.stdout").read_text()
SPARK_ERROR_RECORD = """\
25/12/02 10:00:00 WARN ProfilesConfigFile: Unable to load config file /dev/null
java.lang.IllegalArgumentException: AWS credential profiles file not found in the given path: \
/dev/null
\tat com.amazonaws.auth.profile.internal.BasicProfileConfigLoader.loadProfiles(X.java:54)
25/12/02 10:00:03 ERROR SparkContext: Error initializing SparkContext.
org.apache.spark.SparkException: Could not parse Master URL: 'spark:/nowhere'
\tat org.apache.spark.SparkContext$.createTaskScheduler(SparkContext.scala:3200)
Caused by: java.lang.IllegalArgumentException: bad URL
\t... 12 more
25/12/02 10:00:03 INFO SparkContext: Successfully stopped SparkContext
"""
JAVA_MAIN = """\
25/12/02 10:00:00 WARN BasicProfileConfigFileLoader: Unable to load config file /dev/null
java.lang.IllegalArgumentException: AWS credential profiles file not found in the given path: \
/dev/null
\tat com.amazonaws.auth.profile.ProfilesConfigFile.<init>(ProfilesConfigFile.java:145)
Exception in thread "main" java.io.FileNotFoundException: No such file or directory: s3a://in/x
\tat org.apache.hadoop.fs.s3a.S3AFileSystem.s3GetFileStatus(S3AFileSystem.java:3866)
25/12/02 10:00:04 INFO ShutdownHookManager: Shutdown hook called
"""


def test_a_warn_records_stack_trace_is_not_an_error():
    # the SDK's WARN about the profiles file and the FileStreamSink WARN with NoSuchBucket
    # under it are the only error-looking lines of this stderr: none is the failure
    assert logs.failure(NO_BUCKET_STDERR) is None
    assert "IllegalArgumentException" not in logs.error_excerpt(NO_BUCKET_STDERR)
    assert "handleServiceErrorResponse" not in logs.error_excerpt(NO_BUCKET_STDERR)
    assert logs.levels(["25/12/02 10:00:00 WARN X: y", "java.lang.IllegalStateException: z",
                        "\tat a.b(C.java:1)", "Traceback (most recent call last):"]) == \
        ["WARN", "WARN", "WARN", None]


def test_the_python_failure_is_the_java_exception_py4j_reports():
    found = logs.failure(NO_BUCKET_STDOUT)
    assert found.rank == 3
    assert found.line.startswith("org.apache.hadoop.fs.s3a.UnknownStoreException: "
                                 "`s3://no-such-bucket-fixups/x.csv'")
    assert "NoSuchBucket" in found.line[:500]  # what FailureDetails keeps
    assert NO_BUCKET_STDOUT.splitlines()[found.index] == ": " + found.line


def test_an_error_record_and_an_uncaught_java_exception_beat_warn_records():
    found = logs.failure(SPARK_ERROR_RECORD)
    assert (found.rank, found.line) == (
        2, "org.apache.spark.SparkException: Could not parse Master URL: 'spark:/nowhere'")
    found = logs.failure(JAVA_MAIN)
    assert found.rank == 3 and found.line.startswith('Exception in thread "main" '
                                                     "java.io.FileNotFoundException")
    assert logs.failure("INFO all good\nWARN slow\n") is None


def test_an_error_line_outside_any_record_is_the_failure_of_last_resort():
    found = logs.failure("starting\naws: error: argument --bucket is required\ndone\n")
    assert (found.rank, found.index) == (1, 1)
