"""Release-label runtimes: which Spark, Scala, Hadoop and Python an EMR release label runs
(catalog), and that Spark installed on demand from PyPI with its S3A jars (install), so a
job flow runs what its release ships.

    runtime_for("emr-7.12.0")        -> Runtime(spark="3.5.6", scala="2.12.18", python="3.9",
                                                 ansi=False, ...)
    install(runtime_for("emr-7.12.0")) -> InstalledRuntime(spark_home=..., jars=...)
"""

from harness.runtimes.catalog import (
    EMBEDDED,
    Runtime,
    UnknownReleaseLabel,
    catalog,
    check_runnable,
    embedded,
    nearest,
    runtime_for,
    source,
)
from harness.runtimes.store import (
    InstalledRuntime,
    RuntimeInstallError,
    default_cache,
    install,
    is_installed,
    size_bytes,
)

__all__ = ["EMBEDDED", "InstalledRuntime", "Runtime", "RuntimeInstallError",
           "UnknownReleaseLabel", "catalog", "check_runnable", "default_cache", "embedded",
           "install", "is_installed", "nearest", "runtime_for", "size_bytes", "source"]
