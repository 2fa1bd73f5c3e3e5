"""Fixtures for the benchmark suite: fixtures are generated once into the shared cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import Settings
from harness.workloads import Fixture, generate_fixture, get_workload
from harness.workloads.fixtures import fixture_dir


def cascade_fixture(rows: int) -> Fixture:
    workload = get_workload("cascade")
    path = fixture_dir(Settings().fixtures_dir, workload, rows, 42, 0.02)
    fixture, _ = generate_fixture(workload, rows, 42, 0.02, path)
    return fixture


@pytest.fixture(scope="session")
def bench_work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")
