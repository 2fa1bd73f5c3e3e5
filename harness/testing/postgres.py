"""A throwaway PostgreSQL server on 127.0.0.1: Debian's binaries, a temporary data
directory, a free port; stopped (and its files removed) on every exit path."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.errors import DatabaseError
from harness.net import free_port

REMEDY = "install PostgreSQL's server (scripts/ensure-postgres does it on Debian as root)"


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise DatabaseError("PostgreSQL server binaries (initdb, pg_ctl) not found", REMEDY)


class PostgresServer:
    """`with PostgresServer() as pg: pg.url` -- a real server for the duration of the block."""

    def __init__(self, port: int | None = None, database: str = "legacy") -> None:
        self.bin = _bin_dir()
        self.port = port or free_port()
        self.database = database
        self.user = "harness"
        self._tmp: Path | None = None
        self._run_as: str | None = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _cmd(self, *args: str) -> list[str]:
        # initdb and postgres refuse to run as root: drop to the postgres user then.
        cmd = [str(self.bin / args[0]), *args[1:]]
        return ["runuser", "-u", self._run_as, "--", *cmd] if self._run_as else cmd

    def _run(self, *args: str) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise DatabaseError(
                f"PostgreSQL {args[0]} failed: {(proc.stderr or proc.stdout).strip()[-400:]}",
                REMEDY,
            )

    def start(self) -> PostgresServer:
        self._tmp = Path(tempfile.mkdtemp(prefix="harness-pg-"))
        data, sock = self._tmp / "data", self._tmp / "sock"
        sock.mkdir()
        if self._run_as:
            entry = pwd.getpwnam(self._run_as)
            os.chown(self._tmp, entry.pw_uid, entry.pw_gid)
            os.chown(sock, entry.pw_uid, entry.pw_gid)
        try:
            self._run("initdb", "-D", str(data), "-U", self.user, "--auth=trust",
                      "--no-sync", "-E", "UTF8")
            self._run("pg_ctl", "-D", str(data), "-l", str(self._tmp / "server.log"), "-w",
                      "-t", "60", "-o",
                      f"-p {self.port} -h 127.0.0.1 -k {sock} -c fsync=off "
                      "-c max_connections=50", "start")
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                      self.database)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._tmp is None:
            return
        data = self._tmp / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(self._cmd("pg_ctl", "-D", str(data), "-m", "immediate", "-w",
                                     "stop"), capture_output=True, check=False)
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

