"""The console's page helpers: the create-cluster command line (judged by the AWS CLI's own
parser), EMR's Clone rebuilt from Describe/List answers, the failure line of a step's log,
the add-step and create-cluster forms, and a log's lines as HTML."""

from __future__ import annotations

import json
import os
import shlex
from datetime import UTC, datetime

import pytest

from harness.console import helpers, views

REQUEST = {
    "Name": "nightly enrich",
    "ReleaseLabel": "emr-7.12.0",
    "LogUri": "s3://logs/emr/",
    "Applications": [{"Name": "Spark"}],
    "Configurations": [{"Classification": "spark-defaults",
                        "Properties": {"spark.sql.shuffle.partitions": "8"}}],
    "Instances": {
        "InstanceGroups": [
            {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
             "InstanceCount": 1, "Market": "ON_DEMAND"},
            {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "r5.xlarge",
             "InstanceCount": 2, "Market": "ON_DEMAND"},
            {"Name": "Task", "InstanceRole": "TASK", "InstanceType": "c5.xlarge",
             "InstanceCount": 1, "Market": "SPOT"},
        ],
        "KeepJobFlowAliveWhenNoSteps": True,
        "TerminationProtected": True,
    },
    "BootstrapActions": [{"Name": "deps", "ScriptBootstrapAction": {
        "Path": "s3://code/bootstrap/deps.sh", "Args": ["--with", "it's quoted"]}}],
    "Steps": [
        {"Name": "enrich", "ActionOnFailure": "CANCEL_AND_WAIT", "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": ["spark-submit", "--deploy-mode", "cluster", "s3://code/job.py",
                     "s3://raw/in put", "s3://curated/out"]}},
        {"Name": "script", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {
            "Jar": "s3://us-east-1.elasticmapreduce/libs/script-runner/script-runner.jar",
            "Args": ["s3://code/check.sh"]}},
    ],
    "ServiceRole": "EMR_DefaultRole",
    "JobFlowRole": "EMR_EC2_DefaultRole",
}


def _sent_by_aws_cli(argv: list[str]) -> dict:
    """The RunJobFlow request the AWS CLI builds from `argv` (stopped before it is sent)."""
    from awscli.clidriver import create_clidriver
    from botocore.awsrequest import AWSResponse

    sent: dict = {}

    def before_call(params, **_kwargs):  # noqa: ANN001, ANN202
        sent.update(json.loads(params["body"]))
        return AWSResponse("http://127.0.0.1", 200, {}, None), {"JobFlowId": "j-1"}

    driver = create_clidriver()
    driver.session.register("before-call.emr.RunJobFlow", before_call)
    assert argv[:3] == ["aws", "emr", "create-cluster"]
    assert driver.main(argv[1:]) == 0
    return sent


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                        "AWS_SHARED_CREDENTIALS_FILE": os.devnull}.items():
        monkeypatch.setenv(name, value)


def test_the_create_cluster_line_makes_the_aws_cli_send_the_same_request(cli_env, capsys):
    line = helpers.create_cluster_command(REQUEST, "http://127.0.0.1:4566")
    sent = _sent_by_aws_cli(shlex.split(line))  # through a shell's quoting, as a user pastes
    for key in ("Name", "ReleaseLabel", "LogUri", "Applications", "Configurations",
                "BootstrapActions", "Steps", "ServiceRole", "JobFlowRole"):
        assert sent[key] == REQUEST[key], key
    assert sent["Instances"] == REQUEST["Instances"]


def test_a_cluster_that_ends_after_its_steps_is_auto_terminate(cli_env, capsys):
    request = {**REQUEST, "Instances": {**REQUEST["Instances"],
                                        "KeepJobFlowAliveWhenNoSteps": False,
                                        "TerminationProtected": False}}
    argv = helpers.create_cluster_argv(request)
    assert "--auto-terminate" in argv and "--termination-protected" not in argv
    sent = _sent_by_aws_cli(argv)
    assert sent["Instances"]["KeepJobFlowAliveWhenNoSteps"] is False
    assert sent["Instances"]["TerminationProtected"] is False


def test_clone_rebuilds_the_request_from_describe_and_list_answers():
    when = datetime(2026, 12, 2, tzinfo=UTC)
    cluster = {"Id": "j-1", "Name": "nightly enrich", "ReleaseLabel": "emr-7.12.0",
               "LogUri": "s3://logs/emr/", "Applications": [{"Name": "Spark",
                                                             "Version": "3.5.6"}],
               "Configurations": REQUEST["Configurations"], "AutoTerminate": False,
               "TerminationProtected": True, "ServiceRole": "EMR_DefaultRole",
               "Ec2InstanceAttributes": {"IamInstanceProfile": "EMR_EC2_DefaultRole"},
               "StepConcurrencyLevel": 1, "Tags": [], "Status": {"State": "WAITING"}}
    groups = [{"Id": f"ig-{n}", "Name": g["Name"], "InstanceGroupType": g["InstanceRole"],
               "InstanceType": g["InstanceType"], "RequestedInstanceCount": g["InstanceCount"],
               "RunningInstanceCount": g["InstanceCount"], "Market": g["Market"]}
              for n, g in enumerate(REQUEST["Instances"]["InstanceGroups"])]
    bootstrap = [{"Name": "deps", "ScriptPath": "s3://code/bootstrap/deps.sh",
                  "Args": ["--with", "it's quoted"]}]
    # ListSteps answers newest first
    steps = [{"Id": f"s-{n}", "Name": s["Name"], "ActionOnFailure": s["ActionOnFailure"],
              "Config": {"Jar": s["HadoopJarStep"]["Jar"], "Args": s["HadoopJarStep"]["Args"],
                         "Properties": {}},
              "Status": {"State": "COMPLETED", "Timeline": {"CreationDateTime": when}}}
             for n, s in reversed(list(enumerate(REQUEST["Steps"])))]
    assert helpers.clone_request(cluster, groups, [], bootstrap, steps) == REQUEST


def test_clone_of_a_fleet_cluster_has_its_fleets():
    cluster = {"Name": "fleet", "ReleaseLabel": "emr-7.12.0", "AutoTerminate": True,
               "Applications": []}
    fleets = [{"Id": "if-1", "Name": "Core", "InstanceFleetType": "CORE",
               "TargetOnDemandCapacity": 0, "TargetSpotCapacity": 4,
               "InstanceTypeSpecifications": [
                   {"InstanceType": "m5.xlarge", "WeightedCapacity": 1,
                    "BidPriceAsPercentageOfOnDemandPrice": 100.0},
                   {"InstanceType": "m5.2xlarge", "WeightedCapacity": 2}]}]
    request = helpers.clone_request(cluster, [], fleets, [], [])
    assert request["Instances"] == {
        "KeepJobFlowAliveWhenNoSteps": False, "TerminationProtected": False,
        "InstanceFleets": [{"Name": "Core", "InstanceFleetType": "CORE",
                            "TargetOnDemandCapacity": 0, "TargetSpotCapacity": 4,
                            "InstanceTypeConfigs": [
                                {"InstanceType": "m5.xlarge", "WeightedCapacity": 1,
                                 "BidPriceAsPercentageOfOnDemandPrice": 100.0},
                                {"InstanceType": "m5.2xlarge", "WeightedCapacity": 2}]}]}
    assert "--instance-fleets" in helpers.create_cluster_argv(request)


PYSPARK_FAILURE = """\
26/12/02 10:40:01 INFO SparkContext: Running Spark version 3.5.6
26/12/02 10:40:09 ERROR TaskSchedulerImpl: Lost executor 0 on 127.0.0.1
Traceback (most recent call last):
  File "/tmp/job.py", line 12, in <module>
    main(sys.argv[1], sys.argv[2])
  File "/tmp/job.py", line 8, in main
    raise ValueError("orders has no column amount")
ValueError: orders has no column amount
26/12/02 10:40:10 INFO ShutdownHookManager: Shutdown hook called
"""


def test_the_failure_line_is_the_exception_closing_the_python_traceback():
    lines = PYSPARK_FAILURE.splitlines()
    assert lines[helpers.failure_line(PYSPARK_FAILURE)] == \
        "ValueError: orders has no column amount"


def test_of_chained_tracebacks_the_last_exception_is_the_failure():
    text = ("Traceback (most recent call last):\n  File \"a.py\", line 1\n"
            "KeyError: 'amount'\n\nDuring handling of the above exception, another "
            "exception occurred:\n\nTraceback (most recent call last):\n"
            "  File \"a.py\", line 3\npyspark.errors.exceptions.captured.AnalysisException: "
            "[UNRESOLVED_COLUMN] amount\n")
    assert text.splitlines()[helpers.failure_line(text)].startswith(
        "pyspark.errors.exceptions.captured.AnalysisException")


def test_without_a_traceback_the_last_error_line_is_the_failure():
    text = ("INFO starting\nERROR first problem\nINFO more\n"
            "Exception in thread \"main\" java.io.FileNotFoundException: s3://x\nINFO end\n")
    assert helpers.failure_line(text) == 3
    assert helpers.failure_line("INFO all good\nINFO done\n") is None
    assert helpers.failure_line("") is None


def test_a_log_becomes_escaped_html_with_its_failure_line_marked():
    log = views.log_lines("<b>not bold</b>\n" + PYSPARK_FAILURE)
    assert "&lt;b&gt;not bold&lt;/b&gt;" in log["html"] and "<b>" not in log["html"]
    assert log["failure_text"] == "ValueError: orders has no column amount"
    assert ('<span class="line failure" data-failure>ValueError: orders has no column '
            'amount</span>') in log["html"]
    assert log["html"].count("<span") == log["lines"] == 10
    assert views.log_lines(None) is None


def test_application_ids_are_found_once_each_in_order():
    stderr = ("Connected to Spark cluster with app ID app-20261202104001-0003\n"
              "... app-20261202104001-0003 ... app-20261202104500-0004\n")
    assert helpers.application_ids(stderr, "app-20261202104001-0003") == [
        "app-20261202104001-0003", "app-20261202104500-0004"]


def test_the_add_step_form_makes_a_spark_or_a_custom_jar_step():
    spark = helpers.step_from_form({
        "type": "spark", "name": "enrich", "spark_submit_options": "--deploy-mode cluster",
        "application": "s3://code/job.py", "args": "s3://raw/in 'with space'",
        "action_on_failure": "CANCEL_AND_WAIT"})
    assert spark == {"Name": "enrich", "ActionOnFailure": "CANCEL_AND_WAIT",
                     "HadoopJarStep": {"Jar": "command-runner.jar", "Args": [
                         "spark-submit", "--deploy-mode", "cluster", "s3://code/job.py",
                         "s3://raw/in", "with space"]}}
    jar = helpers.step_from_form({"type": "jar", "jar": "s3://code/app.jar",
                                  "main_class": "com.example.Main", "args": "a b"})
    assert jar == {"Name": "Custom JAR", "ActionOnFailure": "CONTINUE",
                   "HadoopJarStep": {"Jar": "s3://code/app.jar", "Args": ["a", "b"],
                                     "MainClass": "com.example.Main"}}


@pytest.mark.parametrize(("form", "problem"), [
    ({"type": "spark", "application": ""}, "application's location"),
    ({"type": "jar", "jar": ""}, "JAR's location"),
    ({"type": "spark", "application": "s3://a.py", "args": "'unclosed"}, "close the quote"),
    ({"type": "spark", "application": "s3://a.py", "action_on_failure": "RETRY"},
     "ActionOnFailure 'RETRY'"),
    ({"type": "hive"}, "not spark or jar"),
])
def test_a_bad_add_step_form_says_what_to_fix(form, problem):
    with pytest.raises(helpers.FormError, match=problem):
        helpers.step_from_form(form)


def test_the_create_cluster_form_makes_a_run_job_flow_request():
    request = helpers.job_flow_from_form({
        "name": "from the form", "release_label": "emr-7.12.0", "log_uri": "s3://logs/emr/",
        "master_type": "m5.xlarge", "core_type": "r5.xlarge", "core_count": "2",
        "task_type": "c5.xlarge", "task_count": "1", "task_spot": "on",
        "bootstrap_actions": "s3://code/deps.sh --quiet\n",
        "steps": "--deploy-mode cluster s3://code/job.py s3://in s3://out\n"})
    assert request["Instances"] == {
        "InstanceGroups": [
            {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
             "InstanceCount": 1},
            {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "r5.xlarge",
             "InstanceCount": 2},
            {"Name": "Task", "InstanceRole": "TASK", "InstanceType": "c5.xlarge",
             "InstanceCount": 1, "Market": "SPOT"}],
        "KeepJobFlowAliveWhenNoSteps": True, "TerminationProtected": False}
    assert request["BootstrapActions"] == [{"Name": "action-1", "ScriptBootstrapAction": {
        "Path": "s3://code/deps.sh", "Args": ["--quiet"]}}]
    assert request["Steps"][0]["HadoopJarStep"]["Args"] == [
        "spark-submit", "--deploy-mode", "cluster", "s3://code/job.py", "s3://in", "s3://out"]
    assert request["LogUri"] == "s3://logs/emr/"
    with pytest.raises(helpers.FormError, match="not a whole number"):
        helpers.job_flow_from_form({"name": "x", "core_count": "two"})
    with pytest.raises(helpers.FormError, match="needs a name"):
        helpers.job_flow_from_form({"name": " "})
    with pytest.raises(helpers.FormError, match="not JSON"):
        helpers.job_flow_from_json("{Name: x}")


def test_durations_read_as_the_emr_console_writes_them():
    assert helpers.span(None) == "-"
    assert helpers.span(1) == "1 second"
    assert helpers.span(59.9) == "59 seconds"
    assert helpers.span(125) == "2 min 5 s"
    assert helpers.span(7500) == "2 h 5 min"


def test_harness_console_without_an_endpoint_says_to_start_one(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "HARNESS_WORK_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "console", "--print"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "no endpoint is running" in proc.stderr and "harness up" in proc.stderr


# -- the console's WSGI application, without an endpoint: what it refuses, and its files ----

def _client(work_dir):
    """A werkzeug test client of the console, from 127.0.0.1 unless a request says."""
    from werkzeug.test import Client

    from harness.console import Console

    class Loopback(Client):
        def open(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            kwargs.setdefault("environ_base", {"REMOTE_ADDR": "127.0.0.1"})
            return super().open(*args, **kwargs)

    return Loopback(Console(lambda: work_dir, "us-east-1"))


def test_a_form_posted_from_another_origin_or_host_is_refused(tmp_path):
    client = _client(tmp_path)
    foreign = client.post("/console/clusters/j-1/terminate",
                          headers={"Origin": "http://evil.example", "Host": "127.0.0.1:4566"})
    assert foreign.status_code == 403
    cross_site = client.post("/console/clusters/j-1/terminate",
                             headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    remote = client.get("/console/", environ_overrides={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 403
    bad_state = client.get("/console/?state=SLEEPING")
    assert bad_state.status_code == 400 and "SLEEPING" in bad_state.text


def test_the_benchmarks_page_lists_runs_reports_and_the_gates_last_verdict(tmp_path):
    from types import SimpleNamespace

    from harness.verdicts import record_verdict

    (tmp_path / "ci-gate").mkdir()
    (tmp_path / "ci-gate" / "run.json").write_text(json.dumps({
        "machine_info": {}, "commit_info": {"id": "0123456789abcdef"},
        "benchmarks": [{"name": "test_spark_local[10000]"}, {"name": "test_batched"}]}))
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "index.html").write_text("<h1>the report</h1>")
    (tmp_path / "jobflows" / "j-1").mkdir(parents=True)  # a job flow's files: not a run
    (tmp_path / "jobflows" / "j-1" / "x.json").write_text('{"machine_info": {}, '
                                                          '"benchmarks": []}')
    verdict = SimpleNamespace(line=lambda: "regressed       test_batched: +60.0%")
    report = SimpleNamespace(baseline="benchmarks/baselines/x", current="run.json",
                             normalise="raw", problems=[], warnings=[],
                             verdicts=[verdict], summary=lambda: "test_batched")
    record_verdict(tmp_path, report, "failed")
    client = _client(tmp_path)
    page = client.get("/console/benchmarks")
    assert page.status_code == 200
    assert "ci-gate/run.json" in page.text and "0123456789" in page.text
    assert "report/index.html" in page.text and "jobflows" not in page.text
    assert 'id="gate-outcome">failed<' in page.text and "+60.0%" in page.text
    served = client.get("/console/benchmarks/files/report/index.html")
    assert served.status_code == 200 and served.text == "<h1>the report</h1>"
    assert served.mimetype == "text/html"
    outside = client.get("/console/benchmarks/files/..%2F..%2Fetc%2Fpasswd")
    assert outside.status_code == 404
    assert client.get("/console/static/console.js").status_code == 200


def test_the_status_timeline_orders_the_clusters_and_steps_times_newest_first():
    def at(minute):
        return datetime(2026, 12, 2, 10, minute, tzinfo=UTC)

    cluster = {"Status": {"State": "TERMINATED_WITH_ERRORS",
                          "StateChangeReason": {"Code": "STEP_FAILURE",
                                                "Message": "Shut down as step failed"},
                          "Timeline": {"CreationDateTime": at(0), "ReadyDateTime": at(1),
                                       "EndDateTime": at(5)}}}
    steps = [{"Id": "s-2", "Name": "enrich", "Status": {
        "State": "FAILED", "FailureDetails": {"Message": "ValueError: no column amount"},
        "Timeline": {"StartDateTime": at(2), "EndDateTime": at(4)}}},
        {"Id": "s-3", "Name": "later", "Status": {"State": "CANCELLED", "Timeline": {}}}]
    events = views.timeline(cluster, steps)
    assert [(e["when"].minute, e["state"], e["what"], e["reason"]) for e in events] == [
        (5, "TERMINATED_WITH_ERRORS", "Cluster ended", "STEP_FAILURE: Shut down as step failed"),
        (4, "FAILED", "Step enrich (s-2) failed", "ValueError: no column amount"),
        (2, "RUNNING", "Step enrich (s-2) started", ""),
        (1, "WAITING", "Cluster ready: nodes up, bootstrap actions run, applications started",
         ""),
        (0, "STARTING", "Cluster created", "")]
