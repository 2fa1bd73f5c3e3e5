"""Runtimes installed on demand and cached: a release label's Spark is the pyspark release of
that version from PyPI (a complete Spark distribution), installed with pip into a directory
of its own (pyspark and its py4j only), plus the S3A jar set of the Hadoop client inside it
and its Spark's committer binding (harness.jars, SHA-1 pinned). Two installers at once wait
for each other on a file lock; once installed, a runtime is reused offline."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import HarnessError
from harness.procs import OwnedProcess
from harness.runtimes.catalog import EMBEDDED, Runtime, check_runnable

if TYPE_CHECKING:
    from harness.aws.endpoint import Endpoint

Progress = Callable[[str, int | None, int | None], None]  # (stage, done, total) bytes
COMPLETE = ".complete"


class RuntimeInstallError(HarnessError):
    """A runtime cannot be installed (PyPI or Maven Central unreachable, a bad download)."""


@dataclass(frozen=True)
class InstalledRuntime:
    """A runtime ready to run: its Spark distribution, the directories holding its pyspark
    and py4j (for a node Python's path), and its S3A jars."""

    runtime: Runtime
    spark_home: Path  # bin/spark-submit, bin/spark-class, jars/
    python_path: tuple[Path, ...]  # directories holding only pyspark and py4j
    jars: tuple[Path, ...]  # the S3A set of its Hadoop client, with the committer binding
    hadoop: str  # the Hadoop client inside its Spark (what the S3A set matches)
    downloaded_bytes: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return self.runtime.label

    @property
    def spark_submit(self) -> Path:
        return self.spark_home / "bin" / "spark-submit"

    @property
    def sdk(self) -> str:
        """The AWS SDK major version of its S3A (v1 before Hadoop 3.4, v2 from it)."""
        return "v2" if tuple(int(p) for p in self.hadoop.split(".")[:2]) >= (3, 4) else "v1"

    def s3a_conf(self, endpoint: Endpoint, with_jars: bool = True) -> dict[str, str]:
        """Spark settings for s3:// and s3a:// with this runtime's S3A (its SDK's dialect);
        `with_jars=False` for nodes that carry the jars already (docker images)."""
        from harness.aws import s3a

        return s3a.spark_conf(endpoint, list(self.jars) if with_jars else None,
                              hadoop=self.hadoop)

    def describe(self) -> str:
        return self.runtime.describe()

    def to_dict(self) -> dict[str, object]:
        return {**self.runtime.to_dict(), "spark_home": str(self.spark_home),
                "hadoop_client": self.hadoop}


def default_cache() -> Path:
    from harness.config import Settings

    return Settings().runtime_cache


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (another installer waits here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def spark_dir(spark: str, cache: Path) -> Path:
    return cache / f"spark-{spark}"


def is_installed(runtime: Runtime, cache: Path | None = None) -> bool:
    """Whether the runtime's Spark is in the cache (the jars are checked at install)."""
    if runtime.label == EMBEDDED:
        return True
    return (spark_dir(runtime.spark, cache or default_cache()) / COMPLETE).is_file()


def install(runtime: Runtime, cache: Path | None = None, progress: Progress | None = None,
            jar_cache: Path | None = None) -> InstalledRuntime:
    """The runtime, installed into the cache first if it is not there (idempotent, locked
    against concurrent installers, no network once cached)."""
    from harness.config import Settings

    started = time.perf_counter()
    cache = cache or default_cache()
    jar_cache = jar_cache or Settings().jar_cache
    say = progress or (lambda stage, done, total: None)
    downloaded = 0
    if runtime.label == EMBEDDED:
        from harness.spark import spark_home

        home = spark_home()
        python_dir = _embedded_python(home, cache)
    else:
        check_runnable(runtime)
        target = spark_dir(runtime.spark, cache)
        with file_lock(cache / f"spark-{runtime.spark}.lock"):
            if not (target / COMPLETE).is_file():
                downloaded = _pip_install(runtime, target, say)
        python_dir = target / "python"
        home = python_dir / "pyspark"
    hadoop = _hadoop_client(home)
    from harness.jars import JarError, resolve_jars

    say(f"S3A jars for Hadoop {hadoop}", None, None)
    committer = None if runtime.label == EMBEDDED else (runtime.spark, runtime.scala_binary)
    try:
        with file_lock(jar_cache / f"hadoop-{hadoop}.lock"):
            resolved = resolve_jars(jar_cache, hadoop=hadoop, committer=committer)
    except JarError as exc:
        raise RuntimeInstallError(exc.problem, exc.remedy) from None
    notes = []
    if runtime.pyspark_hadoop and runtime.pyspark_hadoop != hadoop:
        notes.append(f"pyspark {runtime.spark} carries Hadoop {hadoop}, not the "
                     f"{runtime.pyspark_hadoop} the catalog expects")
    return InstalledRuntime(runtime, home, (python_dir,), tuple(resolved.jars), hadoop,
                            downloaded + resolved.bytes_downloaded,
                            time.perf_counter() - started, tuple(notes))


def _hadoop_client(spark_home: Path) -> str:
    for jar in (spark_home / "jars").glob("hadoop-client-api-*.jar"):
        found = re.match(r"hadoop-client-api-(.+)\.jar", jar.name)
        if found:
            return found.group(1)
    raise RuntimeInstallError(f"{spark_home} has no hadoop-client-api jar",
                              f"delete {spark_home.parent.parent} and install again")


def _embedded_python(spark_home: Path, cache: Path) -> Path:
    """A directory holding only links to the harness's own pyspark and py4j."""
    import py4j

    from harness.spark import spark_version

    target = cache / f"embedded-{spark_version()}" / "python"
    target.mkdir(parents=True, exist_ok=True)
    for name, src in (("pyspark", spark_home), ("py4j", Path(py4j.__file__).parent)):
        link = target / name
        if not link.is_symlink() or link.resolve() != src.resolve():
            tmp = target / f".{name}.{os.getpid()}"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(src)
            tmp.replace(link)
    return target


_PROGRESS = re.compile(r"Progress (\d+) of (\d+)")


def _pip(args: list[str], stage: str, say: Progress) -> tuple[int, str]:
    """Run pip, passing its download progress on; returns (bytes downloaded, output)."""
    cmd = [sys.executable, "-m", "pip", *args, "--no-input", "--disable-pip-version-check",
           "--progress-bar", "raw"]
    owned = OwnedProcess(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "PIP_NO_INPUT": "1"})
    proc = owned.proc
    lines, total = [], 0
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            found = _PROGRESS.search(line)
            if found:
                done, total = int(found.group(1)), int(found.group(2))
                say(stage, done, total)
                continue
            lines.append(line.rstrip())
            if line.strip().startswith(("Downloading", "Building", "Installing",
                                        "Collecting")):
                say(line.strip(), None, None)
        proc.wait()
    finally:  # Ctrl-C mid-download: pip goes too
        owned.stop()
    if proc.returncode != 0:
        tail = " | ".join(x for x in lines[-4:] if x)
        raise RuntimeInstallError(f"pip {' '.join(args[:1])} failed ({tail})",
                                  "check that PyPI is reachable, then install again "
                                  "(harness runtimes install LABEL)")
    return total, "\n".join(lines)


def _pip_install(runtime: Runtime, target: Path, say: Progress) -> int:
    """pyspark==spark and the py4j it pins, into target/python (replacing a partial one)."""
    staging = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        return _pip_install_into(runtime, target, staging, say)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone when complete (renamed), or failed


def _pip_install_into(runtime: Runtime, target: Path, staging: Path, say: Progress) -> int:
    python = staging / "python"
    python.mkdir(parents=True)
    stage = f"pyspark {runtime.spark} from PyPI"
    say(stage, None, None)
    got, _ = _pip(["install", "--no-deps", "--no-compile", "--target", str(python),
                   f"pyspark=={runtime.spark}"], stage, say)
    py4j = _py4j_requirement(python, runtime.spark)
    more, _ = _pip(["install", "--no-deps", "--no-compile", "--target", str(python), py4j],
                   f"{py4j} from PyPI", say)
    shutil.rmtree(python / "bin", ignore_errors=True)  # pyspark's scripts: SPARK_HOME has them
    home = python / "pyspark"
    if not (home / "bin" / "spark-submit").is_file():
        raise RuntimeInstallError(f"pyspark {runtime.spark} from PyPI has no bin/spark-submit",
                                  "report it; this pyspark cannot be a Spark distribution")
    for script in (home / "bin").iterdir():
        script.chmod(0o755)
    (staging / COMPLETE).write_text(json.dumps({
        "spark": runtime.spark, "py4j": py4j, "installed": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "bytes": sum(p.stat().st_size for p in python.rglob("*") if p.is_file())}))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return got + more


def _py4j_requirement(python: Path, spark: str) -> str:
    """The py4j requirement of the installed pyspark (its METADATA's Requires-Dist), e.g.
    py4j==0.10.9.7 or py4j<0.10.9.10,>=0.10.9.7, as pip would resolve it."""
    for meta in python.glob("pyspark-*.dist-info/METADATA"):
        found = re.search(r"^Requires-Dist: (py4j[^;\n]*)$", meta.read_text(), re.MULTILINE)
        if found:
            return found.group(1).replace(" ", "").replace("(", "").replace(")", "")
    raise RuntimeInstallError(f"pyspark {spark}'s metadata names no py4j version",
                              "report it; the runtime cannot be installed")


def size_bytes(installed: InstalledRuntime) -> int:
    """What the runtime takes on disk: its Spark and its jars."""
    root = installed.spark_home.parent
    spark = 0 if installed.label == EMBEDDED else \
        sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    return spark + sum(j.stat().st_size for j in installed.jars)
