"""Real servers for tests, owned by context managers that stop them on every exit path."""

from harness.testing.postgres import PostgresServer

__all__ = ["PostgresServer"]
