"""The Spark JVMs' options: the class-data-sharing archive is used once built for that
Java and Spark distribution, and only then; nothing is started."""

from harness import jvm


def _distribution(tmp_path):
    home = tmp_path / "spark"
    (home / "jars").mkdir(parents=True)
    (home / "jars" / "spark-core.jar").write_bytes(b"x" * 10)
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\n")
    return home, java


def test_the_archive_is_used_once_built_and_only_for_its_distribution(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_JAR_CACHE", str(tmp_path / "cache" / "jars"))
    home, java = _distribution(tmp_path)
    assert jvm.driver_opts(home, java) == jvm.FAST_JVM_OPTS  # none built: plain fast start
    archive = jvm.archive_path(home, java)
    assert archive.parent == tmp_path / "cache" / "cds"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    opts = jvm.driver_opts(home, java).split()
    assert f"-XX:SharedArchiveFile={archive}" in opts
    assert "-Xshare:auto" in opts and "-Xlog:cds=off" in opts  # no archive: still runs
    monkeypatch.setenv("HARNESS_CDS", "0")  # turned off, to compare
    assert jvm.driver_opts(home, java) == jvm.FAST_JVM_OPTS
    monkeypatch.delenv("HARNESS_CDS")
    # another Spark (a jar more) has its own archive, not this one
    (home / "jars" / "hadoop-aws.jar").write_bytes(b"y")
    assert jvm.archive_path(home, java) != archive
    assert jvm.driver_opts(home, java) == jvm.FAST_JVM_OPTS
