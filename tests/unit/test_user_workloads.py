"""A user's workload plugs in without editing the harness, and one that breaks its own
contract gets a one-line error naming the workload and the remedy."""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
import sys

import pytest

from harness.bench.runner import BenchOptions, BenchRun
from harness.config import get_profile
from harness.errors import UsageError, WorkloadError
from harness.workloads import LegacyImpl, generate_fixture, get_workload
from tests.readme_example import write_example


@pytest.fixture
def example(tmp_path, monkeypatch):
    path = write_example(tmp_path)
    assert len(path.read_text().splitlines()) < 60
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("store_revenue", None)
    workload = get_workload("store_revenue:WORKLOAD")
    fixture, _ = generate_fixture(workload, 2_000, 1, 0.05, tmp_path / "fx")
    return workload, fixture, tmp_path


def bench(workload, fixture, work, variants=("per-row",)):
    options = BenchOptions(variants=list(variants), profile=get_profile("local"),
                           work_dir=work / "w")
    return BenchRun(workload, fixture, options, machine=lambda: {}).run()


def test_the_readme_example_loads_and_matches_its_reference(example):
    workload, fixture, work = example
    (result,) = bench(workload, fixture, work).results
    assert result.output_equal, result.mismatch
    nulls = fixture.read_table("sales")["amount"].null_count
    assert result.rows_quarantined == nulls and 50 < nulls < 150  # ~5% of 2,000


def test_loading_errors_name_the_problem(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for spec, needle in (("nosuchmodule:W", "cannot import the workload module"),
                         ("json:WORKLOAD", "module 'json' has no 'WORKLOAD'"),
                         ("json:loads", "not a Workload"),
                         ("nothing", "unknown workload 'nothing'")):
        with pytest.raises(UsageError, match=needle):
            get_workload(spec)


def test_missing_parts_and_scripts(example):
    workload, fixture, work = example
    with pytest.raises(WorkloadError, match="'store-revenue': its Spark job .* does not exist"):
        bench(dataclasses.replace(workload, spark_job=work / "gone.py"), fixture, work)
    with pytest.raises(WorkloadError, match="its vectorised is missing"):
        bench(dataclasses.replace(workload, vectorised=None), fixture, work)
    with pytest.raises(WorkloadError, match="has no legacy implementation"):
        bench(dataclasses.replace(workload, legacy={}), fixture, work)


def test_an_output_without_its_key_column(example):
    workload, fixture, work = example
    module = importlib.import_module("store_revenue")

    def keyless(ctx):
        out = module.per_row(ctx)
        return {"totals": [{"shop": t["store_id"], "revenue": t["revenue"],
                            "sales": t["sales"]} for t in out["totals"]],
                "quarantine": out["quarantine"]}

    broken = dataclasses.replace(workload, legacy={"per-row": LegacyImpl("per-row", keyless,
                                                                         "renamed key")})
    with pytest.raises(WorkloadError) as err:
        bench(broken, fixture, work)
    assert "the per-row output 'totals' has no key column(s) ['store_id']" in err.value.problem
    assert "OutputSpec" in err.value.remedy


def test_differing_outputs_name_the_first_keys_and_columns(example):
    workload, fixture, work = example
    module = importlib.import_module("store_revenue")

    def off_by_one(ctx):
        out = module.per_row(ctx)
        for total in out["totals"]:
            if total["store_id"] == 7:
                total["sales"] += 1
        return out

    broken = dataclasses.replace(workload, legacy={"per-row": LegacyImpl("per-row", off_by_one,
                                                                         "bug")})
    (result,) = bench(broken, fixture, work).results
    assert not result.output_equal and result.seconds is None
    assert "totals: column 'sales' differs in 1 row(s), first at key 7" in result.mismatch


def test_harness_workloads_lists_builtin_and_installed(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "workloads"],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("cascade ")
