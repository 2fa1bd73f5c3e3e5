"""Fixtures on disk: a workload's generated tables as Parquet and CSV plus a manifest.

Layout of a fixture directory::

    manifest.json            workload, rows, seed, bad share, schema, row counts, sha256 per file
    parquet/<table>.parquet  what Spark, pandas and the legacy jobs read
    csv/<table>.csv          the same rows as CSV, for tools that want text

Generation is deterministic: the same workload, rows, seed and bad share give
byte-identical files. A fixture whose manifest matches the request is reused.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from harness.errors import FixtureError
from harness.hashing import sha256_file
from harness.workloads.base import Tables, Workload

MANIFEST = "manifest.json"
FORMAT_VERSION = 2
# Row groups of 50k rows let Spark split a 400k-row file across executors.
ROW_GROUP_ROWS = 50_000


def fixture_dir(root: Path, workload: Workload, rows: int, seed: int, bad_share: float) -> Path:
    """Where the cache keeps the fixture for these parameters."""
    return root / workload.name / f"rows-{rows}-seed-{seed}-bad-{bad_share:g}"


@dataclass
class Fixture:
    """A fixture on disk, checked against its manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def rows(self) -> int:
        return int(self.manifest["rows"])

    @property
    def seed(self) -> int:
        return int(self.manifest["seed"])

    @property
    def workload(self) -> str:
        return str(self.manifest["workload"])

    @property
    def table_names(self) -> list[str]:
        return list(self.manifest["tables"])

    def parquet_path(self, table: str) -> Path:
        return self.path / "parquet" / f"{table}.parquet"

    def uri(self) -> str:
        """The fixture root as a URI for Spark jobs (`file:///...`)."""
        return self.path.resolve().as_uri()

    def read_table(self, table: str) -> pa.Table:
        path = self.parquet_path(table)
        try:
            return pq.read_table(path)
        except FileNotFoundError:
            raise FixtureError(
                f"fixture file {path} is missing",
                f"regenerate it: harness fixtures generate --rows {self.rows} --force",
            ) from None
        except (pa.ArrowInvalid, OSError) as exc:
            raise FixtureError(
                f"fixture file {path} is corrupt ({_first_line(exc)})",
                f"regenerate it: harness fixtures generate --rows {self.rows} --force",
            ) from None

    def read_tables(self) -> Tables:
        return {name: self.read_table(name) for name in self.table_names}

    def verify(self) -> None:
        """Check every file against the manifest's size and sha256; raise FixtureError if not."""
        remedy = f"regenerate it: harness fixtures generate --rows {self.rows} --force"
        for name, table in self.manifest["tables"].items():
            for fmt, entry in table["files"].items():
                path = self.path / entry["path"]
                if not path.is_file():
                    raise FixtureError(f"fixture file {path} is missing ({name}, {fmt})", remedy)
                if path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
                    raise FixtureError(
                        f"fixture file {path} does not match its manifest (corrupt or edited)",
                        remedy,
                    )


def load_fixture(path: Path, verify: bool = True) -> Fixture:
    """Open the fixture at `path`, checking its manifest and (by default) every file's hash."""
    manifest_path = path / MANIFEST
    if not path.is_dir():
        raise FixtureError(
            f"fixture directory {path} does not exist",
            "create one with: harness fixtures generate --out DIR (or pass --rows N)",
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        manifest["tables"], manifest["rows"], manifest["seed"]  # noqa: B018 (shape check)
    except FileNotFoundError:
        raise FixtureError(
            f"{manifest_path} is missing, so {path} is not a fixture",
            "generate one with: harness fixtures generate --out DIR",
        ) from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise FixtureError(
            f"{manifest_path} is not a valid fixture manifest ({exc})",
            "regenerate the fixture: harness fixtures generate --force",
        ) from None
    fixture = Fixture(path, manifest)
    if verify:
        fixture.verify()
    return fixture


def generate_fixture(
    workload: Workload,
    rows: int,
    seed: int,
    bad_share: float,
    out: Path,
    force: bool = False,
) -> tuple[Fixture, bool]:
    """Generate (or reuse) the fixture; returns it and whether it was reused from the cache."""
    if not force and (out / MANIFEST).is_file():
        try:
            cached = load_fixture(out, verify=True)
        except FixtureError:
            cached = None
        if cached is not None and _matches(cached.manifest, workload, rows, seed, bad_share):
            return cached, True
    _check_replaceable(out)
    tables = workload.generate(rows, seed, bad_share)
    if workload.fact_table not in tables:
        raise FixtureError(
            f"workload {workload.name!r} generated no {workload.fact_table!r} table",
            "make its generator return the fact table it declares",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    # a directory of our own beside `out`: no existing path is ever removed to make room
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would become the fixture's
    try:
        manifest = _write_fixture(tmp, workload, tables, rows, seed, bad_share)
        _check_replaceable(out)  # again: the directory may have changed while generating
        if out.exists():
            shutil.rmtree(out)  # a fixture (it has a manifest) or an empty directory
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Fixture(out, manifest), False


def _write_fixture(tmp: Path, workload: Workload, tables: Tables, rows: int, seed: int,
                   bad_share: float) -> dict[str, Any]:
    """The tables as Parquet and CSV plus the manifest, in `tmp`; returns the manifest."""
    (tmp / "parquet").mkdir()
    (tmp / "csv").mkdir()
    entries: dict[str, Any] = {}
    for name, table in tables.items():
        pq_rel, csv_rel = f"parquet/{name}.parquet", f"csv/{name}.csv"
        # A fixed row-group size and codec keep the bytes identical across runs.
        pq.write_table(table, tmp / pq_rel, compression="zstd", row_group_size=ROW_GROUP_ROWS)
        pacsv.write_csv(table, tmp / csv_rel)
        entries[name] = {
            "rows": table.num_rows,
            "schema": [{"name": f.name, "type": str(f.type)} for f in table.schema],
            "files": {
                fmt: {
                    "path": rel,
                    "bytes": (tmp / rel).stat().st_size,
                    "sha256": sha256_file(tmp / rel),
                }
                for fmt, rel in (("parquet", pq_rel), ("csv", csv_rel))
            },
        }
    manifest = {
        "format_version": FORMAT_VERSION,
        "workload": workload.name,
        "generator_version": workload.generator_version,
        "rows": rows,
        "seed": seed,
        "bad_share": bad_share,
        "fact_table": workload.fact_table,
        "tables": entries,
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _check_replaceable(out: Path) -> None:
    """FixtureError unless `out` is missing, an empty directory, or a fixture (it holds a
    manifest.json): generating never deletes anything else."""
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir() or out.is_symlink():
        raise FixtureError(f"{out} exists and is not a fixture directory",
                           "choose another --out (a new or empty directory)")
    if (out / MANIFEST).is_file() or not any(out.iterdir()):
        return
    raise FixtureError(f"{out} is not empty and is not a fixture (no {MANIFEST}): nothing "
                       "was written and nothing deleted",
                       "choose another --out (a new or empty directory)")


def _matches(
    manifest: dict[str, Any], workload: Workload, rows: int, seed: int, bad: float
) -> bool:
    return (
        manifest.get("format_version") == FORMAT_VERSION
        and manifest.get("workload") == workload.name
        and manifest.get("generator_version") == workload.generator_version
        and manifest.get("rows") == rows
        and manifest.get("seed") == seed
        and manifest.get("bad_share") == bad
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def resolve_fixture(
    workload: Workload,
    *,
    fixture: Path | None = None,
    rows: int | None = None,
    seed: int | None = None,
    bad_share: float | None = None,
    root: Path | None = None,
    out: Path | None = None,
    force: bool = False,
    status: Callable[[str], AbstractContextManager[Any]] | None = None,
) -> tuple[Fixture, bool]:
    """The fixture a command or test uses, and whether it came from the cache: the directory
    `fixture` (checked against its manifest), else the one for rows/seed/bad share (the
    workload's defaults where not given) at `out` or in the cache under `root` (default:
    the settings' fixtures_dir), generated when missing. `status(message)` wraps the work."""
    if fixture is not None:
        return load_fixture(fixture), True
    rows = rows or workload.default_rows
    seed = workload.default_seed if seed is None else seed
    bad_share = workload.default_bad_share if bad_share is None else bad_share
    if out is None:
        if root is None:
            from harness.config import Settings

            root = Settings().fixtures_dir
        out = fixture_dir(root, workload, rows, seed, bad_share)
    with (status or (lambda _message: nullcontext()))(f"preparing fixture {out} ..."):
        return generate_fixture(workload, rows, seed, bad_share, out, force=force)
