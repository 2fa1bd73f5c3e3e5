"""The scaling study: the least-squares line recovers a known fixed and per-row cost, says
when it cannot (one size, a negative fixed cost), marks every projected figure, and finds
where one variant overtakes another, or says plainly that it does not."""

from __future__ import annotations

import pytest

from harness.bench.scaling import crossover, fit_line, project


def line(fixed, per_row, sizes=(10_000, 100_000, 400_000)):
    return fit_line((n, fixed + per_row * n) for n in sizes)


def test_fit_recovers_fixed_and_per_row_cost_with_residuals():
    model = fit_line([(10_000, 2.0 + 10_000 * 5e-6 * 1.02), (100_000, 2.0 + 100_000 * 5e-6),
                      (400_000, 2.0 + 400_000 * 5e-6 * 0.99), (1_000_000, 7.0)])
    assert model.fixed_s == pytest.approx(2.0, abs=0.05)
    assert model.per_row_s == pytest.approx(5e-6, rel=0.02)
    assert [r.rows for r in model.residuals] == [10_000, 100_000, 400_000, 1_000_000]
    assert 0 < model.max_error < 0.02
    assert not model.flags
    exact = line(3.0, 2e-6)
    assert (exact.fixed_s, exact.per_row_s) == (pytest.approx(3.0), pytest.approx(2e-6))
    assert exact.max_error == pytest.approx(0.0, abs=1e-12)


def test_one_size_counts_everything_per_row_and_is_flagged():
    model = fit_line([(10_000, 2.0), (10_000, 2.2)])
    assert model.fixed_s == 0.0 and model.per_row_s == pytest.approx(2.1 / 10_000)
    assert model.single_size and "one size measured" in model.flags[0]
    assert fit_line([(10_000, 2.0)]).max_error is None  # one point: nothing to judge it by


def test_negative_fixed_cost_is_refitted_through_zero_and_flagged():
    model = fit_line([(10_000, 0.5), (100_000, 10.0)])  # the straight line would start < 0
    assert model.clamped and model.fixed_s == 0.0
    assert model.per_row_s == pytest.approx((10_000 * 0.5 + 100_000 * 10.0)
                                            / (10_000**2 + 100_000**2))
    assert "negative fixed cost" in model.flags[0]


def test_a_time_that_falls_as_rows_grow_is_a_fixed_cost_with_an_unresolved_per_row_cost():
    # Spark local[*] as measured on 2 cores: ~21 s whatever the size
    model = fit_line([(10_000, 21.2), (100_000, 20.4), (400_000, 20.9)])
    assert model.flat and model.per_row_s == 0.0
    assert model.fixed_s == pytest.approx((21.2 + 20.4 + 20.9) / 3)
    assert not model.per_row_resolved and "fell as rows grew" in model.flags[0]


def test_growth_within_the_scatter_is_flagged_and_carried_into_the_crossover():
    cluster = fit_line([(10_000, 29.7), (100_000, 27.2), (400_000, 29.4)])  # noise ~ 1.5 s
    assert cluster.per_row_s > 0 and not cluster.per_row_resolved
    assert "per-row cost unresolved" in cluster.flags[0]
    found = crossover("spark-cluster", cluster, "vectorised", line(0.02, 2.6e-6))
    assert found.unresolved == ["spark-cluster"]
    assert "spark-cluster's time grew with rows by less than" in found.sentence()
    assert line(10.0, 1e-5).per_row_resolved  # 4 s of growth, no scatter


def test_projections_are_marked_unless_the_size_was_measured():
    model = line(1.0, 1e-6)
    at = {p.rows: p for p in project(model, [400_000, 40_000_000], {400_000: 1.38})}
    assert at[400_000].seconds == 1.38 and not at[400_000].projected
    assert at[40_000_000].seconds == pytest.approx(41.0) and at[40_000_000].projected


def test_crossover_where_spark_overtakes_the_single_node_reference():
    spark, vectorised = line(10.0, 1e-6), line(0.1, 2e-6)
    found = crossover("spark-cluster", spark, "vectorised", vectorised)
    assert found.status == "overtakes"
    assert found.rows == pytest.approx(9.9 / 1e-6)
    assert found.projected  # beyond the 400k rows measured
    assert "spark-cluster overtakes vectorised at about 9,900,000 rows" in found.sentence()
    assert "projected" in found.sentence()


def test_crossover_inside_the_measured_sizes_is_not_projected():
    sizes = (10_000, 1_000_000, 20_000_000)
    found = crossover("spark-cluster", line(10.0, 1e-6, sizes), "vectorised",
                      line(0.1, 2e-6, sizes))
    assert found.status == "overtakes" and not found.projected
    assert "within the measured sizes" in found.sentence()


def test_no_crossover_when_spark_is_dearer_per_row_and_up_front():
    found = crossover("spark-cluster", line(10.0, 3e-6), "vectorised", line(0.1, 2e-6))
    assert found.status == "never" and found.rows is None
    assert "does not overtake vectorised at any size on this machine" in found.sentence()


def test_already_faster_at_every_measured_size():
    found = crossover("spark-cluster", line(0.05, 1e-6), "vectorised", line(0.1, 2e-6))
    assert found.status == "already-faster"
    assert "already faster than vectorised at every measured size" in found.sentence()
    # the lines cross below the smallest size measured: still faster at every measured size
    below = crossover("spark-cluster", line(0.1005, 1e-6), "vectorised", line(0.1, 2e-6))
    assert below.status == "already-faster" and below.rows == pytest.approx(500, rel=1e-6)
    assert "cross at about 500 rows" in below.sentence()


def test_falls_behind_when_cheaper_up_front_but_dearer_per_row():
    found = crossover("spark-local", line(0.1, 3e-6), "vectorised", line(0.5, 2e-6))
    assert found.status == "falls-behind" and found.rows == pytest.approx(400_000)
    assert "beyond that vectorised is faster" in found.sentence()


def test_one_size_crossover_carries_a_caveat():
    found = crossover("spark-cluster", fit_line([(100_000, 9.0)]), "vectorised",
                      line(0.1, 2e-6))
    assert "spark-cluster was measured at one size only" in found.sentence()


def test_a_crossing_with_a_sampled_fit_says_its_figures_are_projected():
    found = crossover("spark-cluster", line(40.0, 1e-6), "per-row", line(0.0, 2.6e-3),
                      sampled=["per-row"])
    assert found.status == "overtakes"
    assert "per-row's figures are projected (from a sample)" in found.sentence()
