"""The S3A jars on Spark's classpath: hadoop-aws must equal the Hadoop inside pyspark
(pyspark 4.3: Hadoop 3.5.0). Instead of the AWS SDK v2 `bundle` (~650 MB) the harness
fetches the individual SDK modules hadoop-aws needs (~18 MB), from Maven Central, once,
verified against pinned SHA-1s, into a cache shared by every run. Used by the S3A settings
(harness.aws.s3a) and by the docker backend's node image (harness.cluster.images)."""

from __future__ import annotations

import hashlib
import re
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


def resolve_jars(cache: Path, threads: int = 8) -> JarResolution:
    """The S3A jars for this pyspark, fetched into `cache` if missing (SHA-1 verified)."""
    version = hadoop_version()
    if version not in JAR_SETS:
        raise JarError(f"no S3A jar set is pinned for Hadoop {version} (pyspark's)",
                       f"use pyspark 4.3.0 (Hadoop {', '.join(JAR_SETS)})")
    started = time.perf_counter()
    target = cache / f"hadoop-{version}"
    target.mkdir(parents=True, exist_ok=True)
    wanted = JAR_SETS[version]
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
        part = dest.with_suffix(".part")
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
