"""The runtime catalog says what EMR's release guide says each label runs, unknown labels get
one line naming the nearest, and installs are locked, offline once cached, and bring the S3A
jars and settings of the runtime's own Hadoop."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest

import harness.runtimes.store as inst
from harness.aws.endpoint import Endpoint
from harness.emr.exceptions import EmrApiError
from harness.emr.runtimes import check_release
from harness.jars import JAR_SETS, JarError, JarResolution, committer_coordinate
from harness.runtimes import (
    Runtime,
    UnknownReleaseLabel,
    catalog,
    check_runnable,
    install,
    is_installed,
    runtime_for,
)


def test_catalog_covers_every_emr7_emr_spark8_and_spark3_emr6_label():
    labels = set(catalog())
    assert {f"emr-7.{n}.0" for n in range(14)} <= labels
    assert "emr-spark-8.0.0" in labels
    assert {"emr-6.12.0", "emr-6.13.0", "emr-6.14.0", "emr-6.15.0", "emr-6.1.0"} <= labels
    for runtime in catalog().values():
        assert runtime.spark.split(".")[0] in {"3", "4"}
        assert runtime.ansi == (runtime.spark.startswith("4."))
    data = json.loads(Path(inst.__file__).with_name("catalog.json").read_text())
    assert data["retrieved"] and any("ReleaseGuide" in s for s in data["sources"])


@pytest.mark.parametrize(("label", "spark", "scala", "python", "ansi", "hadoop"), [
    ("emr-7.12.0", "3.5.6", "2.12", "3.9", False, "3.4.1"),
    ("emr-7.13.0", "3.5.6", "2.12", "3.9", False, "3.4.2"),
    ("emr-7.11.0", "3.5.6", "2.12", "3.9", False, "3.4.1"),
    ("emr-7.0.0", "3.5.0", "2.12", "3.9", False, "3.3.6"),
    ("emr-6.14.0", "3.4.1", "2.12", "3.7", False, "3.3.3"),
    ("emr-spark-8.0.0", "4.0.2", "2.13", "3.11", True, "3.4.1"),
])
def test_release_label_runtimes(label, spark, scala, python, ansi, hadoop):
    runtime = runtime_for(label)
    assert (runtime.spark, runtime.scala_binary, runtime.python, runtime.ansi,
            runtime.hadoop) == (spark, scala, python, ansi, hadoop)
    assert runtime.packages  # EMR's default node packages, for the node environment


def test_describe_names_spark_scala_python_and_ansi():
    assert runtime_for("emr-7.12.0").describe() == \
        "Spark 3.5.6 / Scala 2.12 / Python 3.9 / ANSI off"
    assert runtime_for("emr-spark-8.0.0").describe() == \
        "Spark 4.0.2 / Scala 2.13 / Python 3.11 / ANSI on"


def test_unknown_labels_name_the_nearest():
    with pytest.raises(UnknownReleaseLabel) as err:
        runtime_for("emr-7.14.0")
    line = err.value.one_line()
    assert "emr-7.14.0" in line and "emr-7.13.0, emr-7.12.0" in line and "\n" not in line
    with pytest.raises(UnknownReleaseLabel) as err:
        runtime_for("emr-spark-8.1.0")
    assert "use a label EMR's release guide lists, e.g. emr-spark-8.0.0" in err.value.remedy
    assert runtime_for("3.5.6").label == "emr-7.13.0"  # a Spark version: the newest label
    with pytest.raises(UnknownReleaseLabel, match="ships Spark 4.1.0"):
        runtime_for("4.1.0")


def test_labels_whose_spark_cannot_run_here_are_refused_with_runnable_neighbours():
    with pytest.raises(UnknownReleaseLabel) as err:
        check_runnable(runtime_for("emr-6.5.0"))
    assert "Spark 3.1.2" in err.value.problem and "emr-6.12.0" in err.value.remedy
    for label in ("emr-6.12.0", "emr-7.12.0", "emr-spark-8.0.0"):
        check_runnable(runtime_for(label))


def test_run_job_flow_is_refused_for_labels_without_a_runnable_runtime():
    check_release({"ReleaseLabel": "emr-7.12.0"})
    for request, says in (({"ReleaseLabel": "emr-7.14.0"}, "emr-7.13.0"),
                          ({"ReleaseLabel": "emr-6.5.0"}, "Spark 3.1.2"),
                          ({"AmiVersion": "3.11.0"}, "ReleaseLabel")):
        with pytest.raises(EmrApiError) as err:
            check_release(request)
        assert err.value.code == "ValidationException" and says in err.value.message


def test_jar_sets_per_hadoop_and_committer_per_spark():
    assert JAR_SETS["3.3.4"][0][:3] == ("org.apache.hadoop", "hadoop-aws", "3.3.4")
    assert {c[0] for c in JAR_SETS["3.3.4"][1:]} == {"com.amazonaws"}  # SDK v1 modules
    assert JAR_SETS["3.4.1"][0][:3] == ("org.apache.hadoop", "hadoop-aws", "3.4.1")
    assert "bundle" not in {c[1] for s in JAR_SETS.values() for c in s}
    # Maven Central has no spark-hadoop-cloud 3.5.6: the newest of the 3.5 line binds it
    assert committer_coordinate("3.5.6", "2.12")[1:3] == ("spark-hadoop-cloud_2.12", "3.5.5")
    assert committer_coordinate("4.0.2", "2.13")[1:3] == ("spark-hadoop-cloud_2.13", "4.0.2")
    with pytest.raises(JarError):
        committer_coordinate("3.3.2", "2.12")


def test_s3a_settings_follow_the_runtimes_sdk():
    endpoint = Endpoint(url="http://127.0.0.1:9", region="us-east-1")
    v1 = _installed("emr-7.12.0", "3.3.4").s3a_conf(endpoint)
    v2 = _installed("emr-spark-8.0.0", "3.4.1").s3a_conf(endpoint, with_jars=False)
    # Hadoop 3.3 parses this timeout as milliseconds; "5s" would fail every S3A access
    assert v1["spark.hadoop.fs.s3a.connection.establish.timeout"] == "5000"
    assert v2["spark.hadoop.fs.s3a.connection.establish.timeout"] == "5s"
    assert v1["spark.hadoop.fs.s3a.committer.magic.enabled"] == "true"
    assert v1["spark.jars"] == "/jars/a.jar" and "spark.jars" not in v2


def _installed(label: str, hadoop: str) -> inst.InstalledRuntime:
    return inst.InstalledRuntime(runtime_for(label), Path("/spark"), (Path("/py"),),
                                 (Path("/jars/a.jar"),), hadoop)


def test_a_second_installer_waits_for_the_lock(tmp_path):
    lock = tmp_path / "spark-3.5.6.lock"
    with inst.file_lock(lock), lock.open("a") as other, pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with lock.open("a") as other:  # released: the next one gets it
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _fake_spark(cache: Path, spark: str, hadoop: str) -> None:
    home = cache / f"spark-{spark}" / "python" / "pyspark"
    (home / "bin").mkdir(parents=True)
    (home / "jars").mkdir()
    (home / "bin" / "spark-submit").write_text("#!/bin/sh\n")
    (home / "jars" / f"hadoop-client-api-{hadoop}.jar").write_bytes(b"")
    (cache / f"spark-{spark}" / ".complete").write_text("{}")


def test_a_cached_runtime_is_reused_without_pip(tmp_path, monkeypatch):
    runtime = runtime_for("emr-7.12.0")
    assert not is_installed(runtime, tmp_path)
    _fake_spark(tmp_path, "3.5.6", "3.3.4")
    assert is_installed(runtime, tmp_path)

    def no_network(*args, **kwargs):
        raise AssertionError("pip ran although the runtime is cached")

    seen = {}

    def jars(cache, hadoop=None, committer=None, threads=8):
        seen.update(hadoop=hadoop, committer=committer)
        return JarResolution([cache / "hadoop-aws.jar"], 0, 0, 0.0)

    monkeypatch.setattr(inst, "_pip", no_network)
    monkeypatch.setattr("harness.jars.resolve_jars", jars)
    installed = install(runtime, cache=tmp_path, jar_cache=tmp_path / "jars")
    assert installed.spark_home == tmp_path / "spark-3.5.6" / "python" / "pyspark"
    assert installed.python_path == (tmp_path / "spark-3.5.6" / "python",)
    assert installed.hadoop == "3.3.4" and installed.sdk == "v1"
    assert seen == {"hadoop": "3.3.4", "committer": ("3.5.6", "2.12")}
    assert installed.downloaded_bytes == 0


def test_py4j_requirement_is_read_from_pysparks_metadata(tmp_path):
    meta = tmp_path / "pyspark-4.0.2.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Name: pyspark\nRequires-Dist: py4j<0.10.9.10,>=0.10.9.7\n"
                                   "Requires-Dist: numpy>=1.21; extra == \"ml\"\n")
    assert inst._py4j_requirement(tmp_path, "4.0.2") == "py4j<0.10.9.10,>=0.10.9.7"


def test_runtime_dataclass_is_frozen():
    runtime = runtime_for("emr-7.12.0")
    assert isinstance(runtime, Runtime)
    with pytest.raises(AttributeError):
        runtime.spark = "4.0.2"  # type: ignore[misc]


def test_a_local_target_submits_with_its_runtimes_spark(tmp_path, monkeypatch):
    from harness.spark import SubmitResult
    from harness.targets import EmrStep, Job, LocalSpark, this_python

    seen = {}

    def submit(script, args, **kwargs):
        seen.update(kwargs)
        return SubmitResult(0, 1.0, "", "")

    monkeypatch.setattr("harness.spark.spark_submit", submit)
    installed = _installed("emr-7.12.0", "3.3.4")
    done = LocalSpark(tmp_path, runtime=installed).submit(Job("j", "job.py", "in", "out"))
    assert seen["home"] == Path("/spark")
    # the release's Spark; the Python its driver really ran on (this interpreter)
    assert done.details["runtime"]["describe"] == \
        f"Spark 3.5.6 / Scala 2.12 / Python {this_python()} / ANSI off"
    LocalSpark(tmp_path).submit(Job("j", "job.py", "in", "out"))
    assert seen["home"] is None  # the harness's own pyspark
    assert EmrStep(tmp_path, runtime=installed).release_label == "emr-7.12.0"
    assert EmrStep(tmp_path).release_label == "emr-7.12.0"  # the job flows' default
    assert EmrStep(tmp_path, runtime=_installed("emr-spark-8.0.0", "3.4.1")) \
        ._job_flow_request([])["ReleaseLabel"] == "emr-spark-8.0.0"


def test_bench_json_table_and_report_name_the_runtime(tmp_path):
    from harness.bench.results import _bench, _bench_info
    from harness.bench.runner import BenchReport
    from harness.bench.table import _runtime, write_json
    from harness.targets import runtime_description

    runtime = runtime_description(_installed("emr-7.12.0", "3.3.4"))
    report = BenchReport("cascade", {"rows": 10, "seed": 1}, {"name": "local"}, None,
                         "duckdb-sql", {"spark": "4.3.0"}, [], runtime=runtime)
    assert report.to_json()["runtime"]["spark"] == "3.5.6"
    assert _runtime(report) == "emr-7.12.0: Spark 3.5.6 / Scala 2.12 / Python 3.9 / ANSI off"
    write_json(report, tmp_path / "bench.json")
    run = _bench_info(_bench(json.loads((tmp_path / "bench.json").read_text()),
                             tmp_path / "bench.json"))
    assert run.machine["runtime"] == "Spark 3.5.6 / Scala 2.12 / Python 3.9 / ANSI off"
    assert runtime_description(None)["label"] == "embedded"
