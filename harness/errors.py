"""Typed errors that carry a remedy; the CLI edge turns them into one line and an exit code."""

from __future__ import annotations


class HarnessError(Exception):
    """An error the user can act on: `str(err)` names the problem, `remedy` says what to do."""

    exit_code = 2

    def __init__(self, problem: str, remedy: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.remedy = remedy

    def one_line(self) -> str:
        """The problem and its remedy on one line, as the CLI prints it."""
        return f"{self.problem} -- {self.remedy}" if self.remedy else self.problem


class UsageError(HarnessError):
    """A bad option value (unknown variant, impossible size, conflicting flags)."""


class FixtureError(HarnessError):
    """A fixture is missing, incomplete or corrupt."""


class WorkloadError(HarnessError):
    """A workload is incomplete or does not keep its own contract."""


class DatabaseError(HarnessError):
    """The legacy database cannot be reached or used."""


class SparkError(HarnessError):
    """Spark (or the Java it needs) cannot run, or the Spark job failed."""


class OutputMismatch(HarnessError):
    """Variants disagree: a speed figure is withheld for every variant that did not match."""

    exit_code = 1


class EndpointError(HarnessError):
    """The AWS endpoint cannot be started, reached or used."""
