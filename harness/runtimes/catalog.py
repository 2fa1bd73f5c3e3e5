"""The runtime catalog: what each EMR release label runs (Spark, Scala, Hadoop, the nodes'
default python3, ANSI SQL, EMR's default node Python packages), read from catalog.json,
whose rows come from EMR's release guide (source and date in the file)."""

from __future__ import annotations

import difflib
import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harness.errors import HarnessError

CATALOG = Path(__file__).with_name("catalog.json")
EMBEDDED = "embedded"

# The Hadoop client each pyspark release line bundles (checked again at install against its
# jars/hadoop-client-api-*.jar): it decides the S3A jar set. pyspark < 3.4 brings Hadoop
# clients (3.3.2 and older) whose jar sets are not pinned here, and before 3.3 needs a Java
# older than this machine's 17: not runnable.
PYSPARK_HADOOP = {"3.4": "3.3.4", "3.5": "3.3.4", "4.0": "3.4.1"}


class UnknownReleaseLabel(HarnessError):
    """A release label the runtime catalog does not have (or the harness cannot run)."""


@dataclass(frozen=True)
class Runtime:
    """One catalog entry: what a release label's nodes run."""

    label: str
    spark: str  # the Apache Spark release, e.g. 3.5.6
    scala: str  # e.g. 2.12.18
    hadoop: str  # EMR's Hadoop, e.g. 3.4.1 (the S3A jars follow pyspark's own client)
    python: str  # the nodes' default python3, e.g. 3.9
    ansi: bool  # spark.sql.ansi.enabled's default
    packages: tuple[str, ...] = ()  # EMR's default node Python packages
    pythons: tuple[str, ...] = ()  # every Python the nodes have (the default first)
    emr_spark: str | None = None  # EMR's build name, e.g. 3.5.6-amzn-1, where read
    read: bool = True  # False: the row was not re-read from the guide (catalog.json)

    @property
    def scala_binary(self) -> str:
        """2.12 or 2.13: what a jar's _2.1x suffix must say."""
        return ".".join(self.scala.split(".")[:2])

    @property
    def spark_minor(self) -> str:
        return ".".join(self.spark.split(".")[:2])

    @property
    def pyspark_hadoop(self) -> str | None:
        """The Hadoop client inside this Spark's pyspark (None: not runnable here)."""
        return PYSPARK_HADOOP.get(self.spark_minor)

    def describe(self) -> str:
        """'Spark 3.5.6 / Scala 2.12 / Python 3.9 / ANSI off'."""
        return (f"Spark {self.spark} / Scala {self.scala_binary} / Python {self.python} / "
                f"ANSI {'on' if self.ansi else 'off'}")

    def to_dict(self) -> dict[str, object]:
        return {"label": self.label, "spark": self.spark, "scala": self.scala_binary,
                "hadoop": self.hadoop, "python": self.python, "ansi": self.ansi}


@cache
def _data() -> dict:
    return json.loads(CATALOG.read_text())


def _series(label: str) -> str:
    found = re.match(r"(emr-spark-\d+|emr-\d+)\.", label)
    return found.group(1) if found else ""


@cache
def catalog() -> dict[str, Runtime]:
    """Every release label the catalog has, newest first."""
    data = _data()
    out = {}
    for row in data["releases"]:
        series = data["series"][_series(row["label"])]
        pythons = tuple(row.get("pythons", series["pythons"]))
        out[row["label"]] = Runtime(
            label=row["label"], spark=row["spark"], scala=row["scala"], hadoop=row["hadoop"],
            python=series["python"], ansi=bool(series["ansi"]),
            packages=tuple(series["packages"]), pythons=pythons,
            emr_spark=row.get("emr_spark"), read=bool(row.get("read", True)))
    return out


def source() -> tuple[list[str], str]:
    """The release-guide pages the catalog was read from, and the date."""
    data = _data()
    return list(data["sources"]), data["retrieved"]


def _key(label: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", label))


def nearest(label: str, n: int = 3, among: list[str] | None = None) -> list[str]:
    """The catalog's labels closest to `label`: its own series first, then by version."""
    labels = among if among is not None else list(catalog())
    series, wanted = _series(label), _key(label)

    def distance(other: str) -> tuple:
        diffs = [abs(a - b) for a, b in zip(_key(other), wanted, strict=False)]
        return (_series(other) != series, diffs, other)

    if not wanted:
        return difflib.get_close_matches(label, labels, n=n, cutoff=0.0) or labels[:n]
    return sorted(labels, key=distance)[:n]


def runtime_for(label: str) -> Runtime:
    """The catalog entry of an EMR release label, or of a Spark version (the newest label
    shipping it); UnknownReleaseLabel naming the nearest labels otherwise."""
    if label == EMBEDDED:
        return embedded()
    runtimes = catalog()
    if label in runtimes:
        return runtimes[label]
    if re.fullmatch(r"\d+\.\d+\.\d+", label):
        shipping = [r for r in runtimes.values() if r.spark == label]
        if shipping:
            return shipping[0]
        versions = sorted({r.spark for r in runtimes.values()}, key=_key)
        raise UnknownReleaseLabel(f"no EMR release in the runtime catalog ships Spark {label}",
                                  f"use one of: {', '.join(versions)}")
    raise UnknownReleaseLabel(
        f"release label {label!r} is not in the harness's runtime catalog",
        f"use a label EMR's release guide lists, e.g. {', '.join(nearest(label))}")


def check_runnable(runtime: Runtime) -> None:
    """UnknownReleaseLabel when this machine cannot run the label's Spark."""
    if runtime.pyspark_hadoop is None:
        runnable = [r.label for r in catalog().values() if r.pyspark_hadoop]
        near = nearest(runtime.label, among=runnable)
        raise UnknownReleaseLabel(
            f"{runtime.label} ships Spark {runtime.spark}, which the harness cannot run "
            "(it runs Spark 3.4, 3.5 and 4.0: older pyspark brings Hadoop clients whose S3A jar "
            "sets are not pinned here, and before 3.3 needs Java 8 or 11)",
            f"rehearse with a label of Spark 3.4 or newer, e.g. {', '.join(near)}")


@cache
def embedded() -> Runtime:
    """The harness's own pyspark (plain `harness bench`, spark_submit without a label)."""
    from harness.jars import hadoop_version
    from harness.spark import spark_home, spark_version

    version = spark_version()
    scala = "unknown"
    for jar in (spark_home() / "jars").glob("scala-library-*.jar"):
        scala = jar.name[len("scala-library-"):-len(".jar")]
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Runtime(label=EMBEDDED, spark=version, scala=scala, hadoop=hadoop_version(),
                   python=python, ansi=int(version.split(".")[0]) >= 4, pythons=(python,))


__all__ = ["CATALOG", "EMBEDDED", "Runtime", "UnknownReleaseLabel", "catalog",
           "check_runnable", "embedded", "nearest", "runtime_for", "source"]
