"""The planning model: a least-squares fit of fixed + per-row time from measured sizes,
scaled by cores onto candidate clusters, priced, and checked against a real run."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.bench import plan as pl
from harness.cli import app


def bench_json(path, rows, job_s, cores=3, session=5.0, per_row_rate=None):
    results = [{"variant": "spark", "rows_in": rows, "output_equal": True,
                "details": {"job_s": job_s, "session_start_s": session, "cores": cores}}]
    if per_row_rate:
        results.append({"variant": "per-row", "rows_per_s": per_row_rate})
    path.write_text(json.dumps({"results": results}))
    return path


def test_fit_separates_fixed_and_per_row_time():
    points = [pl.Point(100_000, 10.0 + 100_000 * 3e-5 / 2, 4.0, 2),
              pl.Point(400_000, 10.0 + 400_000 * 3e-5 / 2, 6.0, 2)]
    model = pl.fit(points)
    assert model.fixed_s == pytest.approx(10.0)
    assert model.per_row_core_s == pytest.approx(3e-5)
    assert model.session_s == pytest.approx(5.0)
    assert model.job_seconds(800_000, 4) == pytest.approx(10.0 + 800_000 * 3e-5 / 4)


def test_projection_prices_each_candidate_with_provisioning(tmp_path):
    model = pl.fit([pl.Point(100_000, 5.0, 4.0, 2), pl.Point(200_000, 8.0, 4.0, 2)])
    projections = pl.project(40_000_000, model)
    assert [p.name for p in projections] == list(pl.CANDIDATES)
    small, medium = projections[0], projections[1]
    assert small.cores == 8 and medium.cores == 32
    assert medium.job_s < small.job_s  # more cores, less time
    assert small.billed_s == pytest.approx(pl.EMR_PROVISIONING_S + small.job_s)
    assert small.on_demand > 0 and small.as_written == small.on_demand  # no spot group


def test_plan_command_checks_its_projection_and_plots(tmp_path):
    small = bench_json(tmp_path / "100k.json", 100_000, 12.0, per_row_rate=57.0)
    real = bench_json(tmp_path / "400k.json", 400_000, 30.0)
    png = tmp_path / "plan.png"
    result = CliRunner().invoke(app, ["plan", "--rows", "400000", "--from", str(small),
                                      "--check", str(real), "--plot", str(png), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["check"]["actual_s"] == 35.0  # session start + job
    assert data["check"]["predicted_s"] == pytest.approx(5.0 + 48.0)  # one size: linear
    assert data["legacy"]["seconds"] == pytest.approx(400_000 / 57.0)
    assert png.stat().st_size > 10_000


def test_no_spark_measurement_is_a_clear_error(tmp_path):
    empty = tmp_path / "e.json"
    empty.write_text(json.dumps({"results": []}))
    result = CliRunner().invoke(app, ["plan", "--rows", "10", "--from", str(empty)])
    assert result.exit_code != 0 and "no verified Spark measurement" in str(result.exception)


def test_unreadable_bench_results_are_a_clear_error(tmp_path):
    """plan reads through the one reader of harness bench JSON: a missing file, non-JSON and
    pytest-benchmark output are each one message naming the file."""
    not_bench = tmp_path / "suite.json"
    not_bench.write_text(json.dumps({"benchmarks": []}))
    garbage = tmp_path / "g.json"
    garbage.write_text("not json")
    for path, needle in ((tmp_path / "none.json", "does not exist"), (garbage, "is not JSON"),
                         (not_bench, "is not harness bench output")):
        result = CliRunner().invoke(app, ["plan", "--rows", "10", "--from", str(path)])
        assert result.exit_code != 0 and needle in str(result.exception), result.output
        assert str(path) in str(result.exception)
