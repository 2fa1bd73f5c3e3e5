"""What machine a benchmark ran on: every report carries it, because absolute times mean
little without it."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=False, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def machine_info(java_home: Path | None = None) -> dict:
    """Cores, memory and the versions of Python, Java and Spark in use."""
    from harness.errors import SparkError
    from harness.spark import java_version, spark_version

    try:
        java = java_version(java_home)
    except SparkError:
        java = None
    mem = memory_bytes()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1) if mem else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "java": java,
        "spark": spark_version(),
        "commit": git_commit(),
    }
