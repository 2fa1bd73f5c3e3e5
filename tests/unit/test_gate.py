"""The regression gate passes only when it has judged every benchmark: a uniformly slower
machine passes, one slowed benchmark fails by name, a small change is ambiguous, a changed
output fails; a missing, new, unmeasured or renamed benchmark fails; the reference is named,
never guessed; bad input is a clear message. Spreads decide the normalisation from data."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.bench.gate import GateError, GateFailed, compare, format_spreads, rerun, spreads
from harness.cli import app

REF = "benchmarks/test_suite.py::test_reference_computation"
BASE = {"test_vectorised": 0.200, "test_spark": 20.0}


def run_json(path, seconds, cpu="Xeon x2", broken=(), reference=0.100, paired=None,
             record_reference=True, digests=None, suite=None, ref_name=REF):
    """A suite run: each benchmark's figure in extra_info.seconds, pytest-benchmark's stats
    deliberately different (the gate must never read them)."""
    benchmarks = []
    if reference is not None:
        benchmarks.append({"name": "test_reference_computation", "fullname": ref_name,
                           "stats": {"median": 9.9, "min": 9.9},
                           "extra_info": {"variant": "reference", "seconds": reference}})
    for n, s in seconds.items():
        info = {"output_equal": n not in broken}
        if s is not None:
            info["seconds"] = s
        if paired is not None:
            info["paired_reference_s"] = paired.get(n) if isinstance(paired, dict) else paired
        if digests and n in digests:
            info["output_digest"] = digests[n]
        benchmarks.append({"name": n, "fullname": n, "stats": {"median": 4e-6, "min": 4e-6},
                           "extra_info": info})
    record = dict(suite or {})  # no options recorded: nothing is re-run
    if record_reference and reference is not None:
        record["reference"] = ref_name
    path.write_text(json.dumps({
        "machine_info": {"cpu": {"brand_raw": cpu.split(" x")[0], "count": cpu.split(" x")[1]}},
        "benchmarks": benchmarks, "suite": record}))
    return path


def statuses(report):
    return {v.name: v.status for v in report.verdicts}


def test_one_slowed_benchmark_fails_by_name_and_amount(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", {**BASE, "test_spark": 30.0})
    report = compare(base, cur)
    (failed,) = report.failed
    assert failed.name == "test_spark" and failed.change == pytest.approx(0.5)
    assert "test_spark: +50.0% against the baseline (20.000 s -> 30.000 s)" in failed.line()
    assert statuses(compare(base, run_json(tmp_path / "s.json", BASE))) == {
        "test_vectorised": "ok", "test_spark": "ok"}


def test_small_changes_are_ambiguous_and_noise_is_ignored(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", {"test_spark": 23.0, "test_vectorised": 0.2015})
    assert statuses(compare(base, cur)) == {"test_spark": "ambiguous", "test_vectorised": "ok"}
    # +30% of a 200 ms benchmark is below a 100 ms noise floor
    tiny = run_json(tmp_path / "t.json", {**BASE, "test_vectorised": 0.26})
    assert statuses(compare(base, tiny, noise_floor_s=0.1))["test_vectorised"] == "ok"


def test_changed_output_fails_whatever_the_time(tmp_path):
    base = run_json(tmp_path / "b.json", BASE, digests={"test_spark": "abc"})
    cur = run_json(tmp_path / "c.json", BASE, broken=("test_vectorised",))
    assert [v.name for v in compare(base, cur).failed] == ["test_vectorised"]
    moved = run_json(tmp_path / "d.json", BASE, digests={"test_spark": "abd"})
    (changed,) = compare(base, moved).failed
    assert changed.status == "output-changed" and "abc -> abd" in changed.line()


def test_a_benchmark_missing_from_the_run_fails(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", {"test_vectorised": 0.2})
    report = compare(base, cur)
    (missing,) = report.failed
    assert (missing.name, missing.status) == ("test_spark", "missing")
    assert "in the baseline, not in this run" in missing.line() and not report.passed


def test_a_new_benchmark_fails_unless_allowed(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", {**BASE, "test_batched": 1.0})
    (new,) = compare(base, cur).failed
    assert (new.name, new.status) == ("test_batched", "new")
    assert "--allow-new" in new.line()
    allowed = compare(base, cur, allow_new=True)
    assert allowed.passed and statuses(allowed)["test_batched"] == "new"


def test_no_figure_no_verdict(tmp_path):
    """A benchmark without extra_info.seconds fails by name; its pytest-benchmark stats
    (here 4 us, a cache hit) never stand in."""
    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", {**BASE, "test_spark": None})
    (unmeasured,) = compare(base, cur).failed
    assert (unmeasured.name, unmeasured.status) == ("test_spark", "no-figure")
    assert "test_spark: recorded no measured time (extra_info.seconds)" in unmeasured.line()
    # the same in every baseline run: nothing to judge against, which fails too
    no_base = run_json(tmp_path / "n.json", {**BASE, "test_spark": None})
    (failed,) = compare(no_base, run_json(tmp_path / "s.json", BASE)).failed
    assert failed.status == "no-figure" and "baseline run" in failed.line()


def test_zero_matched_and_a_renamed_suite_fail(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    renamed = run_json(tmp_path / "r.json", {f"renamed_{k}": v for k, v in BASE.items()})
    report = compare(base, renamed, allow_new=True)
    assert not report.passed
    assert {v.status for v in report.verdicts} == {"new", "missing"}
    (problem,) = report.problems
    assert "no benchmark of" in problem and "renamed suite" in problem
    empty = run_json(tmp_path / "e.json", {})
    assert "holds no benchmark to judge" in compare(base, empty).problems[0]
    # the suite file renamed: its reference moves with it and is still found by its name
    moved = run_json(tmp_path / "m.json", {f"benchmarks/test_other.py::{k}": v
                                            for k, v in BASE.items()},
                     ref_name="benchmarks/test_other.py::test_reference_computation")
    report = compare(base, moved)
    assert "renamed suite" in report.problems[0] and len(report.failed) == 4
    result = CliRunner().invoke(app, ["gate", "--baseline", str(base), "--current",
                                      str(renamed), "--allow-new"])
    assert result.exit_code == 1 and isinstance(result.exception, GateFailed)
    assert "renamed suite" in result.output


def test_the_reference_is_named_explicitly(tmp_path):
    """From --reference or the suite's record; a benchmark called 'reference' is not taken
    for it on its name; --normalise reference without one is a clear error."""
    base = run_json(tmp_path / "b.json", BASE)
    # a machine twice as slow: the reference, timed on it, cancels it; raw seconds do not
    cur = run_json(tmp_path / "c.json", {k: 2 * v for k, v in BASE.items()}, reference=0.2)
    assert set(statuses(compare(base, cur, normalise="reference")).values()) == {"ok"}
    assert len(compare(base, cur, normalise="raw").failed) == 2
    unnamed_b = run_json(tmp_path / "ub.json", BASE, record_reference=False)
    unnamed_c = run_json(tmp_path / "uc.json", BASE, record_reference=False)
    with pytest.raises(GateError, match="needs a reference benchmark, and none is named"):
        compare(unnamed_b, unnamed_c, normalise="reference")
    # unnamed, the reference computation is judged like any benchmark, never guessed
    assert "benchmarks/test_suite.py::test_reference_computation" in statuses(
        compare(unnamed_b, unnamed_c))
    named = compare(unnamed_b, unnamed_c, reference="test_reference_computation",
                    normalise="reference")
    assert named.reference == REF and REF not in statuses(named)
    with pytest.raises(GateError, match="has no benchmark 'test_nothing'"):
        compare(base, cur, reference="test_nothing")


def test_normalising_by_the_paired_reference(tmp_path):
    base = run_json(tmp_path / "b.json", BASE, paired=0.05)
    # the machine was twice as slow while test_spark ran, as its paired reference saw
    cur = run_json(tmp_path / "c.json", {**BASE, "test_spark": 40.0},
                   paired={"test_vectorised": 0.05, "test_spark": 0.10})
    assert statuses(compare(base, cur, normalise="paired")) == {"test_vectorised": "ok",
                                                                 "test_spark": "ok"}
    unpaired = run_json(tmp_path / "u.json", BASE)
    (failed, _) = compare(base, unpaired, normalise="paired").failed
    assert failed.status == "no-figure" and "paired_reference_s" in failed.line()
    with pytest.raises(GateError, match="unknown normalisation 'median'"):
        compare(base, cur, normalise="median")


def test_missing_and_foreign_baselines(tmp_path):
    cur = run_json(tmp_path / "c.json", BASE)
    with pytest.raises(GateError, match="baseline file .* does not exist") as err:
        compare(tmp_path / "nope.json", cur)
    assert "benchmarks/baselines" in err.value.remedy
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(GateError, match="not pytest-benchmark output"):
        compare(tmp_path / "x.json", cur)
    foreign = run_json(tmp_path / "f.json", BASE, cpu="EPYC x64")
    assert "another machine" in compare(foreign, cur).warnings[0]


def test_gate_command_exit_codes(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    same = run_json(tmp_path / "s.json", BASE)
    slow = run_json(tmp_path / "x.json", {**BASE, "test_spark": 40.0})
    runner = CliRunner()
    ok = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(same)])
    assert ok.exit_code == 0 and "gate passed" in ok.output
    bad = runner.invoke(app, ["gate", "--baseline", str(base), "--current", str(slow)])
    assert bad.exit_code == 1 and "test_spark" in str(bad.exception)
    assert isinstance(bad.exception, GateFailed)  # not an output mismatch: a timing verdict
    edge = run_json(tmp_path / "e.json", {**BASE, "test_spark": 23.0})
    assert runner.invoke(app, ["gate", "--baseline", str(base),
                               "--current", str(edge)]).exit_code == 3
    no_current = runner.invoke(app, ["gate", "--baseline", str(base)])
    assert no_current.exit_code != 0 and "--current" in str(no_current.exception)


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


def test_a_run_without_the_suites_record_is_not_re_run_and_says_so(tmp_path):
    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", {**BASE, "test_spark": 40.0})
    data = json.loads(cur.read_text())
    del data["suite"]
    cur.write_text(json.dumps(data))
    report = rerun(compare(base, cur, reference=REF), base, cur, 0.10, 0.002)
    assert [v.name for v in report.failed] == ["test_spark"]
    assert "were not re-run" in report.warnings[-1]


def test_a_re_run_judges_by_the_better_of_two_runs(tmp_path, monkeypatch):
    """The re-run runs the reference and the slower benchmarks, in the suite's order, and
    a benchmark slow only once passes while one slow twice fails."""
    base = run_json(tmp_path / "b.json", {**BASE, "test_batched": 1.0})
    cur = run_json(tmp_path / "c.json", {"test_vectorised": 0.4, "test_spark": 40.0,
                                          "test_batched": 1.0},
                   suite={"rootdir": str(tmp_path), "options": ["--bench-sizes=2000"]})
    seen = {}

    def fake_run(cmd, **kwargs):
        seen["cmd"] = cmd
        run_json(tmp_path / "c-rerun.json", {"test_vectorised": 0.2, "test_spark": 40.0})
        return type("Proc", (), {"returncode": 0, "stdout": "", "stderr": ""})()

    monkeypatch.setattr("harness.bench.gate.procs.run", fake_run)
    report = rerun(compare(base, cur), base, cur, 0.10, 0.002)
    names = seen["cmd"][seen["cmd"].index("pytest") + 1:]
    assert names[:4] == [REF, "test_vectorised", "test_spark", "--bench-sizes=2000"]
    assert statuses(report) == {"test_vectorised": "ok", "test_spark": "regressed",
                                "test_batched": "ok"}
    assert all(v.rerun for v in report.verdicts if v.name != "test_batched")


def test_baseline_runs_that_disagree_on_an_output_and_zero_times(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    for i, digest in enumerate(("aaa", "bbb")):
        run_json(runs / f"run{i}.json", {**BASE, "test_zero": 0.0},
                 digests={"test_vectorised": digest})
    cur = run_json(tmp_path / "c.json", {**BASE, "test_zero": 0.0})
    report = compare(runs, cur)
    assert any("disagree on test_vectorised's output" in w for w in report.warnings)
    verdicts = {v.name: v for v in report.verdicts}
    assert verdicts["test_zero"].status == "ok" and "zero time" in verdicts["test_zero"].detail


def test_spreads_three_ways_decide_the_normalisation(tmp_path):
    """Two runs on a machine 25% slower the second time: raw seconds spread, the reference
    (slowed alike) cancels it, a paired reference that saw it cancels it for its benchmark."""
    runs = tmp_path / "runs"
    runs.mkdir()
    run_json(runs / "run1.json", BASE, paired=0.05)
    run_json(runs / "run2.json", {k: v * 1.25 for k, v in BASE.items()}, reference=0.125,
             paired={"test_vectorised": 0.0625, "test_spark": 0.05})
    table, ref = spreads(runs)
    assert ref == REF
    by = {s.name: s for s in table}
    assert by["test_spark"].median_s == pytest.approx(22.5)
    assert by["test_spark"].raw == pytest.approx(5 / 22.5)
    assert by["test_spark"].reference == pytest.approx(0.0)
    assert by["test_spark"].paired == pytest.approx(5 / 22.5)  # its pair did not see it
    assert by["test_vectorised"].paired == pytest.approx(0.0)
    lines = format_spreads(table, ref, 2)
    assert any(ln.startswith("reference: median spread 0.0%") and "for 2 of the 2" in ln
               for ln in lines), lines
    result = CliRunner().invoke(app, ["gate", "--baseline", str(runs), "--spreads"])
    assert result.exit_code == 0 and "/paired" in result.output and "test_spark" in result.output
    with pytest.raises(GateError, match="needs two runs"):
        spreads(runs / "run1.json")


def test_the_real_command_exits_3_when_ambiguous(tmp_path):
    """The installed `harness` entry point (not CliRunner's standalone mode) passes the
    gate's exit code on: an ambiguous verdict is 3, not 0."""
    import subprocess
    import sys

    base = run_json(tmp_path / "b.json", BASE)
    cur = run_json(tmp_path / "c.json", {"test_spark": 23.0, "test_vectorised": 0.2015})
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "gate", "--baseline", str(base),
                           "--current", str(cur), "--no-rerun"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "ambiguous: re-run test_spark" in proc.stdout
