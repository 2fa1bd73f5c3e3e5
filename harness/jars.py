"""The S3A jars on Spark's classpath: hadoop-aws must equal the Hadoop inside pyspark
(pyspark 4.3: Hadoop 3.5.0; a release label's runtime: 3.3.4 for Spark 3.4/3.5, 3.4.1 for
Spark 4.0). Instead of the AWS SDK `bundle` (v2 ~650 MB, v1 ~280 MB) the harness fetches the
individual SDK modules hadoop-aws needs (~18 MB), from Maven Central, once, verified against
pinned SHA-1s, into a cache shared by every run; with them the S3A committers' binding for
Spark SQL (spark-hadoop-cloud of the runtime's Spark and Scala). Used by the S3A settings
(harness.aws.s3a), the runtimes (harness.runtimes) and the docker backend's node image
(harness.cluster.images)."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
_SDK = "2.35.4"

# The closure of hadoop-aws 3.5.0 without the SDK bundle and without what pyspark's own
# jars already carry (netty, slf4j, httpcomponents, commons-*), as resolved by Maven.
JAR_SETS: dict[str, list[tuple[str, str, str, str]]] = {
    "3.5.0": [
        ("org.apache.hadoop", "hadoop-aws", "3.5.0", "9e594525d264c0db653c7f68da98b245f7d61ea5"),
        ("software.amazon.s3.analyticsaccelerator", "analyticsaccelerator-s3", "1.3.1",
         "6c9bd0f6c440c9a78e82d272f5f0252d942419f6"),
        ("software.amazon.eventstream", "eventstream", "1.0.1",
         "6ff8649dffc5190366ada897ba8525a836297784"),
        ("org.reactivestreams", "reactive-streams", "1.0.4",
         "3864a1320d97d7b045f729a326e1e077661f31b7"),
        # S3A committers for Spark SQL (PathOutputCommitProtocol); 4.1.2 is the newest on
        # Maven Central and works with Spark 4.3.
        ("org.apache.spark", "spark-hadoop-cloud_2.13", "4.1.2",
         "4aa61bdd33f4e2b1fe348840559e4a0d8567bc33"),
        *[("software.amazon.awssdk", name, _SDK, sha) for name, sha in (
            ("s3", "cc6cd77617d73cf9084d021e2693863bede49a4d"),
            ("s3-transfer-manager", "6e4f2e5072fbc8551940eeed15220ddd11c684b2"),
            ("annotations", "0ee2f050aafed2b3b9393472a4fb35eb91c74555"),
            ("apache-client", "406c25140a3a32ccd49ba3d752096a9fe2787ba3"),
            ("arns", "d915a3104773b44533bd6f618a8c7b28c2e9d8a0"),
            ("auth", "3a5f28f575d616813cad10a8db817984ed57d777"),
            ("aws-core", "2f288fa2bac08dde3e9c74950bc9a7fe04913371"),
            ("aws-query-protocol", "a4908689bc1285e192da926bd1d646d09d1d7def"),
            ("aws-xml-protocol", "3a8c83d91ba7b41c29a2d84826e293ec4fa51386"),
            ("checksums", "75d7256f1fa208224a3b23e2100941c0416f38a5"),
            ("checksums-spi", "36eba96eccfc87a5de204f72ad215ac362d28755"),
            ("crt-core", "eba7c2ddaef9938a072b4a6e58fd95ce8a7e0805"),
            ("endpoints-spi", "5fd0e9e47a6fdf05ea5906ac38e0bce1268ab9f0"),
            ("http-auth", "ffa68c5e63d0f8ee9a5788029267cc450b5617c4"),
            ("http-auth-aws", "d149f075bc7b5631754cbb1adfcd2c77aa932a1b"),
            ("http-auth-aws-eventstream", "2590b41716ea3fd938fe614321da9c5367f6868c"),
            ("http-auth-spi", "8b280ce879d02d3da134e61e303d8e6c5eacc988"),
            ("http-client-spi", "3995875e3b834d39d708b661142949078babc34a"),
            ("identity-spi", "75e3168376548e375560e4595ba6a768458c87c1"),
            ("json-utils", "ca561bcb836814901bb8eda4089e451dcbf18024"),
            ("metrics-spi", "a2065eca2ade2adb2a937d4e671b52704cffbdc5"),
            ("netty-nio-client", "90acbbb695727eac973267f70d72bd95244d1d60"),
            ("profiles", "f9342cdd5f95a0d2f85bbedc3d25c3fc230beb51"),
            ("protocol-core", "54d8a6bdbe86852311b80d2a5b782995d6d7d0b7"),
            ("regions", "83ab2f31cd9932dc274aa418cd4cbd761cbca3c8"),
            ("retries", "02117c396b14d7db6c4b88d5c32b8380640a7bd0"),
            ("retries-spi", "22196f00e2560aa9c74b6a74f62b8bd51a4b94b6"),
            ("sdk-core", "7de70ccba4959d32e7a2ec549d312378413d36c9"),
            ("third-party-jackson-core", "980758655bc742236478439d753c634858846d1c"),
            ("utils", "8bf086b3b751b058fa62e7f0398d94db7295ebbe"),
            ("utils-lite", "148d6b8801d9696c4cffff306dfdd3b96781af24"),
        )],
    ],
}


_SDK_V1 = "1.12.262"  # what hadoop-aws 3.3.4 was built with (aws-java-sdk-bundle)
# hadoop-aws 3.4.1 was built with SDK v2 2.24.6, whose s3-transfer-manager Maven Central
# lacks; 2.24.8 (same minor) is the nearest set with every module
_SDK_V2_341 = "2.24.8"

# hadoop-aws 3.3.4 (AWS SDK v1) without the bundle: the modules S3A loads, as resolved by
# Maven from aws-java-sdk-s3; Jackson, Joda-Time and httpclient come with pyspark 3.4/3.5
JAR_SETS["3.3.4"] = [
    ("org.apache.hadoop", "hadoop-aws", "3.3.4", "a65839fbf1869f81a1632e09f415e586922e4f80"),
    *[("com.amazonaws", name, _SDK_V1, sha) for name, sha in (
        ("aws-java-sdk-core", "2734ba5566476d9154e5460dedbc83de95a9016d"),
        ("aws-java-sdk-s3", "71be2e0d2fa870424649e140c689abeda20e55ea"),
        ("aws-java-sdk-kms", "01cf105b9ea7747356a483270ba7e110fcf3324d"),
        ("aws-java-sdk-dynamodb", "215de3e7087ad7880eed1215c16734cca21662a7"),
        ("jmespath-java", "866bcdec4e926fa17a231df6dd76eecdcfa26292"),
    )],
]
# hadoop-aws 3.4.1 (AWS SDK v2) without the bundle, as resolved by Maven from s3 and
# s3-transfer-manager; netty comes with pyspark 4.0
JAR_SETS["3.4.1"] = [
    ("org.apache.hadoop", "hadoop-aws", "3.4.1", "641d8fe1d7683cdcc05cc3a794c0374553f6bd6a"),
    ("software.amazon.eventstream", "eventstream", "1.0.1",
     "6ff8649dffc5190366ada897ba8525a836297784"),
    ("org.reactivestreams", "reactive-streams", "1.0.4",
     "3864a1320d97d7b045f729a326e1e077661f31b7"),
    *[("software.amazon.awssdk", name, _SDK_V2_341, sha) for name, sha in (
        ("s3", "e2fada00c3ad86acd78c92dd9c36449379e8c67d"),
        ("s3-transfer-manager", "3d31de77de31d9d623844410d46c07df1f9cfa6e"),
        ("annotations", "c0e1fac7fa273e8c2f820a6324edae8c251f9f43"),
        ("apache-client", "cdd6a3193a2bc90737f77a9432873d26bcb5c4af"),
        ("arns", "19e376e8b6e390d8f753d39dd55d072793ef8e31"),
        ("auth", "ed214fae9d4b475afee6ebc6083745a4275a1752"),
        ("aws-core", "4f71c794ecd223f767bed5b04bffbe6ce115005f"),
        ("aws-query-protocol", "34c4ee0ccd2abcbcf33178a698c9496e9340c498"),
        ("aws-xml-protocol", "666f0921aade5dd0d727de06ad1d2ab84cc2cf4d"),
        ("checksums", "9c89200f5d991fabc41bd9f9b712f7702631e04e"),
        ("checksums-spi", "8dae09cf51314da61942d3fbf55352296eeb111e"),
        ("crt-core", "2d7c78919d105dcbfbb7a5ba37059b8fbe0e9ac9"),
        ("endpoints-spi", "d516a5533af722f6da3b0c6a4052b59105a77703"),
        ("http-auth", "8bba6c0e1c4c35d77e41fdf97dcc04c35732559d"),
        ("http-auth-aws", "c841dbbb1c29047195b29dfbdeb14848ac40e192"),
        ("http-auth-spi", "ae9c438555422b116e545646d0fa59462e368b0f"),
        ("http-client-spi", "a753050f2efe75a43adf652774fb4c392305723c"),
        ("identity-spi", "176bf6132bdda91952049630db79cded485ed549"),
        ("json-utils", "196d5cf5ac0c262e778039777599ec391c7f257d"),
        ("metrics-spi", "87755fe547b1b9cabd8aace32855ee8d45cff5ac"),
        ("netty-nio-client", "365b2b38043220207157da7216df942aa64518af"),
        ("profiles", "75f2a443a48dd1f23dfbb0bc2ee09a1a9cb7618f"),
        ("protocol-core", "935256d13cca38ca597fe7b15dbdfbe3d49968ba"),
        ("regions", "36fd503f7c001eccec5b3f01fbedbf1c2ac471b6"),
        ("sdk-core", "16bddae532ace198894d0db16a0d93db3b97e224"),
        ("third-party-jackson-core", "c1a07ad7ec6d46b4176cd5b9417cdaeae52bc3fa"),
        ("utils", "079dd7a31aa91cb61b516bb8393c5d704a9884cf"),
    )],
]

# spark-hadoop-cloud (PathOutputCommitProtocol, BindingParquetOutputCommitter) as Maven
# Central publishes it: not every Spark patch release has one, so a runtime takes its own
# version or else the newest of its minor line (the binding is unchanged within one)
COMMITTERS: dict[tuple[str, str], str] = {
    ("2.12", "3.4.0"): "d1b8b96ce9ad6dc3e9c3b93c0c8b5fd317c871d3",
    ("2.12", "3.5.1"): "aa1af73f3b620d7b4581091bbef1c9b43976b2ce",
    ("2.12", "3.5.4"): "bc88f695f5d270f40458374db8b222dfc76d483d",
    ("2.12", "3.5.5"): "6366c4ae0640c0a5e8b8e6cea3b9695ec79598c6",
    ("2.13", "4.0.0"): "5ea7796922ab8c6ea169644940a2beef86f3a25f",
    ("2.13", "4.0.1"): "df8ed6b07dad10ff1464ce07ef4b89d7393d6596",
    ("2.13", "4.0.2"): "5f95eec6bd7898abf003c282f05e1642bcc97cf6",
}


def committer_coordinate(spark: str, scala: str) -> tuple[str, str, str, str]:
    """The spark-hadoop-cloud jar for a Spark version and Scala binary version (2.12/2.13)."""
    if (scala, spark) in COMMITTERS:
        version = spark
    else:
        minor = spark.rsplit(".", 1)[0]
        line = sorted((v for s, v in COMMITTERS if s == scala and v.startswith(minor + ".")),
                      key=lambda v: int(v.rsplit(".", 1)[1]))
        if not line:
            raise JarError(f"no spark-hadoop-cloud_{scala} jar is pinned for Spark {spark}",
                           "use a runtime of Spark 3.4, 3.5 or 4.0")
        version = line[-1]
    return ("org.apache.spark", f"spark-hadoop-cloud_{scala}", version,
            COMMITTERS[(scala, version)])


class JarError(HarnessError):
    """The S3A jars cannot be resolved or fetched."""


def hadoop_version() -> str:
    """The Hadoop version of the jars inside the installed pyspark."""
    from harness.spark import spark_home

    for jar in (spark_home() / "jars").glob("hadoop-client-api-*.jar"):
        found = re.match(r"hadoop-client-api-(.+)\.jar", jar.name)
        if found:
            return found.group(1)
    raise JarError("pyspark ships no hadoop-client-api jar, so its Hadoop version is unknown",
                   "reinstall pyspark (pip install pyspark==4.3.0)")


@dataclass
class JarResolution:
    jars: list[Path]
    downloaded: int
    bytes_downloaded: int
    seconds: float

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.jars)


def _url(group: str, artifact: str, version: str) -> str:
    return f"{MAVEN_CENTRAL}/{group.replace('.', '/')}/{artifact}/{version}/" \
           f"{artifact}-{version}.jar"


def resolve_jars(cache: Path, threads: int = 8, hadoop: str | None = None,
                 committer: tuple[str, str] | None = None) -> JarResolution:
    """The S3A jars for a Hadoop version (default: the installed pyspark's) and, given as
    (spark, scala), that Spark's committer binding; fetched into `cache` if missing (SHA-1
    verified)."""
    version = hadoop or hadoop_version()
    if version not in JAR_SETS:
        raise JarError(f"no S3A jar set is pinned for Hadoop {version} (pyspark's)",
                       f"use pyspark 4.3.0 (Hadoop {', '.join(JAR_SETS)})")
    started = time.perf_counter()
    target = cache / f"hadoop-{version}"
    target.mkdir(parents=True, exist_ok=True)
    wanted = list(JAR_SETS[version])
    if committer is not None:
        wanted.append(committer_coordinate(*committer))
    missing = [c for c in wanted if not _valid(target / f"{c[1]}-{c[2]}.jar", c[3])]

    def fetch(coord: tuple[str, str, str, str]) -> int:
        group, artifact, ver, sha1 = coord
        dest = target / f"{artifact}-{ver}.jar"
        try:
            with urllib.request.urlopen(_url(group, artifact, ver), timeout=120) as resp:
                data = resp.read()
        except OSError as exc:
            raise JarError(f"cannot download {group}:{artifact}:{ver} from Maven Central "
                           f"({exc})", "check the network, or pre-fill HARNESS_JAR_CACHE") \
                from None
        if hashlib.sha1(data).hexdigest() != sha1:  # noqa: S324 - Maven's own checksum
            raise JarError(f"{artifact}-{ver}.jar does not match its pinned SHA-1",
                           "delete the jar cache and retry")
        # a name of this process's own: two installers may fetch the same jar at once
        part = dest.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        part.write_bytes(data)
        part.replace(dest)
        return len(data)

    with ThreadPoolExecutor(threads) as pool:
        sizes = list(pool.map(fetch, missing))
    return JarResolution([target / f"{c[1]}-{c[2]}.jar" for c in wanted], len(missing),
                         sum(sizes), time.perf_counter() - started)


def _valid(path: Path, sha1: str) -> bool:
    if not path.is_file():
        return False
    return hashlib.sha1(path.read_bytes()).hexdigest() == sha1  # noqa: S324
