"""EMR Configurations: checked against the release as EMR checks them at RunJobFlow, and
applied to a job flow's spark-defaults, spark-env.sh, hive-site.xml and core-site.xml."""

from __future__ import annotations

import pytest

from harness.emr.configurations import (
    GLUE_FACTORY,
    HARNESS_DEFAULTS,
    apply,
    check_configurations,
    check_request,
    layered,
)
from harness.emr.exceptions import ValidationException

CLUSTER = {"spark.master": "spark://127.0.0.1:7077", "spark.executor.memory": "896m",
           "spark.executor.cores": "1", "spark.task.maxFailures": "8",
           "spark.stage.maxConsecutiveAttempts": "8"}
S3A = {"spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
       "spark.hadoop.fs.s3a.endpoint": "http://127.0.0.1:5000", "spark.jars": "/j/aws.jar"}


def applied(configs, tmp_path, group=(), workers=((1, 1024), (2, 2048))):
    return apply(layered(configs, group), cluster_conf=CLUSTER, s3a_conf=S3A,
                 workers=list(workers), metastore_dir=tmp_path / "glue")


@pytest.mark.parametrize(("label", "configs", "message"), [
    ("emr-7.9.0", [{"Classification": "spark-log4j", "Properties": {}}],
     "Classification 'spark-log4j' is not valid for parent classification 'null'."),
    ("emr-6.8.0", [{"Classification": "spark-log4j"}], "'spark-log4j'"),
    ("emr-6.7.0", [{"Classification": "spark-log4j2"}], "'spark-log4j2'"),
    ("emr-7.12.0", [{"Classification": "spark-default"}], "'spark-default'"),
    ("emr-7.12.0", [{"Classification": "spark-env", "Configurations": [
        {"Classification": "exports", "Properties": {}}]}],
     "Classification 'exports' is not valid for parent classification 'spark-env'."),
    ("emr-7.12.0", [{"Classification": "spark-defaults", "Configurations": [
        {"Classification": "export"}]}], "parent classification 'spark-defaults'"),
])
def test_classifications_the_release_lacks_are_refused_in_emrs_words(label, configs, message):
    with pytest.raises(ValidationException) as info:
        check_configurations(configs, label)
    assert message in info.value.message


def test_valid_configurations_pass_and_instance_groups_are_checked_too():
    good = [{"Classification": "spark-log4j2", "Properties": {}},
            {"Classification": "spark-env", "Configurations": [
                {"Classification": "export", "Properties": {"A": "1"}}]},
            {"Classification": "trino-connector-hive", "Properties": {}}]
    check_configurations(good, "emr-7.12.0")
    check_configurations([{"Classification": "spark-log4j"}], "emr-6.7.0")
    request = {"ReleaseLabel": "emr-7.12.0", "Configurations": good, "Instances": {
        "InstanceGroups": [{"InstanceRole": "MASTER", "Configurations": [
            {"Classification": "spark-log4j"}]}]}}
    with pytest.raises(ValidationException, match="'spark-log4j'"):
        check_request(request)


def test_an_instance_fleets_configurations_are_checked_as_a_groups_are():
    def fleet_request(classification: str) -> dict:
        return {"ReleaseLabel": "emr-7.12.0", "Instances": {"InstanceFleets": [
            {"InstanceFleetType": "MASTER", "TargetOnDemandCapacity": 1,
             "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}]},
            {"InstanceFleetType": "CORE", "TargetOnDemandCapacity": 2,
             "InstanceTypeConfigs": [
                 {"InstanceType": "m5.xlarge"},
                 {"InstanceType": "m5.2xlarge", "Configurations": [
                     {"Classification": classification, "Properties": {}}]}]}]}}

    with pytest.raises(ValidationException, match="'spark-log4j'"):
        check_request(fleet_request("spark-log4j"))
    check_request(fleet_request("spark-log4j2"))


def test_an_instance_groups_configurations_override_the_clusters_per_property():
    merged = layered(
        [{"Classification": "spark-defaults", "Properties": {"a": "1", "b": "1"}}],
        [{"Classification": "spark-defaults", "Properties": {"b": "2"}}])
    assert merged["spark-defaults"]["Properties"] == {"a": "1", "b": "2"}


def test_spark_defaults_override_every_harness_default_and_result_changers_are_gone(
        tmp_path):
    result = applied([{"Classification": "spark-defaults", "Properties": {
        "spark.sql.shuffle.partitions": "37", "spark.ui.enabled": "true",
        "spark.master": "yarn", "spark.jars": "/usr/lib/x.jar",
        "spark.hadoop.fs.s3a.endpoint": "https://s3.amazonaws.com"}}], tmp_path)
    conf = result.spark_defaults
    assert conf["spark.sql.shuffle.partitions"] == "37"
    assert conf["spark.ui.enabled"] == "true"
    assert "spark.task.maxFailures" not in conf
    assert "spark.stage.maxConsecutiveAttempts" not in conf
    assert conf["spark.master"] == "spark://127.0.0.1:7077"  # the local cluster's
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:5000"
    assert conf["spark.jars"] == "/j/aws.jar,/usr/lib/x.jar"
    assert "spark.ui.enabled" not in result.harness_defaults
    assert set(result.harness_defaults) == set(HARNESS_DEFAULTS) - {"spark.ui.enabled"}
    notes = " ".join(result.notes)
    assert "spark.master yarn replaced" in notes and "fs.s3a.endpoint ignored" in notes
    assert "spark.task.maxFailures" in notes
    # nothing set: no shuffle-partition default of the harness's own
    assert "spark.sql.shuffle.partitions" not in applied([], tmp_path).spark_defaults


def test_maximize_resource_allocation_from_the_smallest_worker(tmp_path):
    conf = applied([{"Classification": "spark", "Properties": {
        "maximizeResourceAllocation": "true"}}], tmp_path,
        workers=[(2, 2048), (4, 4096), (2, 2048)]).spark_defaults
    assert conf["spark.executor.cores"] == "2"
    assert conf["spark.executor.instances"] == "3"
    assert conf["spark.default.parallelism"] == "16"
    assert conf["spark.executor.memory"] == "896m"
    # an explicit spark-defaults value wins over what maximizeResourceAllocation derives
    conf = applied([{"Classification": "spark-defaults", "Properties": {
        "spark.executor.cores": "1"}}, {"Classification": "spark", "Properties": {
            "maximizeResourceAllocation": "true"}}], tmp_path).spark_defaults
    assert conf["spark.executor.cores"] == "1" and conf["spark.executor.instances"] == "2"


def test_spark_env_exports_reach_driver_and_executors(tmp_path):
    result = applied([{"Classification": "spark-env", "Properties": {}, "Configurations": [
        {"Classification": "export", "Properties": {
            "GREETING": "hello", "PYSPARK_PYTHON": "/usr/bin/python3-not-here",
            "JAVA_HOME": "/usr/lib/jvm/java-17-amazon-corretto.x86_64"}}]}], tmp_path)
    assert result.spark_env == {"GREETING": "hello", "PYSPARK_PYTHON": "python3-not-here"}
    assert result.spark_defaults["spark.executorEnv.GREETING"] == "hello"
    result.write(tmp_path / "conf", tmp_path / "hadoop")
    assert (tmp_path / "conf" / "spark-env.sh").read_text() == (
        "export GREETING=hello\nexport PYSPARK_PYTHON=python3-not-here\n")
    notes = " ".join(result.notes)
    assert "JAVA_HOME" in notes and "the node's own Java" in notes


def test_glue_catalog_is_a_local_persistent_metastore(tmp_path):
    result = applied([{"Classification": "spark-hive-site", "Properties": {
        "hive.metastore.client.factory.class": GLUE_FACTORY}}], tmp_path)
    assert "hive.metastore.client.factory.class" not in result.hive_site
    assert str(tmp_path / "glue" / "metastore_db") in \
        result.hive_site["javax.jdo.option.ConnectionURL"]
    assert result.spark_defaults["spark.sql.warehouse.dir"] == str(tmp_path / "glue" /
                                                                   "warehouse")
    assert any("Glue Data Catalog" in note for note in result.notes)
    result.write(tmp_path / "conf", tmp_path / "hadoop")
    assert "metastore_db" in (tmp_path / "conf" / "hive-site.xml").read_text()


def test_s3_keys_of_core_site_and_emrfs_site_map_to_s3a(tmp_path):
    result = applied([
        {"Classification": "core-site", "Properties": {
            "fs.s3a.connection.maximum": "50", "io.file.buffer.size": "65536",
            "fs.s3.impl": "com.amazon.ws.emr.hadoop.fs.EmrFileSystem"}},
        {"Classification": "emrfs-site", "Properties": {
            "fs.s3.maxRetries": "20", "fs.s3.consistent": "true",
            "fs.s3.enableServerSideEncryption": "true"}}], tmp_path)
    conf = result.spark_defaults
    assert conf["spark.hadoop.fs.s3a.connection.maximum"] == "50"
    assert conf["spark.hadoop.io.file.buffer.size"] == "65536"
    assert conf["spark.hadoop.fs.s3a.retry.limit"] == "20"
    assert conf["spark.hadoop.fs.s3a.encryption.algorithm"] == "SSE-S3"
    assert conf["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    notes = " ".join(result.notes)
    assert "fs.s3.consistent has no S3A equivalent" in notes and "fs.s3.impl ignored" in notes
    assert result.hadoop_site()["fs.s3a.connection.maximum"] == "50"


def test_classifications_of_applications_not_run_are_said_not_applied(tmp_path):
    result = applied([{"Classification": "yarn-site", "Properties": {"a": "b"}}], tmp_path)
    assert any("'yarn-site' is accepted but not applied" in n for n in result.notes)
