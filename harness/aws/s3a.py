"""Spark reading and writing s3:// through S3A (hadoop-aws) against the endpoint.

The jars (pinned, fetched once, verified) are harness.jars', re-exported here. The
settings map `s3://` to S3A, as EMR does since emr-7.10, so a job's URIs are the same here
and on EMR; writes go through the S3A magic committer (no rename-based commit), bound to
Spark by spark-hadoop-cloud.
"""

from __future__ import annotations

from pathlib import Path

from harness.aws.endpoint import Endpoint
from harness.jars import JAR_SETS, JarError, JarResolution, hadoop_version, resolve_jars

__all__ = ["JAR_SETS", "JarError", "JarResolution", "hadoop_version", "resolve_jars",
           "spark_conf"]


def _sdk_v1(hadoop: str | None) -> bool:
    """hadoop-aws before 3.4 uses the AWS SDK v1 (3.4 and later: v2)."""
    return hadoop is not None and tuple(int(p) for p in hadoop.split(".")[:2]) < (3, 4)


def spark_conf(endpoint: Endpoint, jars: list[Path] | None = None,
               hadoop: str | None = None) -> dict[str, str]:
    """Spark settings for s3:// and s3a:// against the endpoint (or AWS, for target aws),
    in the dialect of the S3A of `hadoop` (default: the harness's own pyspark's)."""
    v1 = _sdk_v1(hadoop)
    conf = {
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        # s3n:// too, as on EMR (EMRFS, and S3A since emr-7.10, serve all three schemes)
        "spark.hadoop.fs.s3n.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint.region": endpoint.region,
        # S3A committers instead of rename: the magic committer writes straight to the
        # destination with multipart uploads completed at job commit.
        "spark.sql.sources.commitProtocolClass":
            "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol",
        "spark.sql.parquet.output.committer.class":
            "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter",
        "spark.hadoop.fs.s3a.committer.name": "magic",
        # on by default from Hadoop 3.3.5; 3.3.4 (Spark 3.4/3.5) needs it said
        "spark.hadoop.fs.s3a.committer.magic.enabled": "true",
        "spark.hadoop.mapreduce.outputcommitter.factory.scheme.s3a":
            "org.apache.hadoop.fs.s3a.commit.S3ACommitterFactory",
        "spark.hadoop.mapreduce.outputcommitter.factory.scheme.s3":
            "org.apache.hadoop.fs.s3a.commit.S3ACommitterFactory",
        "spark.hadoop.mapreduce.outputcommitter.factory.scheme.s3n":
            "org.apache.hadoop.fs.s3a.commit.S3ACommitterFactory",
    }
    if endpoint.target == "local":
        conf.update({
            "spark.hadoop.fs.s3a.endpoint": endpoint.url or "",
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
            "spark.hadoop.fs.s3a.aws.credentials.provider":
                "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            "spark.hadoop.fs.s3a.access.key": endpoint.access_key,
            "spark.hadoop.fs.s3a.secret.key": endpoint.secret_key,
            # fail fast when the endpoint is down instead of retrying for minutes
            "spark.hadoop.fs.s3a.attempts.maximum": "2",
            "spark.hadoop.fs.s3a.retry.limit": "2",
            # Hadoop 3.3 (SDK v1) reads this as whole milliseconds, 3.4 as a duration
            "spark.hadoop.fs.s3a.connection.establish.timeout": "5000" if v1 else "5s",
        })
    if jars:
        conf["spark.jars"] = ",".join(str(p) for p in jars)
    return conf
