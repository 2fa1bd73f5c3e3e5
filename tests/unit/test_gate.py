"""The regression gate judges normalised medians: a uniformly slower machine passes, one
slowed benchmark fails by name, a small change is ambiguous, a changed output fails, and a
missing baseline is a clear message."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.bench.gate import GateError, compare
from harness.cli import app


def run_json(path, medians, cpu="Xeon x2", broken=()):
    path.write_text(json.dumps({
        "machine_info": {"cpu": {"brand_raw": cpu.split(" x")[0], "count": cpu.split(" x")[1]}},
        "benchmarks": [{"name": n, "fullname": n, "stats": {"median": m},
                        "extra_info": {"output_equal": n not in broken}}
                       for n, m in medians.items()]}))
    return path


BASE = {"test_reference": 0.100, "test_vectorised": 0.200, "test_spark": 20.0}


def test_uniformly_slower_machine_passes(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    slower = run_json(tmp_path / "c.json", {k: v * 1.4 for k, v in BASE.items()})
    report = compare(base, slower)
    assert not report.failed and {v.status for v in report.verdicts} == {"ok"}


def test_one_slowed_benchmark_fails_by_name_and_amount(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", {**BASE, "test_spark": 30.0})
    report = compare(base, cur)
    (failed,) = report.failed
    assert failed.name == "test_spark" and failed.change == pytest.approx(0.5)
    assert "test_spark: +50.0% against the baseline" in failed.line()


def test_small_changes_are_ambiguous_and_noise_is_ignored(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", {**BASE, "test_spark": 23.0,
                                          "test_vectorised": 0.2015})
    verdicts = {v.name: v.status for v in compare(base, cur).verdicts}
    assert verdicts == {"test_spark": "ambiguous", "test_vectorised": "ok"}
    # +30% of a 1 ms benchmark is below the 2 ms noise floor
    tiny = run_json(tmp_path / "t.json", {**BASE, "test_vectorised": 0.26})
    assert {v.name: v.status for v in compare(base, tiny, noise_floor_s=0.1).verdicts}[
        "test_vectorised"] == "ok"


def test_changed_output_fails_whatever_the_time(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", BASE, broken=("test_vectorised",))
    assert [v.name for v in compare(base, cur).failed] == ["test_vectorised"]


def test_missing_and_foreign_baselines(tmp_path):
    cur = run_json(tmp_path / "c.json", BASE)
    with pytest.raises(GateError, match="baseline file .* does not exist") as err:
        compare(tmp_path / "nope.json", cur)
    assert "benchmarks/baselines" in err.value.remedy
    foreign = run_json(tmp_path / "f.json", BASE, cpu="EPYC x64")
    assert "another machine" in compare(foreign, cur).warnings[0]
    no_ref = run_json(tmp_path / "n.json", {"test_spark": 1.0})
    with pytest.raises(GateError, match="has no reference benchmark"):
        compare(no_ref, cur)


def test_gate_command_exit_codes(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    same = run_json(tmp_path / "s.json", BASE)
    slow = run_json(tmp_path / "x.json", {**BASE, "test_spark": 40.0})
    runner = CliRunner()
    ok = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(same)])
    assert ok.exit_code == 0 and "gate passed" in ok.output
    bad = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(slow)])
    assert bad.exit_code != 0 and "test_spark" in str(bad.exception)
    edge = run_json(tmp_path / "e.json", {**BASE, "test_spark": 23.0})
    assert runner.invoke(app, ["gate", "--baseline", str(base),
                               "--current", str(edge)]).exit_code == 3


def test_the_suites_own_seconds_are_judged_not_pytest_benchmarks_stats(tmp_path):
    """extra_info.seconds (the variant's own time, without set-up and verification) is the
    figure when a benchmark has one."""
    def suite(path, spark_seconds, digest="abc"):
        path.write_text(json.dumps({"machine_info": {}, "benchmarks": [
            {"name": "test_reference_computation", "stats": {"median": 0.1},
             "extra_info": {"variant": "reference"}},
            {"name": "test_spark[x]", "stats": {"median": 99.0},
             "extra_info": {"seconds": spark_seconds, "output_equal": True,
                            "output_digest": digest}}]}))
        return path

    base = suite(tmp_path / "b.json", 10.0)
    assert [v.status for v in compare(base, suite(tmp_path / "s.json", 10.5)).verdicts] == ["ok"]
    (slow,) = compare(base, suite(tmp_path / "x.json", 20.0)).verdicts
    assert slow.status == "regressed" and slow.change == pytest.approx(1.0)
    (changed,) = compare(base, suite(tmp_path / "d.json", 10.0, digest="abd")).verdicts
    assert changed.status == "output-changed" and "abc -> abd" in changed.line()


def test_several_baseline_runs_give_each_benchmark_its_noise_band(tmp_path):
    """A benchmark whose baseline runs spread 33% is judged at 67%: +50% passes, as it
    must on a machine where it moves that much between quiet runs, while +150% fails; a
    steady one keeps the 10% threshold. A directory of runs works as a baseline."""
    runs = tmp_path / "baseline"
    runs.mkdir()
    run_json(runs / "run1.json", BASE)
    run_json(runs / "run2.json", {**BASE, "test_spark": 28.0})  # 20 and 28 s: 8/24 = 33%
    noisy = run_json(tmp_path / "c.json", {**BASE, "test_spark": 36.0})  # +50% of 24 s
    verdicts = {v.name: v for v in compare(runs, noisy).verdicts}
    assert verdicts["test_spark"].status == "ok"
    assert verdicts["test_spark"].threshold == pytest.approx(2 / 3)
    assert verdicts["test_spark"].change == pytest.approx(0.5)
    assert verdicts["test_vectorised"].threshold is None  # steady: the plain threshold
    twice = run_json(tmp_path / "d.json", {**BASE, "test_spark": 60.0, "test_vectorised": 0.3})
    failed = {v.name: v for v in compare(runs, twice).failed}
    assert set(failed) == {"test_spark", "test_vectorised"}
    assert "threshold 67% from the baseline runs' spread" in failed["test_spark"].line()
    result = CliRunner().invoke(app, ["gate", "--baseline", str(runs / "run1.json"),
                                      "--baseline", str(runs / "run2.json"),
                                      "--current", str(noisy), "--no-rerun"])
    assert result.exit_code == 0 and "widened" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GateError, match="holds no JSON runs"):
        compare(empty, noisy)


def test_the_reference_counts_by_its_minimum(tmp_path):
    """A reference whose median was disturbed (a slow round) does not shift every ratio."""
    base = run_json(tmp_path / "b.json", BASE)
    data = json.loads(base.read_text())
    data["benchmarks"][0]["stats"] = {"median": 0.150, "min": 0.100}
    cur = tmp_path / "c.json"
    cur.write_text(json.dumps(data))
    assert {v.status for v in compare(base, cur).verdicts} == {"ok"}


def test_a_run_without_the_suites_record_is_not_re_run_and_says_so(tmp_path):
    from harness.bench.gate import rerun

    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", {**BASE, "test_spark": 40.0})
    report = rerun(compare(base, cur), base, cur, 0.10, 0.002)
    assert [v.name for v in report.failed] == ["test_spark"]
    assert "were not re-run" in report.warnings[-1]


def test_baseline_runs_that_disagree_on_an_output_and_zero_times(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    for i, digest in enumerate(("aaa", "bbb")):
        path = run_json(runs / f"run{i}.json", {**BASE, "test_zero": 0.0})
        data = json.loads(path.read_text())
        data["benchmarks"][1]["extra_info"]["output_digest"] = digest  # test_vectorised
        path.write_text(json.dumps(data))
    cur = run_json(tmp_path / "c.json", {**BASE, "test_zero": 0.0})
    report = compare(runs, cur)
    assert any("disagree on test_vectorised's output" in w for w in report.warnings)
    verdicts = {v.name: v for v in report.verdicts}
    assert verdicts["test_zero"].status == "ok" and "zero time" in verdicts["test_zero"].detail
