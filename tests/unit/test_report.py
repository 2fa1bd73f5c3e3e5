"""`harness report`: from pytest-benchmark JSON (as the suite in benchmarks/ writes it) to
tables, fits, crossovers, an HTML page and readable PNGs; bad input is one line naming the
problem and the remedy. Synthetic results with known costs; nothing is started."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.bench import report_analysis, report_html, results
from harness.cli import app, main

MACHINE = {"cores": 2, "memory_gib": 23.4, "python": "3.11.2", "java": "17.0.12",
           "spark": "4.0.1"}
# seconds = fixed + per_row x rows, per variant (Spark: start-up apart, then the job)
COSTS = {"vectorised": (0.05, 2e-6), "batched": (0.2, 50e-6)}
SPARK = {"spark-local": (6.0, 1.5, 1.5e-6), "spark-cluster": (12.0, 2.0, 0.8e-6)}
SIZES = (10_000, 100_000, 400_000)


def bench(variant, rows, measure, seconds, workload="cascade", **extra):
    name = f"test_{variant}_{measure}[{rows}]"
    return {"name": name, "fullname": f"benchmarks/test_{workload}.py::{name}",
            "group": workload, "stats": {"median": seconds, "min": seconds, "mean": seconds,
                                         "rounds": 3},
            "extra_info": {"workload": workload, "variant": variant, "rows": rows,
                           "measure": measure, "seconds": seconds, "projected": False,
                           "output_equal": True, "machine": MACHINE, **extra}}


def suite(sizes=SIZES, workload="cascade", spark_total=True):
    """Spark as the suite records it: one benchmark per platform and size with its start-up
    (local[*]) and job in extra_info, the cluster's cold start one benchmark for all sizes;
    with spark_total=False, as older runs did: start-up and job as benchmarks of their own."""
    out = []
    if spark_total:
        out.append(bench("spark-cluster", 0, "startup", SPARK["spark-cluster"][0], workload,
                         startup_shared=True))
    for n in sizes:
        out.append(bench("reference", n, "total", 0.01, workload))
        for variant, (fixed, per_row) in COSTS.items():
            out.append(bench(variant, n, "total", fixed + per_row * n, workload))
        per_row = bench("per-row", n, "total", 200e-6 * n, workload)
        if n > sizes[0]:  # large legacy runs are projected from a measured sample
            per_row["extra_info"].update(projected=True, sample_rows=sizes[0])
        out.append(per_row)
        for variant, (start, fixed, per_row) in SPARK.items():
            job = fixed + per_row * n
            if not spark_total:
                out.append(bench(variant, n, "startup", start, workload))
                out.append(bench(variant, n, "job", job, workload))
            elif variant == "spark-local":
                out.append(bench(variant, n, "total", start + job, workload, startup_s=start,
                                 job_s=job))
            else:
                out.append(bench(variant, n, "total", start + job, workload, job_s=job))
    return out


def write(path, benchmarks):
    path.write_text(json.dumps({
        "machine_info": {"python_version": "3.11.2", "system": "Linux", "release": "6.1",
                         "cpu": {"brand_raw": "Test CPU @ 2.2GHz", "count": 2}},
        "commit_info": {"id": "6d9c755deadbeef", "branch": "main", "dirty": False},
        "datetime": "2025-06-01T12:00:00+00:00", "version": "5.3.1",
        "benchmarks": benchmarks}))
    return path


def build(*paths, project=None):
    return report_analysis.build(results.load(list(paths)), project)


def build_from(benchmarks):
    with tempfile.TemporaryDirectory() as tmp:
        return build(write(Path(tmp) / "b.json", benchmarks))


def test_report_command_writes_html_pngs_and_json(tmp_path):
    src = write(tmp_path / "bench.json", suite())
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", "--json", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "spark-cluster overtakes vectorised" in result.output
    for name in ("time_vs_rows.png", "throughput.png", "speedup.png", "crossover.png",
                 "startup_vs_job.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert len(data) > 20_000, name  # axes, lines, labels and a legend, not a blank
    page = (out / "index.html").read_text()
    for name in ("time_vs_rows.png", "crossover.png", "startup_vs_job.png"):
        assert f'src="{name}"' in page  # relative, beside the page
    assert "<table" in page and "reference" not in page.split("<h2>cascade")[1]
    # table values: vectorised at 400k is 0.05 + 0.8 s, 470,588 rows/s, 94.1x per-row's 80 s
    assert "0.850" in page and "470,588" in page and "94.1×" in page
    assert "projected from a 10,000-row sample" in page and "projected (fit)" in page
    assert "at 40,000,000 rows" in page and '<span class="proj">projected</span>' in page
    assert "spark-cluster overtakes vectorised at about 11,625,000 rows" in page
    for fact in ("Test CPU @ 2.2GHz", "17.0.12", "4.0.1", "3.11.2", "6d9c755deadb",
                 "2025-06-01", "2 cores"):
        assert fact in page, fact
    data = json.loads((out / "report.json").read_text())
    fits = {(f["variant"], f["measure"]): f for f in data["workloads"]["cascade"]["fits"]}
    assert fits[("vectorised", "total")]["fixed_s"] == pytest.approx(0.05)
    assert fits[("vectorised", "total")]["per_row_us"] == pytest.approx(2.0)


def test_fits_recover_costs_and_mark_projections():
    (w,) = build_from(suite()).workloads
    vec = w.fit_for("vectorised")
    assert (vec.fit.fixed_s, vec.fit.per_row_s) == (pytest.approx(0.05), pytest.approx(2e-6))
    job = w.fit_for("spark-cluster", "job")
    assert job.fit.fixed_s == pytest.approx(2.0) and job.fit.per_row_s == pytest.approx(0.8e-6)
    assert job.startup_s == pytest.approx(12.0)  # start-up reported apart from the job fit
    total = w.fit_for("spark-cluster")
    assert total.fit.fixed_s == pytest.approx(14.0)
    at = {p.rows: p for p in total.projections}
    assert not at[400_000].projected and at[400_000].seconds == pytest.approx(14.32)
    assert at[40_000_000].projected and at[40_000_000].seconds == pytest.approx(46.0)
    # per-row: fitted on its one measured size (flagged); the suite's projections kept
    per_row = w.fit_for("per-row")
    assert per_row.fit.single_size and per_row.fit.fixed_s == 0.0
    rows = {(r.series, r.rows): r for r in w.rows}
    assert rows[("per-row", 400_000)].basis == "projected from a 10,000-row sample"
    assert rows[("vectorised", 40_000_000)].projected
    assert rows[("vectorised", 40_000_000)].basis == "projected (fit)"
    assert rows[("vectorised", 400_000)].speedup == pytest.approx(80.0 / 0.85)
    assert rows[("vectorised", 400_000)].speedup_projected  # per-row's 400k is projected
    assert not rows[("vectorised", 10_000)].speedup_projected
    headline = w.crossovers[0]
    assert (headline.challenger, headline.incumbent) == ("spark-cluster", "vectorised")
    assert headline.rows == pytest.approx((14.0 - 0.05) / 1.2e-6)


def test_a_shared_start_up_is_one_benchmark_for_every_size():
    """The cluster's cold start, measured once, stands beside every size's job; local[*]'s
    driver start is each run's own."""
    (w,) = build_from(suite()).workloads
    starts = {(s["variant"], s["rows"]): s for s in w.startup_job}
    assert starts[("spark-cluster", 400_000)]["startup_s"] == pytest.approx(12.0)
    assert starts[("spark-cluster", 400_000)]["startup_shared"]
    assert not starts[("spark-local", 10_000)]["startup_shared"]
    assert all(r.rows for r in w.rows)  # the start-up's rows 0 is no row of the table


def test_spark_time_is_startup_plus_job_when_no_total_was_recorded():
    (w,) = build_from(suite(spark_total=False)).workloads
    row = next(r for r in w.rows if r.series == "spark-local" and r.rows == 100_000)
    assert row.seconds == pytest.approx(6.0 + 1.5 + 0.15)
    assert row.basis == "start-up + job (measured)" and not row.projected


def test_unverified_output_withholds_the_time_and_stays_out_of_the_fit():
    benchmarks = suite()
    broken = next(b for b in benchmarks if b["extra_info"]["variant"] == "batched"
                  and b["extra_info"]["rows"] == 400_000)
    broken["extra_info"].update(output_equal=False, seconds=None)  # as the suite records it
    unmeasured = next(b for b in benchmarks if b["extra_info"]["variant"] == "spark-local")
    unmeasured["extra_info"]["job_s"] = None  # the job printed no metrics line
    report = build_from(benchmarks)
    assert any("test_spark-local_total[10000] recorded no job_s" in w for w in report.warnings)
    (w,) = report.workloads
    row = next(r for r in w.rows if r.series == "batched" and r.rows == 400_000)
    assert row.seconds is None and row.output_equal is False and row.speedup is None
    assert w.fit_for("batched").fit.sizes == [10_000, 100_000]
    assert "DIFFERS (time withheld)" in report_html.render_html(report, [])


def test_extra_projection_sizes_and_several_files_and_workloads(tmp_path):
    small = write(tmp_path / "small.json", suite(sizes=(10_000,)))
    large = write(tmp_path / "large.json", suite(sizes=(100_000, 400_000)) +
                  suite(workload="sessions"))
    report = build(small, large, project=[4_000_000])
    assert [w.workload for w in report.workloads] == ["cascade", "sessions"]
    cascade = report.workloads[0]
    assert cascade.fit_for("vectorised").fit.sizes == [10_000, 100_000, 400_000]
    at = {p.rows: p for p in cascade.fit_for("vectorised").projections}
    assert at[4_000_000].projected and at[4_000_000].seconds == pytest.approx(8.05)
    assert report.projection_rows == [400_000, 4_000_000, 40_000_000]


def test_harness_bench_json_is_accepted(tmp_path):
    src = tmp_path / "bench.json"
    src.write_text(json.dumps({
        "workload": "cascade", "created": "2025-06-02T10:00:00Z", "machine": MACHINE,
        "fixture": {"rows": 100_000}, "results": [
            {"variant": "per-row", "rows_in": 1_000, "rows_full": 100_000, "seconds": 20.0,
             "projected": True, "measured_rows": 1_000, "output_equal": True, "details": {}},
            {"variant": "vectorised", "rows_in": 100_000, "rows_full": 100_000,
             "seconds": 0.25, "projected": False, "output_equal": True, "details": {}},
            {"variant": "spark", "rows_in": 100_000, "rows_full": 100_000, "seconds": 9.0,
             "projected": False, "output_equal": True,
             "details": {"master": "spark://127.0.0.1:7077", "session_start_s": 5.0,
                         "job_s": 3.1}}]}))
    (w,) = build(src).workloads
    rows = {r.series: r for r in w.rows if r.rows == 100_000}
    assert set(rows) == {"per-row", "vectorised", "spark-cluster"}
    assert rows["spark-cluster"].speedup == pytest.approx(20.0 / 9.0)
    assert w.startup_job == [{"variant": "spark-cluster", "rows": 100_000, "startup_s": 5.0,
                              "job_s": 3.1, "startup_shared": False}]


def one_line_error(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["harness", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    text = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    return text


@pytest.mark.parametrize(("content", "needles"), [
    (None, ["does not exist", "--benchmark-json"]),
    ("not json", ["is not JSON", "--benchmark-json"]),
    ('{"something": "else"}', ["neither pytest-benchmark output", "--benchmark-json"]),
    ('{"benchmarks": [{"name": "t", "stats": {"median": 1}, "extra_info": {}}]}',
     ["carries the extra_info a report needs", "workload, variant, rows",
      "run the suite in benchmarks/"]),
])
def test_bad_input_is_one_line_naming_problem_and_remedy(tmp_path, monkeypatch, capsys,
                                                         content, needles):
    src = tmp_path / "in.json"
    if content is not None:
        src.write_text(content)
    text = one_line_error(monkeypatch, capsys, "report", "--json", str(src), "--out",
                          str(tmp_path / "out"))
    assert text.startswith("error:") and " -- " in text
    for needle in needles:
        assert needle in text
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_bad_extra_info_names_the_benchmark(tmp_path, monkeypatch, capsys):
    bad = bench("vectorised", 10_000, "total", 0.1)
    bad["extra_info"]["rows"] = "lots"
    src = write(tmp_path / "b.json", [bad])
    text = one_line_error(monkeypatch, capsys, "report", "--json", str(src), "--out",
                          str(tmp_path / "out"))
    assert "test_vectorised_total[10000]" in text and "'lots'" in text


def renamed_suite(sizes=SIZES):
    """A user workload's suite run, as the suite records it now: its legacy variants are
    row-by-row (the baseline) and in-memory, each benchmark saying it is legacy."""
    names = {"per-row": "row-by-row", "batched": "in-memory"}
    out = []
    for b in suite(sizes, workload="shop"):
        info = b["extra_info"]
        if info["variant"] in names:
            info.update(variant=names[info["variant"]], legacy=True, baseline="row-by-row",
                        profile="local")
        out.append(b)
    return out


def test_the_baseline_and_the_legacy_variants_are_read_from_the_results(tmp_path):
    """A legacy variant not called per-row keeps its speed-up column: the report pivots on
    the baseline the results name, in the table, the page, report.json and the plot."""
    report = build_from(renamed_suite())
    (w,) = report.workloads
    assert w.baseline == "row-by-row"
    assert w.series[:3] == ["row-by-row", "in-memory", "vectorised"]  # legacy first
    rows = {(r.series, r.rows): r for r in w.rows}
    assert rows[("vectorised", 400_000)].speedup == pytest.approx(80.0 / 0.85)
    assert rows[("in-memory", 10_000)].speedup == pytest.approx(2.0 / 0.7)
    # Spark's crossover against the legacy job it replaces is against the baseline
    assert any(c.incumbent == "row-by-row" for c in w.crossovers)
    page = report_html.render_html(report, [])
    assert "speed-up vs row-by-row</th>" in page and "speed-up vs per-row" not in page
    src = write(tmp_path / "shop.json", renamed_suite())
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", "--json", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text())["workloads"]["shop"]
    assert data["baseline"] == "row-by-row"
    table = {(r["variant"], r["rows"]): r for r in data["table"]}
    assert table[("vectorised", 400_000)]["speedup_vs_baseline"] == pytest.approx(80.0 / 0.85)


def test_results_written_before_the_baseline_was_recorded_are_read_as_meant(tmp_path):
    """The stored runs and old bench JSON recorded neither `legacy` nor `baseline`: every
    variant not one of the harness's own was legacy and the baseline was per-row (an old
    bench file's speedup_vs_per_row is its speed-up vs the baseline)."""
    stored = Path(__file__).parents[2] / "benchmarks/baselines/cascade-2core/run1.json"
    loaded = results.load([stored])
    assert loaded.baselines == {"cascade": "per-row"}
    assert {s.variant for s in loaded.samples if s.legacy} == {"per-row", "batched", "async"}
    (w,) = report_analysis.build(loaded).workloads
    assert w.series[:4] == ["per-row", "batched", "async", "vectorised"]
    assert all(r.speedup for r in w.rows if r.series == "batched" and r.output_equal)
    old = tmp_path / "old-bench.json"
    old.write_text(json.dumps({"workload": "cascade", "results": [
        {"variant": "per-row", "rows_in": 100, "rows_full": 1_000, "rows_per_s": 50.0,
         "db_rtt_ms": 0.0, "speedup_vs_per_row": 1.0},
        {"variant": "vectorised", "rows_in": 1_000, "rows_per_s": 5e5, "db_rtt_ms": None,
         "speedup_vs_per_row": 1e4}]}))
    bench = results.read_bench(old)
    assert bench.baseline == "per-row"
    assert [(r.legacy, r.speedup_vs_baseline) for r in bench.results] == \
        [(True, 1.0), (False, 1e4)]


def test_files_naming_different_baselines_for_a_workload_are_reported(tmp_path):
    first = write(tmp_path / "a.json", renamed_suite(sizes=(10_000,)))
    other = renamed_suite(sizes=(100_000,))
    for b in other:
        if b["extra_info"].get("legacy"):
            b["extra_info"]["baseline"] = "in-memory"
    report = build(first, write(tmp_path / "b.json", other))
    assert report.workloads[0].baseline == "row-by-row"
    assert any("shop's baseline is 'in-memory', another file's 'row-by-row'" in w
               for w in report.warnings)


def test_recorded_phases_become_medians_and_a_stacked_bar_per_platform(tmp_path):
    """A Spark run's phases (extra_info["phases"]) reach report.json as medians per
    platform and size, in run order, and phases.png; runs recorded before phases (the
    other sizes here) are read as before."""
    benchmarks = suite()
    runs = [{"driver start": 1.5, "session": 2.0, "read": 0.5, "compute": 3.0, "stop": 0.2},
            {"driver start": 2.5, "session": 1.0, "read": 0.7, "compute": 5.0, "stop": 0.4},
            {"driver start": 2.0, "session": 3.0, "read": 0.6, "compute": 4.0, "stop": 0.3}]
    total = next(b for b in benchmarks if b["extra_info"]["variant"] == "spark-local"
                 and b["extra_info"]["rows"] == 400_000)
    benchmarks.remove(total)
    for phases in runs:
        benchmarks.append({**total, "extra_info": {**total["extra_info"], "phases": phases}})
    step = bench("spark-emr", 400_000, "total", 9.0, job_s=6.0,
                 phases={"step queued": 0.1, "session": 4.0, "write": 4.5, "polling": 0.4})
    src = write(tmp_path / "bench.json", [*benchmarks, step])
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", "--json", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = (out / "phases.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    report = json.loads((out / "report.json").read_text())["workloads"]["cascade"]
    entries = {(e["variant"], e["rows"]): e["phases"] for e in report["phases"]}
    assert set(entries) == {("spark-local", 400_000), ("spark-emr", 400_000)}
    local = entries[("spark-local", 400_000)]
    assert list(local) == ["driver start", "session", "read", "compute", "stop"]
    assert local == {"driver start": 2.0, "session": 2.0, "read": 0.6, "compute": 4.0,
                     "stop": 0.3}
    assert list(entries[("spark-emr", 400_000)]) == ["step queued", "session", "write",
                                                     "polling"]
