"""EMR's request validation and the translation of steps into local commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.catalog import instance_types
from harness.emr.rehearse import runtime_note
from harness.emr.steps import StepDefinitionError, plan_step
from harness.emr.validation import EmrApiError, check_run_job_flow, check_shape

TYPES = set(instance_types())


def flow(**extra):
    base = {"Name": "x", "ReleaseLabel": "emr-7.9.0", "Instances": {"InstanceGroups": [
        {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
        {"InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 2}]}}
    base.update(extra)
    return base


@pytest.mark.parametrize(("request_", "message"), [
    ({"Name": "x"}, "Instances is required"),
    ({"Name": 3, "Instances": {}}, "Name must be a string"),
    ({"Name": "x", "Instances": {}, "Bogus": 1}, "unknown field Bogus"),
    ({"Name": "x", "Instances": {}, "StepConcurrencyLevel": "two"}, "must be a whole number"),
    ({"Name": "x", "Instances": {"InstanceGroups": [{"InstanceRole": "MASTER",
                                                      "InstanceType": "m5.xlarge"}]}},
     "InstanceCount is required"),
    ({"Name": "x", "Instances": {}, "Steps": [{"Name": "s", "ActionOnFailure": "PANIC",
                                               "HadoopJarStep": {"Jar": "j"}}]},
     "ActionOnFailure 'PANIC' is not one of"),
])
def test_shape_errors_name_the_field(request_, message):
    with pytest.raises(EmrApiError) as err:
        check_shape("RunJobFlow", request_)
    assert err.value.code == "ValidationException" and message in err.value.message


def test_unknown_operation():
    with pytest.raises(EmrApiError) as err:
        check_shape("LaunchRocket", {})
    assert err.value.code == "UnknownOperationException"


@pytest.mark.parametrize(("extra", "message"), [
    ({"ReleaseLabel": "emr-99.0.0"}, "release label 'emr-99.0.0' is not valid"),
    ({"Applications": [{"Name": "Spark"}, {"Name": "Excel"}]}, "'Excel' is not supported"),
    ({"StepConcurrencyLevel": 300}, "between 1 and 256"),
    ({"StepConcurrencyLevel": 2, "Steps": [{"Name": "s", "ActionOnFailure": "TERMINATE_CLUSTER",
                                           "HadoopJarStep": {"Jar": "command-runner.jar"}}]},
     "use CONTINUE"),
    ({"BootstrapActions": [{"Name": "b", "ScriptBootstrapAction": {"Path": "/tmp/x.sh"}}]},
     "must be an s3:// URI"),
])
def test_emr_rules_beyond_the_shape(extra, message):
    with pytest.raises(EmrApiError, match=message):
        check_run_job_flow(flow(**extra), TYPES)


def test_instance_group_rules():
    bad_type = flow()
    bad_type["Instances"]["InstanceGroups"][1]["InstanceType"] = "m5.enormous"
    with pytest.raises(EmrApiError, match="Instance type 'm5.enormous' is not supported"):
        check_run_job_flow(bad_type, TYPES)
    two_masters = flow()
    two_masters["Instances"]["InstanceGroups"].append(
        dict(two_masters["Instances"]["InstanceGroups"][0]))
    with pytest.raises(EmrApiError, match="Exactly one MASTER"):
        check_run_job_flow(two_masters, TYPES)
    check_run_job_flow(flow(Applications=[{"Name": "spark"}]), TYPES)  # valid: no error


def fetch(uri: str, dest: Path) -> Path:
    return dest / uri.rsplit("/", 1)[-1]


def test_spark_submit_step_is_rewritten_like_emr_runs_it(tmp_path):
    command = plan_step("command-runner.jar", [
        "spark-submit", "--master", "yarn", "--deploy-mode", "cluster", "--conf", "a=b",
        "--py-files", "s3://code/lib.zip,local.py", "s3://code/job.py", "s3://in", "--flag"],
        tmp_path, fetch)
    assert command.argv == ["spark-submit", "--deploy-mode", "client", "--conf", "a=b",
                            "--py-files", f"{tmp_path}/lib.zip,local.py",
                            f"{tmp_path}/job.py", "s3://in", "--flag"]
    notes = " ".join(command.notes)
    assert "--master yarn replaced" in notes and "running in client mode" in notes


def test_jvm_apps_keep_cluster_mode_and_other_runners(tmp_path):
    jvm = plan_step("command-runner.jar", ["spark-submit", "--deploy-mode", "cluster",
                                           "--class", "Main", "app.jar"], tmp_path, fetch)
    assert jvm.argv[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    shell = plan_step("command-runner.jar", ["bash", "-c", "echo hi"], tmp_path, fetch)
    assert shell.argv == ["bash", "-c", "echo hi"]
    script = tmp_path / "run.sh"
    script.write_text("echo no shebang\n")
    runner = plan_step("s3://x.elasticmapreduce/libs/script-runner/script-runner.jar",
                       [str(script), "a1"], tmp_path, fetch)
    assert runner.argv == ["bash", str(script), "a1"]
    with pytest.raises(StepDefinitionError, match="custom JAR steps"):
        plan_step("s3://my/app.jar", ["x"], tmp_path, fetch)
    with pytest.raises(StepDefinitionError, match="no application"):
        plan_step("command-runner.jar", ["spark-submit", "--conf", "a=b"], tmp_path, fetch)


def test_rehearse_names_the_release_labels_runtime():
    assert runtime_note("emr-7.12.0") == \
        "runtime: emr-7.12.0 = Spark 3.5.6 / Scala 2.12 / Python 3.9 / ANSI off"
    assert runtime_note("emr-spark-8.0.0").endswith("Spark 4.0.2 / Scala 2.13 / Python 3.11 / "
                                                     "ANSI on")
    assert "emr-7.13.0" in runtime_note("emr-7.14.0")  # not in the catalog: the nearest
    assert runtime_note(None) is None
