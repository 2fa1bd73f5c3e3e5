"""The regression gate: compare a pytest-benchmark run with a stored baseline.

Absolute times swing 10-50% between shared CI machines but well under 1% within one job,
so the gate compares each benchmark's time as a ratio to a fixed reference computation
timed in the same run (`variant: reference` in its extra_info, or `reference` in its
name), not seconds. The time is the benchmark's `extra_info.seconds` when it has one (the
suite's own figure: a median over rounds, excluding set-up and verification) and
pytest-benchmark's median otherwise.

A change counts as a regression only beyond the relative threshold *and* an absolute
noise floor; a change in the ambiguous band (threshold..2 x threshold) is re-run before
the gate decides (`rerun`), keeping the better of the two normalised times. A benchmark
whose output did not verify (`extra_info.output_equal` false) or whose output fingerprint
(`extra_info.output_digest`) differs from the baseline's fails whatever its time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


class GateError(HarnessError):
    """The gate cannot compare (missing or unreadable baseline, no reference)."""


@dataclass
class Verdict:
    name: str
    status: str  # ok, regressed, ambiguous, improved, output-changed, new, missing
    baseline_ratio: float | None = None
    current_ratio: float | None = None
    change: float | None = None  # relative change of the normalised time
    detail: str | None = None
    rerun: bool = False

    def line(self) -> str:
        if self.change is None:
            return f"{self.status:<15} {self.name}" + (f": {self.detail}" if self.detail else "")
        return (f"{self.status:<15} {self.name}: {self.change:+.1%} against the baseline "
                f"(normalised {self.baseline_ratio:.4f} -> {self.current_ratio:.4f})"
                + (" after a re-run" if self.rerun else ""))


@dataclass
class GateReport:
    baseline: str
    current: str
    reference: str
    verdicts: list[Verdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status in {"regressed", "output-changed"}]

    @property
    def ambiguous(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "ambiguous"]


def _load(path: Path, role: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise GateError(f"the {role} file {path} does not exist",
                        "create a baseline with pytest benchmarks --benchmark-json FILE and "
                        "store it under benchmarks/baselines/" if role == "baseline" else
                        "run the benchmarks with --benchmark-json first") from None
    except json.JSONDecodeError as exc:
        raise GateError(f"the {role} file {path} is not JSON ({exc})",
                        "pass a pytest-benchmark JSON file") from None
    if "benchmarks" not in data:
        raise GateError(f"the {role} file {path} is not pytest-benchmark output",
                        "pass a file written by --benchmark-json")
    return data


@dataclass
class Figure:
    seconds: float
    equal: bool
    digest: str | None
    is_reference: bool


def _figures(data: dict[str, Any], reference: str) -> dict[str, Figure]:
    figures = {}
    for bench in data["benchmarks"]:
        name = bench.get("fullname") or bench["name"]
        info = bench.get("extra_info") or {}
        seconds = info.get("seconds")
        figures[name] = Figure(
            float(seconds if seconds is not None else bench["stats"]["median"]),
            info.get("output_equal") is not False, info.get("output_digest"),
            info.get("variant") == "reference" or reference in name)
    return figures


def _machine(data: dict[str, Any]) -> str:
    info = data.get("machine_info", {})
    cpu = info.get("cpu", {})
    return f"{cpu.get('brand_raw', '?')} x{cpu.get('count', '?')}"


def _reference(figures: dict[str, Figure], role: str, path: Path, reference: str) -> str:
    refs = [n for n, f in figures.items() if f.is_reference]
    if not refs:
        raise GateError(f"the {role} run {path} has no reference benchmark to normalise by "
                        f"(extra_info variant 'reference' or {reference!r} in its name)",
                        "time the fixed reference computation in every run "
                        "(benchmarks/test_suite.py::test_reference_computation)")
    return refs[0]


def _judge(name: str, base: float, cur: float, base_ref: float, cur_ref: float,
           threshold: float, noise_floor_s: float) -> Verdict:
    b_ratio, c_ratio = base / base_ref, cur / cur_ref
    change = c_ratio / b_ratio - 1
    # the absolute difference this change means at the current reference's speed
    absolute = abs(c_ratio - b_ratio) * cur_ref
    if change > threshold and absolute > noise_floor_s:
        status = "ambiguous" if change <= 2 * threshold else "regressed"
    elif change < -threshold and absolute > noise_floor_s:
        status = "improved"
    else:
        status = "ok"
    return Verdict(name, status, b_ratio, c_ratio, change)


def compare(baseline_path: Path, current_path: Path, threshold: float = 0.10,
            noise_floor_s: float = 0.002, reference: str = "reference") -> GateReport:
    """Judge every benchmark of the current run against the baseline."""
    baseline, current = _load(baseline_path, "baseline"), _load(current_path, "current")
    base, cur = _figures(baseline, reference), _figures(current, reference)
    base_ref = _reference(base, "baseline", baseline_path, reference)
    cur_ref = _reference(cur, "current", current_path, reference)
    report = GateReport(str(baseline_path), str(current_path), cur_ref)
    if _machine(baseline) != _machine(current):
        report.warnings.append(
            f"baseline from another machine ({_machine(baseline)} vs {_machine(current)}): "
            "only the normalised ratios are compared")
    for name, fig in sorted(cur.items()):
        if fig.is_reference:
            continue
        if not fig.equal:
            report.verdicts.append(Verdict(name, "output-changed",
                                           detail="output differs from the reference's"))
            continue
        if name not in base:
            report.verdicts.append(Verdict(name, "new", detail="not in the baseline"))
            continue
        if fig.digest and base[name].digest and fig.digest != base[name].digest:
            report.verdicts.append(Verdict(
                name, "output-changed",
                detail=f"output fingerprint {base[name].digest} -> {fig.digest}"))
            continue
        report.verdicts.append(_judge(name, base[name].seconds, fig.seconds,
                                      base[base_ref].seconds, cur[cur_ref].seconds,
                                      threshold, noise_floor_s))
    for name in sorted(set(base) - set(cur)):
        if not base[name].is_reference:
            report.verdicts.append(Verdict(name, "missing", detail="in the baseline, not in "
                                                                   "this run"))
    return report


def rerun(report: GateReport, baseline_path: Path, current_path: Path, threshold: float,
          noise_floor_s: float, reference: str = "reference", timeout_s: float = 3600
          ) -> GateReport:
    """Run the ambiguous benchmarks again (with the reference, in one pytest run, with the
    suite's options as recorded in the current JSON) and judge each by the better of its
    two normalised times: still beyond the threshold means regressed, else ok."""
    ambiguous = report.ambiguous
    if not ambiguous:
        return report
    suite = _load(current_path, "current").get("suite")
    if not suite:  # not written by the suite: nothing records how to re-run it
        return report
    print("re-running " + ", ".join(v.name for v in ambiguous), flush=True)
    rerun_json = current_path.with_name(current_path.stem + "-rerun.json")
    cmd = [sys.executable, "-m", "pytest", report.reference, *[v.name for v in ambiguous],
           *suite.get("options", []), "-q", "-p", "no:cacheprovider",
           "--benchmark-json", str(rerun_json)]
    proc = subprocess.run(cmd, cwd=suite.get("rootdir") or None, capture_output=True,
                          text=True, timeout=timeout_s, check=False)
    if not rerun_json.exists():
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise GateError(f"re-running the ambiguous benchmarks failed (exit {proc.returncode}): "
                        f"{tail}", f"run by hand: {' '.join(cmd)}")
    second = compare(baseline_path, rerun_json, threshold, noise_floor_s, reference)
    again = {v.name: v for v in second.verdicts}
    for i, verdict in enumerate(report.verdicts):
        if verdict.status != "ambiguous":
            continue
        other = again.get(verdict.name)
        if other is None or other.status == "output-changed":
            report.verdicts[i] = other or Verdict(verdict.name, "regressed",
                                                  detail="the re-run did not produce it")
            continue
        best = min((verdict, other), key=lambda v: v.change or 0.0)
        status = "regressed" if (best.change or 0.0) > threshold and best.status != "ok" \
            else "ok"
        report.verdicts[i] = Verdict(verdict.name, status, best.baseline_ratio,
                                     best.current_ratio, best.change, rerun=True)
    return report
