"""A user's workload plugs in without editing the harness, and one that breaks its own
contract gets a one-line error naming the workload and the remedy."""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from harness.bench.runner import BenchOptions, BenchRun
from harness.config import get_profile
from harness.errors import UsageError, WorkloadError
from harness.workloads import (
    LegacyImpl,
    OutputSpec,
    ReferenceImpl,
    Workload,
    duckdb_reference,
    generate_fixture,
    get_workload,
)
from tests.readme_example import write_example


@pytest.fixture
def example(tmp_path, monkeypatch):
    path = write_example(tmp_path)
    assert len(path.read_text().splitlines()) < 70  # a complete workload, its judge included
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
    report = bench(workload, fixture, work, variants=("per-row", "vectorised"))
    assert report.reference == "duckdb-sql" and report.reference_independent
    for result in report.results:
        assert result.output_equal and result.verdict == "equal", result.mismatch
    nulls = fixture.read_table("sales")["amount"].null_count
    assert report.results[0].rows_quarantined == nulls and 50 < nulls < 150  # ~5% of 2,000


def _table(report) -> tuple[dict[str, str], str]:
    """The terminal table as {variant: its output cell} and the caption as one line."""
    from rich.console import Console

    from harness.bench.table import render_table

    console = Console(record=True, width=300)
    console.print(render_table(report))
    lines = console.export_text().splitlines()
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if "│" in line]
    caption = " ".join(" ".join(lines[-4:]).split())
    return {row[0]: row[-1] for row in cells}, caption


def test_without_a_reference_the_vectorised_variant_judges_and_says_so(example):
    workload, fixture, work = example
    bare = dataclasses.replace(workload, reference=None)
    report = bench(bare, fixture, work, variants=("per-row", "vectorised"))
    per_row, vectorised = report.results
    assert report.reference == "vectorised" and not report.reference_independent
    assert per_row.verdict == "equal" and per_row.output_equal
    # nothing checked the judge: not "equal", though readers of output_equal see no failure
    assert vectorised.verdict == "reference" and vectorised.output_equal
    saved = report.to_json()
    assert saved["reference"] == "vectorised" and saved["reference_independent"] is False
    assert [r["verdict"] for r in saved["results"]] == ["equal", "reference"]
    output, caption = _table(report)
    assert output == {"per-row": "equal", "vectorised": "reference"}
    assert "reference: vectorised, one of the variants" in caption


def test_with_a_reference_the_report_names_the_independent_judge(example):
    workload, fixture, work = example
    report = bench(workload, fixture, work, variants=("vectorised",))
    output, caption = _table(report)
    assert output == {"vectorised": "equal"}
    assert "outputs judged by duckdb-sql (independent: revenue per store in SQL)" in caption


def test_a_reference_whose_sql_fails_names_the_output_and_the_error(example):
    workload, fixture, work = example
    broken = dataclasses.replace(workload, reference=duckdb_reference(
        "duckdb-sql", {"totals": "SELECT store_id FROM nowhere", "quarantine": "SELECT 1"},
        "a typo"))
    with pytest.raises(WorkloadError) as err:
        bench(broken, fixture, work)
    assert "reference duckdb-sql: the SQL for output 'totals' failed" in err.value.problem
    assert "nowhere" in err.value.problem and "\n" not in err.value.problem


def test_a_reference_must_be_a_reference_impl_with_a_name_of_its_own(example):
    workload, fixture, work = example
    with pytest.raises(WorkloadError, match="its reference is not a ReferenceImpl"):
        bench(dataclasses.replace(workload, reference=workload.vectorised), fixture, work)
    named_like_a_variant = ReferenceImpl("vectorised", workload.vectorised, "the same code")
    with pytest.raises(WorkloadError, match="its reference is named 'vectorised', like a"):
        bench(dataclasses.replace(workload, reference=named_like_a_variant), fixture, work)


def test_a_wrong_reference_fails_the_vectorised_variant_too(example):
    """The judge is independent: when it and the vectorised job disagree, the vectorised
    variant is reported different (not trusted because it is fast)."""
    workload, fixture, work = example
    module = importlib.import_module("store_revenue")

    def short_changed(tables):
        out = module.vectorised(tables)
        out["totals"].loc[0, "revenue"] -= 1.0
        return out

    wrong_judge = dataclasses.replace(
        workload, reference=ReferenceImpl("other", short_changed, "a bug in the judge"))
    (result,) = bench(wrong_judge, fixture, work, variants=("vectorised",)).results
    assert not result.output_equal and "column 'revenue' differs in 1 row(s)" in result.mismatch


def _row_by_row(workload, **kw):
    """The example with legacy variants not called per-row: in-memory and row-by-row."""
    module = importlib.import_module("store_revenue")
    return dataclasses.replace(workload, legacy={
        "in-memory": LegacyImpl("in-memory", module.per_row, "the loop, in memory"),
        "row-by-row": LegacyImpl("row-by-row", module.per_row, "dict of running totals")},
        **kw)


def test_the_baseline_is_the_legacy_variant_the_workload_names(example):
    """A legacy variant called row-by-row keeps the speed-up column everywhere: the bench
    JSON records it as the baseline and which variants are legacy, the terminal table heads
    the column with it, and harness report and harness plan read it from the file."""
    from rich.console import Console

    from harness.bench import plan, report_analysis, report_html, results
    from harness.bench.table import render_table, write_json

    workload, fixture, work = example
    report = bench(_row_by_row(workload, baseline="row-by-row"), fixture, work,
                   variants=("in-memory", "row-by-row", "vectorised"))
    saved = report.to_json()
    assert saved["baseline"] == "row-by-row"
    by = {r["variant"]: r for r in saved["results"]}
    assert [by[v]["legacy"] for v in ("in-memory", "row-by-row", "vectorised")] == \
        [True, True, False]
    base_rate = by["row-by-row"]["rows_per_s"]
    assert by["row-by-row"]["speedup_vs_baseline"] == 1.0
    assert by["vectorised"]["speedup_vs_baseline"] == \
        pytest.approx(by["vectorised"]["rows_per_s"] / base_rate)

    console = Console(record=True, width=300)
    console.print(render_table(report))
    lines = console.export_text().splitlines()
    head = next([c.strip() for c in line.split("┃")[1:-1]] for line in lines if "┃" in line)
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if "│" in line]
    column = head.index("vs row-by-row")
    speedups = {row[0]: row[column] for row in cells}
    assert speedups["row-by-row"] == "1.0x"
    assert speedups["vectorised"] == f"{by['vectorised']['speedup_vs_baseline']:,.1f}x"

    path = work / "bench.json"
    write_json(report, path)
    built = report_analysis.build(results.load([path]))
    (w,) = built.workloads
    assert w.baseline == "row-by-row"
    assert w.series == ["row-by-row", "in-memory", "vectorised"]  # the baseline first
    rows = {r.series: r for r in w.rows if r.rows == fixture.rows}
    assert rows["row-by-row"].speedup == 1.0
    assert rows["vectorised"].speedup == pytest.approx(by["vectorised"]["speedup_vs_baseline"])
    assert rows["in-memory"].speedup is not None
    page = report_html.render_html(built, [])
    assert "speed-up vs row-by-row</th>" in page
    assert "Speed-up is against row-by-row at the same size" in page
    rate = plan.legacy_rate(path)
    assert rate == plan.LegacyRate("row-by-row", base_rate)
    projected = plan.legacy_projection(100_000, rate, "us-east-1")
    assert projected["variant"] == "row-by-row"
    assert projected["seconds"] == pytest.approx(100_000 / base_rate)


def test_the_baseline_defaults_to_the_first_legacy_variant_and_must_be_one(example):
    workload, fixture, work = example
    assert _row_by_row(workload).validate().baseline_variant == "in-memory"
    assert _row_by_row(workload, baseline="row-by-row").baseline_variant == "row-by-row"
    report = bench(_row_by_row(workload), fixture, work, variants=("row-by-row",))
    assert report.baseline == "in-memory"  # named, though it did not run
    assert report.results[0].speedup_vs_baseline is None
    with pytest.raises(WorkloadError, match="its baseline 'per-row' is not one of its legacy "
                                            "variants \\(in-memory, row-by-row\\)"):
        bench(_row_by_row(workload, baseline="per-row"), fixture, work)
    module = importlib.import_module("store_revenue")
    own_name = dataclasses.replace(workload, legacy={
        "spark": LegacyImpl("spark", module.per_row, "not Spark at all")})
    with pytest.raises(WorkloadError, match="its legacy variant 'spark' has the name of one "
                                            "of the harness's own variants"):
        bench(own_name, fixture, work, variants=("vectorised",))


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
    with pytest.raises(WorkloadError, match="its timestamp_tolerance 1.5 is not a timedelta"):
        bench(dataclasses.replace(workload, timestamp_tolerance=1.5), fixture, work)
    with pytest.raises(WorkloadError, match="its sample_tables is not callable"):
        bench(dataclasses.replace(workload, sample_tables="first"), fixture, work)


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


def _events_workload(tmp_path, tolerance):
    """Events whose legacy store keeps whole seconds: equal only within a stated tolerance."""
    start = datetime.datetime(2026, 1, 1, 9, 0, 0)

    def generate(rows, seed, bad_share):
        return {"events": pa.table({
            "event_id": pa.array(range(1, rows + 1), pa.int64()),
            "at": pa.array([start + datetime.timedelta(milliseconds=1_250 * i)
                            for i in range(rows)], pa.timestamp("us"))})}

    def whole_seconds(ctx):
        return {"events": [{"event_id": e["event_id"], "at": e["at"].replace(microsecond=0)}
                           for e in ctx.rows.to_pylist()]}

    return Workload(
        name="events", description="timestamps", fact_table="events", generate=generate,
        generator_version="1", outputs=(OutputSpec("events", ("event_id",)),),
        legacy={"per-row": LegacyImpl("per-row", whole_seconds, "whole seconds")},
        vectorised=lambda tables: {"events": tables["events"].to_pandas()},
        reference=duckdb_reference("duckdb-sql", {"events": 'SELECT event_id, "at" FROM events'},
                                   "the events as they are"),
        spark_job=Path(__file__), timestamp_tolerance=tolerance)


@pytest.mark.parametrize(("tolerance", "equal"), [(datetime.timedelta(0), False),
                                                  (datetime.timedelta(milliseconds=500), False),
                                                  (datetime.timedelta(seconds=1), True)])
def test_a_workload_states_how_far_apart_its_timestamps_may_be(tmp_path, tolerance, equal):
    workload = _events_workload(tmp_path, tolerance)
    fixture, _ = generate_fixture(workload, 40, 0, 0.0, tmp_path / "fx")
    (result,) = bench(workload, fixture, tmp_path).results
    assert result.output_equal is equal, result.mismatch
    if not equal:
        assert "events: column 'at' differs in" in result.mismatch
