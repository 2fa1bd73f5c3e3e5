"""What `harness runtimes list` and `harness runtimes install` show: the catalog as a table,
and an install with a progress bar (rich)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.runtimes.catalog import (
    Runtime,
    catalog,
    check_runnable,
    embedded,
    runtime_for,
    source,
)
from harness.runtimes.store import InstalledRuntime, install, is_installed, size_bytes


def table(cache: Path | None = None) -> Table:
    """Every label with its Spark, Scala, Python and ANSI default, and whether it is here."""
    sources, retrieved = source()
    out = Table(title="EMR release labels the harness can rehearse",
                caption=f"from EMR's release guide, read {retrieved} (harness/runtimes/"
                        "catalog.json); * = row not re-read that day")
    for name in ("label", "Spark", "Scala", "Python", "ANSI", "installed"):
        out.add_column(name)
    rows: list[Runtime] = [embedded(), *catalog().values()]
    for runtime in rows:
        runnable = runtime.label == "embedded" or runtime.pyspark_hadoop is not None
        state = ("yes" if is_installed(runtime, cache) else "no") if runnable \
            else "not runnable here"
        out.add_row(runtime.label + ("" if runtime.read else " *"), runtime.spark,
                    runtime.scala_binary, runtime.python, "on" if runtime.ansi else "off",
                    state)
    return out


def install_with_progress(what: str, console: Console, cache: Path | None = None
                          ) -> InstalledRuntime:
    """Install a label's (or a Spark version's) runtime, drawing pip's download progress."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    runtime = runtime_for(what)
    if runtime.label != "embedded":
        check_runnable(runtime)  # before any progress bar
    console.print(f"{runtime.label}: {runtime.describe()}")
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeElapsedColumn(), console=console,
                  transient=False) as bar:
        task = bar.add_task("checking the cache", total=None)
        last = [0.0]

        def progress(stage: str, done: int | None, total: int | None) -> None:
            if done is None:
                bar.update(task, description=stage)
                return
            now = time.monotonic()
            if now - last[0] > 0.1 or done == total:
                last[0] = now
                bar.update(task, description=stage, completed=done, total=total)

        installed = install(runtime, cache=cache, progress=progress)
        bar.update(task, description="done")
    return installed


def summary(installed: InstalledRuntime) -> list[str]:
    """Where the runtime is, what it took on disk and what this run downloaded."""
    mb = size_bytes(installed) / 1e6
    got = installed.downloaded_bytes / 1e6
    return [f"{installed.label}: {installed.describe()} (S3A: Hadoop {installed.hadoop}, "
            f"AWS SDK {installed.sdk}, {len(installed.jars)} jars)",
            f"SPARK_HOME {installed.spark_home}",
            f"{mb:,.0f} MB on disk; downloaded {got:,.1f} MB in {installed.seconds:.1f} s",
            *installed.notes]
