"""Shared fixtures: a small cascade fixture on disk, and (integration) a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.workloads import Fixture, Workload, generate_fixture, get_workload

SMALL_ROWS = 1_000


@pytest.fixture(scope="session")
def cascade() -> Workload:
    return get_workload("cascade")


@pytest.fixture(scope="session")
def small_fixture(tmp_path_factory: pytest.TempPathFactory, cascade: Workload) -> Fixture:
    """1,000 orders with 5% bad rows (50: 10 of each defect kind)."""
    path = tmp_path_factory.mktemp("fixtures") / "cascade-small"
    fixture, _ = generate_fixture(cascade, SMALL_ROWS, seed=7, bad_share=0.05, out=path)
    return fixture


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL server on 127.0.0.1 for the whole session (integration tests)."""
    from harness.testing import PostgresServer

    server = PostgresServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path / "work"


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory):
    """The embedded endpoint (moto + the EMR control plane) on a free 127.0.0.1 port for the
    session (integration)."""
    from harness.aws import EmbeddedEndpoint

    work = tmp_path_factory.mktemp("endpoint")
    with EmbeddedEndpoint(port=0, work_dir=work, log=work / "endpoint.log") as ep:
        yield ep
