"""EMR `Configurations` (classifications), cluster-level and per instance group: checked
against the release as EMR checks them at RunJobFlow, and applied to the local nodes as EMR
writes them into each application's files.

Applied: `spark-defaults` (spark-defaults.conf), `spark` (maximizeResourceAllocation, from
the smallest local worker as EMR computes it from the core/task instance type), `spark-env`
(`export` blocks: spark-env.sh, which spark-submit sources for the driver, and
spark.executorEnv.* for the executors), `spark-hive-site` (hive-site.xml; the Glue Data
Catalog client factory becomes a persistent local Derby metastore), and the S3 keys of
`core-site` / `emrfs-site` (their S3A equivalents; the rest of core-site as Hadoop
settings). Every other valid classification configures an application that does not run
here: it is accepted, as EMR accepts it, and the step's controller log says it is not
applied. Nothing is dropped silently: each mapping or refusal is a note.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from harness.emr.exceptions import ValidationException

__all__ = ["HARNESS_DEFAULTS", "AppliedConfigurations", "apply", "check_request",
           "check_configurations", "layered", "valid_classifications"]

# Classifications of the emr-7.x releases (EMR Release Guide, "Configuration
# classifications" of each emr-7.x release); *-connector-* families are matched by prefix.
_COMMON = frozenset("""
capacity-scheduler container-executor container-log4j core-site delta-defaults docker-conf
emrfs-site flink-conf flink-log4j flink-log4j-cli flink-log4j-session hadoop-env
hadoop-log4j hadoop-ssl-client hadoop-ssl-server hadoop-kms-acls hadoop-kms-env
hadoop-kms-log4j hadoop-kms-site hbase hbase-env hbase-log4j hbase-metrics hbase-policy
hbase-site hcatalog-env hcatalog-server-jndi hcatalog-server-proto-hive-site
hcatalog-webhcat-env hcatalog-webhcat-log4j2 hcatalog-webhcat-site hdfs-encryption-zones
hdfs-env hdfs-site hive hive-beeline-log4j2 hive-env hive-exec-log4j2
hive-llap-daemon-log4j2 hive-log4j2 hive-parquet-logging hive-site hiveserver2-site
httpfs-env httpfs-site hudi-defaults hudi-env hue-ini iceberg-defaults
jupyter-notebook-conf jupyter-hub-conf jupyter-s3-conf jupyter-sparkmagic-conf livy-conf
livy-env livy-log4j2 mapred-env mapred-site oozie-env oozie-log4j oozie-site
phoenix-hbase-metrics phoenix-hbase-site phoenix-log4j phoenix-metrics pig-env pig-log4j
pig-properties presto-config presto-env presto-log presto-node ranger-kms-dbks-site
ranger-kms-site ranger-kms-env ranger-kms-logback ranger-kms-db-ca recordserver-env
recordserver-conf recordserver-log4j spark spark-defaults spark-env spark-hive-site
spark-metrics sqoop-env sqoop-oraoop-site sqoop-site tez-site trino-config trino-env
trino-log trino-node trino-password-authenticator yarn-env yarn-site zeppelin-env
zeppelin-site zookeeper-config zookeeper-log4j zookeeper-logback
""".split())  # noqa: SIM905 - the list as EMR's tables give it
_PREFIXES = ("presto-connector-", "trino-connector-", "prestosql-connector-")
# Spark 3.3 moved to Log4j 2: from emr-6.8.0 `spark-log4j` is refused for `spark-log4j2`.
_LOG4J2_SINCE = (6, 8, 0)

GLUE_FACTORY = "com.amazonaws.glue.catalog.metastore.AWSGlueDataCatalogHiveClientFactory"
S3A = "org.apache.hadoop.fs.s3a.S3AFileSystem"

# What the harness adds to a job flow's spark-defaults for small machines. None changes a
# job's result; each is listed in every step's controller log, and a spark-defaults
# Configuration or the step's own --conf overrides it.
HARNESS_DEFAULTS = {
    # no Spark UI per driver (its port and threads cost seconds of start-up on 2 cores)
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # C1 only and the serial collector: a third less wall time for jobs of seconds
    "spark.executor.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
                                       "-Xshare:auto",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
                                     "-Xshare:auto",
    # EMR's nodes keep UTC; this machine's zone must not leak into timestamps
    "spark.sql.session.timeZone": "UTC",
}
# Settings that change a job's result (how it fails, how many files it writes): the
# harness never adds them, so Spark's and EMR's defaults hold.
_RESULT_CHANGING = {"spark.task.maxFailures", "spark.stage.maxConsecutiveAttempts",
                    "spark.sql.shuffle.partitions"}
# Settings the harness never takes from a Configuration: where the cluster and the endpoint
# are. A Configuration naming them is told so in the controller log.
_OWNED_PREFIXES = ("spark.hadoop.fs.s3a.endpoint", "spark.hadoop.fs.s3a.access.key",
                   "spark.hadoop.fs.s3a.secret.key", "spark.hadoop.fs.s3a.session.token",
                   "spark.hadoop.fs.s3a.aws.credentials.provider",
                   "spark.hadoop.fs.s3a.path.style.access",
                   "spark.hadoop.fs.s3a.connection.ssl.enabled")
# EMRFS (fs.s3.*) settings with an S3A equivalent, as EMR translates them since emr-7.10
_EMRFS_TO_S3A = {
    "fs.s3.maxConnections": "fs.s3a.connection.maximum",
    "fs.s3.maxRetries": "fs.s3a.retry.limit",
    "fs.s3.buffer.dir": "fs.s3a.buffer.dir",
    "fs.s3.block.size": "fs.s3a.block.size",
    "fs.s3.multipart.part.size": "fs.s3a.multipart.size",
    "fs.s3.multipart.threshold": "fs.s3a.multipart.threshold",
    "fs.s3.canned.acl": "fs.s3a.acl.default",
    "fs.s3.serverSideEncryption.kms.keyId": "fs.s3a.encryption.key",
    "fs.s3.storageClass": "fs.s3a.create.storage.class",
    "fs.s3.requester-pays.enabled": "fs.s3a.requester.pays.enabled",
    "fs.s3.connection.timeout": "fs.s3a.connection.timeout",
}
# S3 keys that would point S3A away from the endpoint, or that the harness owns
_S3_IGNORED = {
    "fs.s3.impl", "fs.s3a.impl", "fs.s3n.impl", "fs.AbstractFileSystem.s3.impl",
    "fs.s3a.endpoint", "fs.s3a.endpoint.region", "fs.s3a.access.key", "fs.s3a.secret.key",
    "fs.s3a.session.token", "fs.s3a.aws.credentials.provider", "fs.s3a.path.style.access",
    "fs.s3a.connection.ssl.enabled", "fs.s3.customAWSCredentialsProvider",
}


def release_version(label: str | None) -> tuple[int, int, int]:
    """(7, 9, 0) for emr-7.9.0 (and emr-spark-8.0.0 as 8.0.0); unknown labels read as new."""
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", label or "")
    return tuple(int(x) for x in match.groups()) if match else (99, 0, 0)  # type: ignore


def valid_classifications(label: str | None) -> frozenset[str]:
    """The top-level classifications EMR accepts for this release."""
    if release_version(label) >= _LOG4J2_SINCE:
        return _COMMON | {"spark-log4j2"}
    return _COMMON | {"spark-log4j", "hive-log4j", "hive-exec-log4j", "livy-log4j"}


def _known(name: str, label: str | None) -> bool:
    return name in valid_classifications(label) or name.startswith(_PREFIXES)


def check_configurations(configurations: Iterable[Mapping[str, Any]], label: str | None,
                         parent: str | None = None) -> None:
    """EMR's ValidationException for a classification the release does not have, or a
    nested one its parent does not take (only `export`, under an `*-env`)."""
    for config in configurations or ():
        name = str(config.get("Classification", ""))
        if parent is None:
            valid = _known(name, label)
        else:
            valid = name == "export" and parent.endswith("-env")
        if not valid:
            raise ValidationException(f"Classification '{name}' is not valid for parent "
                                      f"classification '{parent or 'null'}'.")
        check_configurations(config.get("Configurations") or (), label, name)


def check_request(params: Mapping[str, Any]) -> None:
    """A RunJobFlow request's Configurations: cluster-level, per instance group, and per
    instance type of an instance fleet (InstanceTypeConfigs[].Configurations)."""
    label = params.get("ReleaseLabel")
    check_configurations(params.get("Configurations") or (), label)
    instances = params.get("Instances") or {}
    for group in instances.get("InstanceGroups") or ():
        check_configurations(group.get("Configurations") or (), label)
    for fleet in instances.get("InstanceFleets") or ():
        for config in fleet.get("InstanceTypeConfigs") or ():
            check_configurations(config.get("Configurations") or (), label)


def layered(cluster: Iterable[Mapping[str, Any]],
            group: Iterable[Mapping[str, Any]] = ()) -> dict[str, dict[str, Any]]:
    """Classification -> {"Properties": ..., "export": ...}: the cluster's, with an instance
    group's on top (EMR: a group's Configurations override the cluster's, per property)."""
    merged: dict[str, dict[str, Any]] = {}
    for config in [*(cluster or ()), *(group or ())]:
        entry = merged.setdefault(config["Classification"], {"Properties": {}, "export": {}})
        entry["Properties"].update({str(k): str(v) for k, v in
                                    (config.get("Properties") or {}).items()})
        for nested in config.get("Configurations") or ():
            if nested.get("Classification") == "export":
                entry["export"].update({str(k): str(v) for k, v in
                                        (nested.get("Properties") or {}).items()})
    return merged


@dataclass
class AppliedConfigurations:
    """What a job flow's Configurations became on the local nodes."""

    spark_defaults: dict[str, str]
    spark_env: dict[str, str] = field(default_factory=dict)
    hive_site: dict[str, str] = field(default_factory=dict)
    harness_defaults: dict[str, str] = field(default_factory=dict)  # those still in force
    notes: list[str] = field(default_factory=list)

    def hadoop_site(self) -> dict[str, str]:
        """core-site.xml for a `hadoop jar` step: the spark.hadoop.* settings."""
        return {k[len("spark.hadoop."):]: v for k, v in self.spark_defaults.items()
                if k.startswith("spark.hadoop.")}

    def write(self, conf_dir: Path, hadoop_conf_dir: Path) -> None:
        """spark-defaults.conf, spark-env.sh and hive-site.xml, as EMR writes them in
        /etc/spark/conf, and core-site.xml in /etc/hadoop/conf."""
        conf_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{k} {v}" for k, v in self.spark_defaults.items()]
        (conf_dir / "spark-defaults.conf").write_text("\n".join(lines) + "\n")
        env = conf_dir / "spark-env.sh"
        if self.spark_env:
            env.write_text("".join(f"export {k}={v}\n" for k, v in self.spark_env.items()))
        else:
            env.unlink(missing_ok=True)
        hive = conf_dir / "hive-site.xml"
        if self.hive_site:
            hive.write_text(_site_xml(self.hive_site))
        else:
            hive.unlink(missing_ok=True)
        hadoop_conf_dir.mkdir(parents=True, exist_ok=True)
        (hadoop_conf_dir / "core-site.xml").write_text(_site_xml(self.hadoop_site()))


def _site_xml(props: Mapping[str, str]) -> str:
    body = "".join(f"  <property><name>{escape(k)}</name><value>{escape(v)}</value>"
                   "</property>\n" for k, v in props.items())
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


def apply(configurations: Mapping[str, Mapping[str, Any]], *, cluster_conf: Mapping[str, str],
          s3a_conf: Mapping[str, str], workers: list[tuple[int, int]],
          metastore_dir: Path, groups_with_own: Iterable[str] = ()) -> AppliedConfigurations:
    """The job flow's spark-defaults and files from its layered Configurations (as the
    master node sees them). cluster_conf: master URL and executor sizing; s3a_conf: the
    endpoint's S3A settings; workers: (cores, memory_mb) of each worker node."""
    notes: list[str] = []
    user: dict[str, str] = {}
    dropped = sorted(set(cluster_conf) & _RESULT_CHANGING)
    if dropped:
        cluster_conf = {k: v for k, v in cluster_conf.items() if k not in _RESULT_CHANGING}
        notes.append(f"not set: {', '.join(dropped)} (they would change how a job fails or "
                     "what it writes; Spark's and EMR's defaults apply)")
    for name, entry in configurations.items():
        props = entry["Properties"]
        if name == "spark-defaults":
            pass  # last: its properties win over what the others derive, as on EMR
        elif name == "spark":
            user.update(_maximize(props, cluster_conf, workers, notes))
        elif name == "spark-env":
            if props:
                notes.append(f"spark-env: Properties {sorted(props)} are not written "
                             "(EMR takes spark-env settings in a nested 'export' block)")
        elif name == "spark-hive-site":
            pass  # below, once spark-defaults are known
        elif name in {"core-site", "emrfs-site"}:
            user.update(_s3_keys(name, props, notes))
        else:
            notes.append(f"Configuration '{name}' is accepted but not applied: it configures "
                         "an application or daemon that does not run in the rehearsal")
    user.update(configurations.get("spark-defaults", {}).get("Properties", {}))
    for group in groups_with_own:
        notes.append(f"instance group {group} has its own Configurations: they apply to its "
                     "nodes' daemons on EMR; the driver's Spark settings are the master's")

    conf: dict[str, str] = {**HARNESS_DEFAULTS, **cluster_conf, **s3a_conf}
    for key, value in user.items():
        if key == "spark.master":
            notes.append(f"spark-defaults: spark.master {value} replaced by the local "
                         f"cluster's master {conf.get('spark.master')}")
        elif key.startswith(_OWNED_PREFIXES):
            notes.append(f"spark-defaults: {key} ignored (S3A is bound to the endpoint)")
        elif key == "spark.jars" and s3a_conf.get("spark.jars"):
            conf[key] = f"{s3a_conf['spark.jars']},{value}"
        else:
            conf[key] = value
    in_force = {k: v for k, v in HARNESS_DEFAULTS.items() if conf.get(k) == v and k not in user}

    spark_env, hive_site = {}, {}
    if "spark-env" in configurations:
        spark_env = _exports(configurations["spark-env"]["export"], notes)
        for key, value in spark_env.items():
            conf.setdefault(f"spark.executorEnv.{key}", value)
        if spark_env:
            notes.append(f"spark-env: exports {', '.join(spark_env)} in spark-env.sh (driver) "
                         "and spark.executorEnv.* (executors)")
    if "spark-hive-site" in configurations:
        hive_site = _hive_site(configurations["spark-hive-site"]["Properties"], metastore_dir,
                               conf, notes)
    return AppliedConfigurations(conf, spark_env, hive_site, in_force, notes)


def _maximize(props: Mapping[str, str], cluster_conf: Mapping[str, str],
              workers: list[tuple[int, int]], notes: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in props.items():
        if key != "maximizeResourceAllocation":
            notes.append(f"spark: property {key} is not one EMR documents; not applied")
        elif value.lower() == "true" and workers:
            cores = min(c for c, _ in workers)
            out = {
                "spark.executor.cores": str(cores),
                "spark.executor.memory": cluster_conf.get("spark.executor.memory", ""),
                "spark.executor.instances": str(len(workers)),
                "spark.default.parallelism": str(2 * sum(c for c, _ in workers)),
            }
            out = {k: v for k, v in out.items() if v}
            notes.append("spark: maximizeResourceAllocation from the smallest local worker "
                         f"({cores} cores): " + ", ".join(f"{k}={v}" for k, v in out.items()))
    return out


def _s3_keys(name: str, props: Mapping[str, str], notes: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in props.items():
        if key in _S3_IGNORED:
            notes.append(f"{name}: {key} ignored (the harness binds s3://, s3n:// and s3a:// "
                         "to S3A against the endpoint)")
        elif key.startswith("fs.s3a."):
            out[f"spark.hadoop.{key}"] = value
        elif key == "fs.s3.enableServerSideEncryption":
            if value.lower() == "true":
                algo = "SSE-KMS" if "fs.s3.serverSideEncryption.kms.keyId" in props \
                    else "SSE-S3"
                out["spark.hadoop.fs.s3a.encryption.algorithm"] = algo
                notes.append(f"{name}: {key}=true -> fs.s3a.encryption.algorithm={algo}")
        elif key in _EMRFS_TO_S3A:
            out[f"spark.hadoop.{_EMRFS_TO_S3A[key]}"] = value
            notes.append(f"{name}: {key} -> {_EMRFS_TO_S3A[key]}={value}")
        elif key.startswith(("fs.s3.", "fs.s3n.")):
            notes.append(f"{name}: {key} has no S3A equivalent; ignored (EMRFS-only: "
                         "consistent view, client-side encryption, ...)")
        elif name == "core-site":
            out[f"spark.hadoop.{key}"] = value
        else:
            notes.append(f"{name}: {key} is not an S3 setting; ignored")
    return out


def _exports(exports: Mapping[str, str], notes: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in exports.items():
        path = value.strip("\"'")
        if key == "JAVA_HOME" and not Path(path).exists():
            notes.append(f"spark-env: JAVA_HOME={value} does not exist here; the node's own "
                         "Java is used")
            continue
        if key in {"PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"} and path.startswith("/") \
                and not Path(path).exists():
            local = Path(path).name
            found = shutil.which(local)
            notes.append(f"spark-env: {key}={value} does not exist here; {local} on the "
                         f"node's PATH is used ({found or 'not found: the step will fail'})")
            value = local
        out[key] = value
    return out


def _hive_site(props: Mapping[str, str], metastore_dir: Path, conf: dict[str, str],
               notes: list[str]) -> dict[str, str]:
    site = dict(props)
    factory = site.get("hive.metastore.client.factory.class")
    remote = site.get("hive.metastore.uris")
    if factory == GLUE_FACTORY or remote:
        site.pop("hive.metastore.client.factory.class", None)
        site.pop("hive.metastore.uris", None)
        metastore_dir.mkdir(parents=True, exist_ok=True)
        warehouse = metastore_dir / "warehouse"
        site.update({
            "javax.jdo.option.ConnectionURL":
                f"jdbc:derby:;databaseName={metastore_dir / 'metastore_db'};create=true",
            "javax.jdo.option.ConnectionDriverName": "org.apache.derby.jdbc.EmbeddedDriver",
            "hive.metastore.warehouse.dir": str(warehouse),
        })
        conf.setdefault("spark.sql.warehouse.dir", str(warehouse))
        what = "the Glue Data Catalog" if factory == GLUE_FACTORY else f"metastore {remote}"
        notes.append(f"spark-hive-site: {what} is a local persistent Derby metastore at "
                     f"{metastore_dir} (warehouse {warehouse}); one Spark driver at a time "
                     "can hold it")
    return site
