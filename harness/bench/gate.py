"""The regression gate: compare a pytest-benchmark run with a stored baseline.

Absolute times swing 10-50% between shared CI machines but well under 1% within one job,
so the gate compares each benchmark's time as a ratio to a fixed reference computation
timed in the same run (`variant: reference` in its extra_info, or `reference` in its
name), not seconds. The reference counts by its minimum over rounds (a fixed CPU-bound
computation: its minimum is its cost without interference; its median moved 29% between
two quiet runs on the 2-core machine, its minimum 6%). Every other benchmark counts by its
`extra_info.seconds` when it has one (the suite's own figure: a median over rounds,
excluding set-up and verification) and pytest-benchmark's median otherwise.

A baseline is one run or several runs of the same suite on the same machine kind (a
directory of JSON files, or --baseline repeated). With several, each benchmark's baseline
figure is the median of its runs' normalised times and its **noise band** is their spread
(max - min over the median): a benchmark's threshold is the larger of the --threshold and
twice its band. A single-round Spark job on the cluster moved up to 57% over four quiet
runs on the 2-core machine; a 10% threshold on it would fail every other run, and the gate
says which benchmarks it can only judge coarsely instead.

A change counts as a regression only beyond the threshold *and* an absolute noise floor.
Every benchmark found slower is re-run before the gate decides (`rerun`, with the reference,
in one pytest run), keeping the better of the two normalised times: on the 2-core machine
a single legacy figure came out 65% slow once in four quiet runs and not again, while a
real slowdown is slow both times. Without a re-run, a change between the threshold and
twice it is reported `ambiguous` (exit 3) rather than failed. A benchmark whose
output did not verify (`extra_info.output_equal` false) or whose output fingerprint
(`extra_info.output_digest`) differs from the baseline's fails whatever its time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
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
    threshold: float | None = None  # this benchmark's, where its noise band widened it

    def line(self) -> str:
        if self.change is None:
            return f"{self.status:<15} {self.name}" + (f": {self.detail}" if self.detail else "")
        return (f"{self.status:<15} {self.name}: {self.change:+.1%} against the baseline "
                f"(normalised {self.baseline_ratio:.4f} -> {self.current_ratio:.4f})"
                + (" after a re-run" if self.rerun else "")
                + (f"; threshold {self.threshold:.0%} from the baseline runs' spread"
                   if self.threshold is not None else ""))


@dataclass
class GateReport:
    baseline: str
    current: str
    reference: str
    verdicts: list[Verdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # how the current run was made (benchmarks/test_suite.py records it): what a re-run uses
    suite: dict[str, Any] | None = None

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status in {"regressed", "output-changed"}]

    @property
    def ambiguous(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "ambiguous"]

    @property
    def slower(self) -> list[Verdict]:
        """Benchmarks found slower than their threshold (not those whose output changed):
        what a re-run looks at again."""
        return [v for v in self.verdicts
                if v.status in {"ambiguous", "regressed"} and v.change is not None]


def baseline_files(paths: Path | Sequence[Path]) -> list[Path]:
    """The baseline runs: files as given, a directory's *.json files in name order."""
    found: list[Path] = []
    for path in [paths] if isinstance(paths, Path) else list(paths):
        if path.is_dir():
            runs = sorted(path.glob("*.json"))
            if not runs:
                raise GateError(f"the baseline directory {path} holds no JSON runs",
                                "store runs written by pytest benchmarks --benchmark-json "
                                "FILE in it")
            found += runs
        else:
            found.append(path)
    return found


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
        stats = bench.get("stats") or {}
        is_ref = info.get("variant") == "reference" or reference in name
        seconds = info.get("seconds")
        if is_ref and stats.get("min") is not None:
            seconds = stats["min"]
        figures[name] = Figure(
            float(seconds if seconds is not None else stats["median"]),
            info.get("output_equal") is not False, info.get("output_digest"), is_ref)
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


@dataclass
class _Baseline:
    """Each benchmark's normalised time over the baseline runs: median and spread."""

    ratio: float
    spread: float  # (max - min) / median over the runs; 0 for one run
    digest: str | None


def _judge(name: str, base: _Baseline, cur: float, cur_ref: float, threshold: float,
           noise_floor_s: float) -> Verdict:
    b_ratio, c_ratio = base.ratio, cur / cur_ref
    change = c_ratio / b_ratio - 1
    own = max(threshold, 2 * base.spread)
    # the absolute difference this change means at the current reference's speed
    absolute = abs(c_ratio - b_ratio) * cur_ref
    if change > own and absolute > noise_floor_s:
        status = "ambiguous" if change <= 2 * own else "regressed"
    elif change < -own and absolute > noise_floor_s:
        status = "improved"
    else:
        status = "ok"
    return Verdict(name, status, b_ratio, c_ratio, change,
                   threshold=own if own > threshold else None)


def compare(baseline_paths: Path | Sequence[Path], current_path: Path,
            threshold: float = 0.10, noise_floor_s: float = 0.002,
            reference: str = "reference") -> GateReport:
    """Judge every benchmark of the current run against the baseline run(s)."""
    paths = baseline_files(baseline_paths)
    if not paths:
        raise GateError("no baseline given", "pass --baseline FILE or DIRECTORY")
    runs = [_load(p, "baseline") for p in paths]
    current = _load(current_path, "current")
    cur = _figures(current, reference)
    cur_ref = _reference(cur, "current", current_path, reference)
    ratios: dict[str, list[float]] = {}
    digests: dict[str, set[str]] = {}
    references: set[str] = set()
    for path, data in zip(paths, runs, strict=True):
        figs = _figures(data, reference)
        ref = _reference(figs, "baseline", path, reference)
        references |= {n for n, f in figs.items() if f.is_reference}
        for name, fig in figs.items():
            ratios.setdefault(name, []).append(fig.seconds / figs[ref].seconds)
            if fig.digest:
                digests.setdefault(name, set()).add(fig.digest)
    label = ", ".join(str(p) for p in paths)
    report = GateReport(label, str(current_path), cur_ref, suite=current.get("suite"))
    base: dict[str, _Baseline] = {}
    for name, r in ratios.items():
        mid = statistics.median(r)
        seen = sorted(digests.get(name, ()))
        if len(seen) > 1:
            report.warnings.append(f"the baseline runs disagree on {name}'s output "
                                   f"({', '.join(seen)}): its output is not checked")
        base[name] = _Baseline(mid, (max(r) - min(r)) / mid if len(r) > 1 and mid else 0.0,
                               seen[0] if len(seen) == 1 else None)
    machines = {_machine(d) for d in runs}
    if machines != {_machine(current)}:
        report.warnings.append(
            f"baseline from another machine ({', '.join(sorted(machines))} vs "
            f"{_machine(current)}): only the normalised ratios are compared")
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
        if base[name].ratio <= 0 or cur[cur_ref].seconds <= 0:
            report.verdicts.append(Verdict(name, "ok", detail="a zero time in the baseline "
                                           "or the reference: nothing to compare"))
            continue
        report.verdicts.append(_judge(name, base[name], fig.seconds, cur[cur_ref].seconds,
                                      threshold, noise_floor_s))
    for name in sorted(set(base) - set(cur) - references):
        report.verdicts.append(Verdict(name, "missing", detail="in the baseline, not in "
                                                               "this run"))
    return report


def rerun(report: GateReport, baseline_paths: Path | Sequence[Path], current_path: Path,
          threshold: float, noise_floor_s: float, reference: str = "reference",
          timeout_s: float = 3600) -> GateReport:
    """Run the benchmarks found slower again (with the reference, in one pytest run, with
    the suite's options as recorded in the current JSON) and judge each by the better of its
    two normalised times: still beyond its threshold means regressed, else ok."""
    slower = report.slower
    if not slower:
        return report
    suite = report.suite
    if not suite:  # not written by the suite: nothing records how to re-run it
        report.warnings.append(f"{current_path} has no record of the suite's options "
                               "(not written by benchmarks/test_suite.py): the slower "
                               "benchmarks were not re-run")
        return report
    print("re-running " + ", ".join(v.name for v in slower), flush=True)
    rerun_json = current_path.with_name(current_path.stem + "-rerun.json")
    rerun_json.unlink(missing_ok=True)  # never judge an earlier re-run's figures
    cmd = [sys.executable, "-m", "pytest", report.reference, *[v.name for v in slower],
           *suite.get("options", []), "-q", "-p", "no:cacheprovider",
           "--benchmark-json", str(rerun_json)]
    try:
        proc = subprocess.run(cmd, cwd=suite.get("rootdir") or None, capture_output=True,
                              text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise GateError(f"re-running the slower benchmarks took longer than {timeout_s:.0f} s",
                        f"run by hand: {' '.join(cmd)}") from None
    if not rerun_json.exists():
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise GateError(f"re-running the slower benchmarks failed (exit {proc.returncode}): "
                        f"{tail}", f"run by hand: {' '.join(cmd)}")
    second = compare(baseline_paths, rerun_json, threshold, noise_floor_s, reference)
    again = {v.name: v for v in second.verdicts}
    names = {v.name for v in slower}
    for i, verdict in enumerate(report.verdicts):
        if verdict.name not in names:
            continue
        other = again.get(verdict.name)
        if other is None or other.status == "output-changed":
            report.verdicts[i] = other or Verdict(verdict.name, "regressed",
                                                  detail="the re-run did not produce it")
            continue
        best = min((verdict, other), key=lambda v: v.change or 0.0)
        own = verdict.threshold or threshold
        status = "regressed" if (best.change or 0.0) > own and best.status != "ok" \
            else "ok"
        report.verdicts[i] = Verdict(verdict.name, status, best.baseline_ratio,
                                     best.current_ratio, best.change, rerun=True,
                                     threshold=verdict.threshold)
    return report
