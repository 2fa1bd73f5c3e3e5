"""EMR's request validation and the translation of steps into local commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.catalog import instance_types
from harness.emr.rehearse import runtime_note
from harness.emr.steps import (
    HADOOP_JAR_JVM_OPTS,
    StepContext,
    StepDefinitionError,
    jar_scala,
    plan_step,
    properties_of,
)
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
    ({"Name": "x", "Instances": {}, "Bogus": 1}, "unknown field Bogus"),
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


@pytest.mark.parametrize(("operation", "request_", "message"), [
    ("RunJobFlow", {"Name": 3, "Instances": {}},
     "NUMBER_VALUE can not be converted to the member's type: Name must be a string"),
    ("RunJobFlow", {"Name": "x", "Instances": {}, "StepConcurrencyLevel": "two"},
     "StepConcurrencyLevel must be a whole number"),
    # botocore turns a string Args into a list of characters before sending (or refuses it
    # client-side): only a raw request reaches the endpoint with one
    ("AddJobFlowSteps", {"JobFlowId": "j-1", "Steps": [{"Name": "s", "HadoopJarStep": {
        "Jar": "command-runner.jar", "Args": "spark-submit job.py"}}]},
     "STRING_VALUE can not be converted to the member's type: "
     "Steps[0].HadoopJarStep.Args must be a list"),
    ("AddJobFlowSteps", {"JobFlowId": "j-1", "Steps": [{"Name": "s", "HadoopJarStep": {
        "Jar": "command-runner.jar", "Args": {"0": "spark-submit"}}}]},
     "Start of structure or map found where not expected: "
     "Steps[0].HadoopJarStep.Args must be a list"),
    ("AddJobFlowSteps", {"JobFlowId": "j-1", "Steps": {"Name": "s"}},
     "Start of structure or map found where not expected: Steps must be a list"),
])
def test_a_member_of_the_wrong_json_type_is_a_serialization_exception(operation, request_,
                                                                      message):
    # AWS's JSON front end refuses it while reading the body, before EMR's rules
    with pytest.raises(EmrApiError) as err:
        check_shape(operation, request_)
    assert err.value.code == "SerializationException" and err.value.status == 400
    assert message in err.value.message


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
    """A download: the object's key as the file's content."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / uri.rsplit("/", 1)[-1]
    path.write_text(uri)
    return path


def test_spark_submit_step_is_rewritten_like_emr_runs_it(tmp_path):
    command = plan_step("command-runner.jar", [
        "spark-submit", "--master", "yarn", "--deploy-mode", "cluster", "--conf", "a=b",
        "--py-files", "s3://code/lib.zip,local.py", "s3://code/job.py", "s3://in", "--flag"],
        tmp_path, fetch)
    lib = tmp_path / "localised" / "py-files" / "0" / "lib.zip"
    assert command.argv == ["spark-submit", "--deploy-mode", "client", "--conf", "a=b",
                            "--py-files", f"{lib},local.py",
                            f"{tmp_path}/job.py", "s3://in", "--flag"]
    notes = " ".join(command.notes)
    assert "--master yarn replaced" in notes and "running in client mode" in notes


def test_option_equals_value_forms_are_read_as_spark_submit_reads_them(tmp_path):
    command = plan_step("command-runner.jar", [
        "spark-submit", "--conf=spark.sql.shuffle.partitions=37", "--master=yarn",
        "--deploy-mode=cluster", "--name=x=y", "--verbose", "--files=s3://b/prod.json#s.json",
        "job.py", "--out=s3://o"], tmp_path, fetch)
    renamed = tmp_path / "localised" / "files" / "0-as" / "s.json"
    assert command.argv == ["spark-submit", "--deploy-mode", "client",
                            "--conf", "spark.sql.shuffle.partitions=37", "--name", "x=y",
                            "--verbose", "--files", str(renamed), "job.py", "--out=s3://o"]
    assert renamed.read_text() == "s3://b/prod.json"


def test_files_hash_name_is_in_a_cluster_mode_drivers_working_directory(tmp_path):
    archive = tmp_path / "src"
    archive.mkdir()
    (archive / "inside.txt").write_text("packed")
    zipped = shutil.make_archive(str(tmp_path / "env"), "zip", archive)
    command = plan_step("command-runner.jar", [
        "spark-submit", "--deploy-mode", "cluster",
        "--files", "s3://bucket/prod.json#settings.json,s3://bucket/plain.txt",
        "--archives", f"{zipped}#deps", "--py-files", "s3://code/lib.py#helpers.py",
        "s3://code/job.py"], tmp_path / "step", fetch)
    assert command.cwd == tmp_path / "step" / "driver"
    assert (command.cwd / "settings.json").read_text() == "s3://bucket/prod.json"
    assert (command.cwd / "plain.txt").read_text() == "s3://bucket/plain.txt"
    assert (command.cwd / "helpers.py").read_text() == "s3://code/lib.py"
    assert (command.cwd / "deps" / "inside.txt").read_text() == "packed"
    files = command.argv[command.argv.index("--files") + 1].split(",")
    assert [Path(f).name for f in files] == ["settings.json", "plain.txt"]
    assert command.argv[command.argv.index("--archives") + 1] == f"{zipped}#deps"
    # client mode: YARN localises nothing into the driver's directory
    client = plan_step("command-runner.jar", [
        "spark-submit", "--files", "s3://bucket/prod.json#settings.json", "job.py"],
        tmp_path / "client", fetch)
    assert client.cwd is None


def test_jvm_apps_keep_cluster_mode_and_other_runners(tmp_path):
    jvm = plan_step("command-runner.jar", ["spark-submit", "--deploy-mode", "cluster",
                                           "--class", "Main", "app.jar"], tmp_path, fetch)
    assert jvm.argv[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    emr_path = plan_step("command-runner.jar", ["/usr/lib/spark/bin/spark-submit",
                                                "--class", "Main", "app.jar"], tmp_path, fetch)
    assert emr_path.argv[0] == "spark-submit"
    shell = plan_step("command-runner.jar", ["bash", "-c", "echo hi"], tmp_path, fetch)
    assert shell.argv == ["bash", "-c", "echo hi"]
    script = tmp_path / "run.sh"
    script.write_text("echo no shebang\n")
    runner = plan_step("s3://x.elasticmapreduce/libs/script-runner/script-runner.jar",
                       [str(script), "a1"], tmp_path, fetch)
    assert runner.argv == ["bash", str(script), "a1"]
    with pytest.raises(StepDefinitionError, match="no Java or Spark"):
        plan_step("s3://my/app.jar", ["x"], tmp_path, fetch)
    with pytest.raises(StepDefinitionError, match="no application"):
        plan_step("command-runner.jar", ["spark-submit", "--conf", "a=b"], tmp_path, fetch)


@pytest.mark.parametrize(("jar", "args", "named"), [
    ("command-runner.jar", ["hive-script", "--run-hive-script", "--args", "-f", "x.q"],
     "Hive step 'hive-script'"),
    ("command-runner.jar", ["pig-script", "--run-pig-script"], "Pig step 'pig-script'"),
    ("command-runner.jar", ["hadoop-streaming", "-mapper", "m.py"], "Hadoop streaming"),
    ("command-runner.jar", ["s3-dist-cp", "--src", "s3://a/", "--dest", "s3://b/"],
     "S3DistCp"),
    ("s3://us-east-1.elasticmapreduce/libs/script-runner/script-runner.jar",
     ["s3://us-east-1.elasticmapreduce/libs/hive/hive-script", "--run-hive-script"],
     "Hive (hive-script)"),
    ("/usr/lib/hadoop-mapreduce/hadoop-streaming.jar", ["-mapper", "m.py"],
     "Hadoop streaming"),
])
def test_steps_of_what_is_not_emulated_fail_with_one_line_naming_it(tmp_path, jar, args,
                                                                    named):
    with pytest.raises(StepDefinitionError) as info:
        plan_step(jar, args, tmp_path, fetch)
    message = str(info.value)
    assert named in message and "not emulated" in message and "\n" not in message


def test_custom_jar_runs_as_hadoop_jar(tmp_path):
    import zipfile

    plain = tmp_path / "plain.jar"
    with zipfile.ZipFile(plain, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    context = StepContext(spark_home=tmp_path / "spark", java=Path("/jdk/bin/java"),
                          jars=[Path("/j/hadoop-aws.jar")], hadoop_conf_dir=tmp_path / "hc",
                          main_class="com.example.Main", properties={"k": "v"},
                          notes=["from the job flow"])
    command = plan_step(str(plain), ["a", "b"], tmp_path, fetch, context)
    assert command.argv == [
        "/jdk/bin/java", *HADOOP_JAR_JVM_OPTS, "-Dk=v", "-cp",
        f"{tmp_path / 'hc'}:{plain}:{tmp_path / 'spark' / 'jars' / '*'}:/j/hadoop-aws.jar",
        "com.example.Main", "a", "b"]
    assert command.notes[0] == "from the job flow"
    assert command.env == {"HADOOP_CONF_DIR": str(tmp_path / "hc")}
    # a manifest Main-Class wins and MainClass becomes its first argument, as in RunJar
    with_main = tmp_path / "main.jar"
    with zipfile.ZipFile(with_main, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: app.Run\n")
    command = plan_step(str(with_main), ["a"], tmp_path, fetch, context)
    assert command.argv[-3:] == ["app.Run", "com.example.Main", "a"]
    context.main_class = None
    command = plan_step(str(plain), ["app.First", "x"], tmp_path, fetch, context)
    assert command.argv[-2:] == ["app.First", "x"]


def test_step_properties_in_both_forms():
    assert properties_of({"Properties": [{"Key": "a", "Value": "1"}]}) == {"a": "1"}
    assert properties_of({"Properties": {"a": "1"}}) == {"a": "1"}
    assert properties_of({}) == {}


def test_a_scala_jar_for_another_scala_is_said_to_fail_as_on_emr(tmp_path):
    import zipfile

    jar = tmp_path / "etl_2.12-1.0.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    assert jar_scala(jar) == "2.12"
    inner = tmp_path / "etl.jar"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("META-INF/maven/com.x/etl_2.13/pom.properties",
                         "artifactId=etl_2.13\nversion=1.0\n")
    assert jar_scala(inner) == "2.13"
    command = plan_step("command-runner.jar", ["spark-submit", "--class", "Main", str(jar)],
                        tmp_path, fetch, StepContext(scala="2.13"))
    assert any("built for Scala 2.12; this release's Spark runs Scala 2.13" in n
               for n in command.notes)


def test_rehearse_names_the_release_labels_runtime():
    assert runtime_note("emr-7.12.0") == \
        "runtime: emr-7.12.0 = Spark 3.5.6 / Scala 2.12 / Python 3.9 / ANSI off"
    assert runtime_note("emr-spark-8.0.0").endswith("Spark 4.0.2 / Scala 2.13 / Python 3.11 / "
                                                     "ANSI on")
    assert "emr-7.13.0" in runtime_note("emr-7.14.0")  # not in the catalog: the nearest
    assert runtime_note(None) is None
