"""The regression gate: compare a pytest-benchmark run with a stored baseline.

Absolute times swing 10-50% between shared CI machines but well under 1% within one job,
so the gate compares each benchmark's median as a ratio to a reference benchmark timed in
the same run (`reference` in its name by default), not seconds. A change counts as a
regression only beyond the relative threshold *and* an absolute noise floor; a change in
the ambiguous band (threshold..2 x threshold) is reported as such, so the caller can run
that benchmark again before failing. A benchmark whose output did not verify
(`extra_info.output_equal` false) fails the gate whatever its time.
"""

from __future__ import annotations

import json
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

    def line(self) -> str:
        if self.change is None:
            return f"{self.status:<15} {self.name}"
        return (f"{self.status:<15} {self.name}: {self.change:+.1%} against the baseline "
                f"(normalised {self.baseline_ratio:.4f} -> {self.current_ratio:.4f})")


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


def _medians(data: dict[str, Any]) -> tuple[dict[str, float], set[str]]:
    medians, broken = {}, set()
    for bench in data["benchmarks"]:
        name = bench.get("fullname") or bench["name"]
        medians[name] = float(bench["stats"]["median"])
        if bench.get("extra_info", {}).get("output_equal") is False:
            broken.add(name)
    return medians, broken


def _machine(data: dict[str, Any]) -> str:
    info = data.get("machine_info", {})
    cpu = info.get("cpu", {})
    return f"{cpu.get('brand_raw', '?')} x{cpu.get('count', '?')}"


def compare(baseline_path: Path, current_path: Path, threshold: float = 0.10,
            noise_floor_s: float = 0.002, reference: str = "reference") -> GateReport:
    """Judge every benchmark of the current run against the baseline."""
    baseline, current = _load(baseline_path, "baseline"), _load(current_path, "current")
    base, _ = _medians(baseline)
    cur, broken = _medians(current)
    report = GateReport(str(baseline_path), str(current_path), reference)
    refs = [n for n in cur if reference in n]
    if not refs or not any(reference in n for n in base):
        raise GateError(f"no benchmark named like {reference!r} in both files to normalise by",
                        "time a fixed reference computation in every run (see benchmarks/)")
    ref = refs[0]
    if _machine(baseline) != _machine(current):
        report.warnings.append(
            f"baseline from another machine ({_machine(baseline)} vs {_machine(current)}): "
            "only the normalised ratios are compared")
    for name, median in sorted(cur.items()):
        if name == ref:
            continue
        if name in broken:
            report.verdicts.append(Verdict(name, "output-changed"))
            continue
        if name not in base:
            report.verdicts.append(Verdict(name, "new"))
            continue
        b_ratio, c_ratio = base[name] / base[ref], median / cur[ref]
        change = c_ratio / b_ratio - 1
        # the absolute difference this change means at the current reference's speed
        absolute = abs(c_ratio - b_ratio) * cur[ref]
        if change > threshold and absolute > noise_floor_s:
            status = "ambiguous" if change <= 2 * threshold else "regressed"
        elif change < -threshold and absolute > noise_floor_s:
            status = "improved"
        else:
            status = "ok"
        report.verdicts.append(Verdict(name, status, b_ratio, c_ratio, change))
    for name in sorted(set(base) - set(cur)):
        report.verdicts.append(Verdict(name, "missing"))
    return report
