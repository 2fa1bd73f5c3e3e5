"""The regression gate: judge a pytest-benchmark run of the suite against stored baseline runs.

The gate passes only when it has judged every benchmark:

- a benchmark of the baseline that the run lacks fails (`missing`); a benchmark the baseline
  lacks fails (`new`) unless `--allow-new`; a run that shares no benchmark with the
  baseline (a renamed suite, test or parametrize id) fails as such;
- no figure, no verdict: a benchmark is judged by the suite's own measured time,
  `extra_info.seconds`, and one without it fails (`no-figure`), naming it; pytest-benchmark's
  stats never stand in (for a benchmark that times a cache hit they read as a 100% speed-up);
- a benchmark whose output did not verify in its run (`extra_info.output_equal` false) or
  whose output fingerprint (`extra_info.output_digest`) differs from the baseline's fails
  (`output-changed`) whatever its time.

Which figure is compared (`normalise`):

- `raw`: the seconds themselves;
- `reference`: seconds over the run's reference benchmark, a fixed computation timed in the
  same run (benchmarks/reference.py), named explicitly: `--reference NAME` or the `reference`
  the suite records in its JSON (`suite.reference`), never guessed from names;
- `paired`: seconds over the short fixed computation the suite timed right before that
  benchmark (`extra_info.paired_reference_s`).

Which of the three moves least between quiet runs of the same tree is a question for data,
not for a docstring: `spreads` computes each benchmark's spread, (max - min) / median over a
baseline directory's runs, all three ways. Over the four cascade-2core runs of 2026-11-29,
dividing by the run's reference widened the spread of 29 of 39 benchmarks (median 24.2%
against 21.0% raw); over three back-to-back runs of the current suite (2026-12-02, with
paired figures) the median spread was 23.0% raw, 23.2% over the reference and 29.2% over
the paired reference, raw the smallest for 8 of 23 benchmarks and no way better across the
board. Neither division earns its complexity on this machine, so the default is `raw`
(benchmarks/baselines/README.md has the numbers).

A baseline is one run or several runs of the same suite on the same machine kind (a
directory of JSON files, or --baseline repeated). With several, each benchmark's baseline
figure is the median over its runs and its **noise band** their spread: its threshold is the
larger of --threshold and twice the band. A change counts as a regression only beyond the
threshold *and* an absolute noise floor. Every benchmark found slower is re-run before the
gate decides (`rerun`, in one pytest run with the suite's recorded options) and judged by
the better of its two figures; without a re-run a change between the threshold and twice
it is `ambiguous` (exit 3) rather than failed.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import procs
from harness.bench.results import Benchmark, ResultsError, SuiteRun, read_suite
from harness.errors import HarnessError

NORMALISATIONS = ("raw", "reference", "paired")
DEFAULT_NORMALISATION = "raw"  # decided from back-to-back baseline runs (module docstring)


class GateError(HarnessError):
    """The gate cannot compare (missing or unreadable baseline, no reference, bad option)."""


class GateFailed(HarnessError):
    """The gate judged the run and it failed: a regression, a changed output, a missing,
    new or unmeasured benchmark, or a run that matches nothing in the baseline."""

    exit_code = 1


_UNITS = {"raw": "seconds", "reference": "normalised to the run's reference",
          "paired": "normalised to its paired reference"}


@dataclass
class Verdict:
    name: str
    # ok, regressed, ambiguous, improved, output-changed, new, missing, no-figure
    status: str
    baseline_ratio: float | None = None  # the compared figure (seconds when raw)
    current_ratio: float | None = None
    change: float | None = None  # relative change of the compared figure
    detail: str | None = None
    rerun: bool = False
    threshold: float | None = None  # this benchmark's, where its noise band widened it
    normalise: str = DEFAULT_NORMALISATION

    def line(self) -> str:
        if self.change is None:
            return f"{self.status:<15} {self.name}" + (f": {self.detail}" if self.detail else "")
        figures = (f"{self.baseline_ratio:.3f} s -> {self.current_ratio:.3f} s"
                   if self.normalise == "raw" else
                   f"{_UNITS[self.normalise]} {self.baseline_ratio:.4f} -> "
                   f"{self.current_ratio:.4f}")
        return (f"{self.status:<15} {self.name}: {self.change:+.1%} against the baseline "
                f"({figures})" + (" after a re-run" if self.rerun else "")
                + (f"; threshold {self.threshold:.0%} from the baseline runs' spread"
                   if self.threshold is not None else ""))


@dataclass
class GateReport:
    baseline: str
    current: str
    reference: str | None  # the reference benchmark's node id, when one is named
    normalise: str = DEFAULT_NORMALISATION
    allow_new: bool = False
    verdicts: list[Verdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # failures of the run as a whole (nothing matched: a renamed suite)
    problems: list[str] = field(default_factory=list)
    # how the current run was made (benchmarks/conftest.py records it): what a re-run uses
    suite: dict[str, Any] | None = None
    order: list[str] = field(default_factory=list)  # the current run's benchmarks, as run

    @property
    def failed(self) -> list[Verdict]:
        failing = {"regressed", "output-changed", "missing", "no-figure"}
        if not self.allow_new:
            failing.add("new")
        return [v for v in self.verdicts if v.status in failing]

    @property
    def passed(self) -> bool:
        return not self.failed and not self.problems and not self.ambiguous

    def summary(self, most: int = 5) -> str:
        """What failed, in one line: the run-level problem or the failed benchmarks' names
        (the first few, and how many more)."""
        if self.problems:
            return "; ".join(self.problems)
        names = [v.name for v in self.failed]
        return ", ".join(names[:most]) + (f" and {len(names) - most} more"
                                          if len(names) > most else "")

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
                                "FILE in it (see benchmarks/baselines/README.md)")
            found += runs
        else:
            found.append(path)
    if not found:
        raise GateError("no baseline given", "pass --baseline FILE or DIRECTORY")
    return found


def _load(path: Path, role: str) -> SuiteRun:
    remedy = ("record one with pytest benchmarks --benchmark-json FILE and store it under "
              "benchmarks/baselines/ (see its README)" if role == "baseline" else
              "run the benchmarks with --benchmark-json FILE first")
    try:
        return read_suite(path, role, remedy)
    except ResultsError as exc:
        raise GateError(exc.problem, exc.remedy) from None


def _check_normalise(normalise: str) -> None:
    if normalise not in NORMALISATIONS:
        raise GateError(f"unknown normalisation {normalise!r}",
                        f"pass --normalise {' | '.join(NORMALISATIONS)}")


@dataclass
class _References:
    """The reference benchmark as each run names it (a renamed suite file renames it too)."""

    label: str | None  # the current run's node id for it (else the first run's)
    current: str | None
    baselines: list[str | None]
    warnings: list[str] = field(default_factory=list)


def _resolve_reference(runs: list[SuiteRun], current: SuiteRun | None,
                       reference: str | None, required: bool) -> _References:
    """The reference benchmark: as given, else as the current run (or, without one, the
    baseline runs) recorded it; found in each run by node id, else by its test name. The
    current run must hold it; a baseline run must too where `required` (else it warns)."""
    named = reference or (current.reference if current else None)
    if named is None:
        recorded = {r.reference for r in runs if r.reference}
        if len(recorded) > 1:
            raise GateError(f"the baseline runs name different references "
                            f"({', '.join(sorted(recorded))})", "pass --reference NAME")
        named = next(iter(recorded), None)
    if named is None:
        return _References(None, None, [None] * len(runs))
    remedy = ("pass --reference with a benchmark every run holds (its node id, e.g. "
              "benchmarks/test_suite.py::test_reference_computation)")
    short: str | None = None
    found: list[str | None] = []
    warnings = []
    for i, run in enumerate(([current] if current else []) + runs):
        bench = run.find(named) or (run.find(short) if short else None)
        if bench is None:
            if required or (current is not None and i == 0):
                raise GateError(f"{run.path} has no benchmark {named!r}, the reference",
                                remedy)
            warnings.append(f"{run.path} has no reference benchmark {named!r}")
            found.append(None)
            continue
        if reference and run.reference and run.reference != bench.name:
            raise GateError(f"{run.path} names {run.reference!r} as its reference, not "
                            f"{bench.name!r}", "compare runs of the same suite, or pass "
                            "--reference NAME")
        short = short or bench.short_name
        found.append(bench.name)
    label = next((n for n in found if n), named)
    if current is not None:
        return _References(label, found[0], found[1:], warnings)
    return _References(label, None, found, warnings)


@dataclass
class _Figure:
    """A benchmark's compared figure in one run: seconds over its divisor, or why none."""

    value: float | None
    divisor: float | None  # seconds per unit of `value` (1 when raw)
    missing: str | None  # why there is no figure
    equal: bool
    digest: str | None


def _divisor(run: SuiteRun, bench: Benchmark, normalise: str, reference: str | None
             ) -> tuple[float | None, str | None]:
    if normalise == "raw":
        return 1.0, None
    if normalise == "paired":
        paired = bench.paired_reference_s
        if not paired:
            return None, ("recorded no paired reference time (extra_info.paired_reference_s), "
                          "which --normalise paired divides by")
        return paired, None
    ref = run.find(reference) if reference else None
    seconds = ref.seconds if ref else None
    if not seconds:
        return None, f"the run's reference {reference} recorded no seconds to divide by"
    return seconds, None


def _figures(run: SuiteRun, normalise: str, reference: str | None) -> dict[str, _Figure]:
    figures = {}
    for bench in run.benchmarks:
        if bench.name == reference:
            continue  # the instrument is not a contestant
        seconds = bench.seconds
        if seconds is None:
            figures[bench.name] = _Figure(None, None, "recorded no measured time "
                                          "(extra_info.seconds): no figure, no verdict",
                                          bench.output_equal, bench.output_digest)
            continue
        divisor, why = _divisor(run, bench, normalise, reference)
        figures[bench.name] = _Figure(seconds / divisor if divisor else None, divisor, why,
                                      bench.output_equal, bench.output_digest)
    return figures


@dataclass
class _Baseline:
    """Each benchmark's figure over the baseline runs: median and spread."""

    ratio: float | None  # None: no baseline run has a figure for it
    spread: float  # (max - min) / median over the runs; 0 for one run
    digest: str | None
    missing: str | None = None


def _spread(values: list[float]) -> float:
    mid = statistics.median(values)
    return (max(values) - min(values)) / mid if len(values) > 1 and mid else 0.0


def _judge(name: str, base: _Baseline, cur: _Figure, threshold: float,
           noise_floor_s: float, normalise: str) -> Verdict:
    assert base.ratio is not None and cur.value is not None and cur.divisor is not None
    b_ratio, c_ratio = base.ratio, cur.value
    change = c_ratio / b_ratio - 1
    own = max(threshold, 2 * base.spread)
    # the absolute difference this change means, in seconds of the current run
    absolute = abs(c_ratio - b_ratio) * cur.divisor
    if change > own and absolute > noise_floor_s:
        status = "ambiguous" if change <= 2 * own else "regressed"
    elif change < -own and absolute > noise_floor_s:
        status = "improved"
    else:
        status = "ok"
    return Verdict(name, status, b_ratio, c_ratio, change,
                   threshold=own if own > threshold else None, normalise=normalise)


def _baselines(report: GateReport, runs: list[SuiteRun], normalise: str,
               references: list[str | None]) -> dict[str, _Baseline]:
    values: dict[str, list[float]] = {}
    digests: dict[str, set[str]] = {}
    why: dict[str, str] = {}
    for run, reference in zip(runs, references, strict=True):
        for name, fig in _figures(run, normalise, reference).items():
            values.setdefault(name, [])
            if fig.value is not None:
                values[name].append(fig.value)
            elif fig.missing:
                why.setdefault(name, f"the baseline run {run.path} {fig.missing}")
            if fig.digest:
                digests.setdefault(name, set()).add(fig.digest)
    base: dict[str, _Baseline] = {}
    for name, found in values.items():
        seen = sorted(digests.get(name, ()))
        if len(seen) > 1:
            report.warnings.append(f"the baseline runs disagree on {name}'s output "
                                   f"({', '.join(seen)}): its output is not checked")
        digest = seen[0] if len(seen) == 1 else None
        if not found:
            base[name] = _Baseline(None, 0.0, digest, why.get(name, "no figure"))
            continue
        if name in why:
            report.warnings.append(f"{why[name]}: {name} is judged on the other runs")
        base[name] = _Baseline(statistics.median(found), _spread(found), digest)
    return base


def compare(baseline_paths: Path | Sequence[Path], current_path: Path,
            threshold: float = 0.10, noise_floor_s: float = 0.002,
            reference: str | None = None, normalise: str = DEFAULT_NORMALISATION,
            allow_new: bool = False, only: set[str] | None = None) -> GateReport:
    """Judge every benchmark of the current run against the baseline run(s). `only`
    restricts the verdicts to those benchmarks (a re-run), without the missing/new checks."""
    _check_normalise(normalise)
    paths = baseline_files(baseline_paths)
    runs = [_load(p, "baseline") for p in paths]
    current = _load(current_path, "current")
    refs = _resolve_reference(runs, current, reference, required=normalise == "reference")
    ref = refs.current
    if ref is None and normalise == "reference":
        raise GateError("--normalise reference needs a reference benchmark, and none is named",
                        "pass --reference NAME, or record it in the suite's JSON "
                        "(benchmarks/conftest.py writes suite.reference)")
    if normalise == "reference":
        for run, name in zip([current, *runs], [ref, *refs.baselines], strict=True):
            found = run.find(name) if name else None
            if found is None or not found.seconds:
                raise GateError(f"the reference {name} in {run.path} recorded no seconds",
                                "re-run the suite: test_reference_computation records them")
    report = GateReport(", ".join(str(p) for p in paths), str(current_path), ref, normalise,
                        allow_new, suite=current.suite,
                        order=[b.name for b in current.benchmarks])
    report.warnings += refs.warnings
    base = _baselines(report, runs, normalise, refs.baselines)
    machines = {r.cpu_label() for r in runs}
    if machines != {current.cpu_label()}:
        report.warnings.append(
            f"baseline from another machine ({', '.join(sorted(machines))} vs "
            f"{current.cpu_label()})" + (": raw seconds from different machines differ for "
                                         "reasons other than the code"
                                         if normalise == "raw" else
                                         ": only the normalised figures are compared"))
    cur = _figures(current, normalise, ref)
    for name, fig in sorted(cur.items()):
        if only is not None and name not in only:
            continue
        b = base.get(name)
        if not fig.equal:
            report.verdicts.append(Verdict(name, "output-changed",
                                           detail="output differs from the reference's"))
        elif b is None:
            report.verdicts.append(Verdict(
                name, "new", detail="not in the baseline" +
                (" (allowed by --allow-new)" if allow_new else
                 ": record the baseline again, or pass --allow-new")))
        elif fig.digest and b.digest and fig.digest != b.digest:
            report.verdicts.append(Verdict(
                name, "output-changed", detail=f"output fingerprint {b.digest} -> {fig.digest}"))
        elif fig.value is None:
            report.verdicts.append(Verdict(name, "no-figure", detail=fig.missing))
        elif b.ratio is None:
            report.verdicts.append(Verdict(name, "no-figure", detail=b.missing))
        elif b.ratio <= 0 or fig.value <= 0:
            report.verdicts.append(Verdict(name, "ok", detail="a zero time in the baseline "
                                           "or this run: nothing to compare"))
        else:
            report.verdicts.append(_judge(name, b, fig, threshold, noise_floor_s, normalise))
    if only is not None:
        return report
    missing = sorted(set(base) - set(cur))
    for name in missing:
        report.verdicts.append(Verdict(name, "missing", detail="in the baseline, not in "
                                                               "this run"))
    matched = set(base) & set(cur)
    if not cur:
        report.problems.append(f"{current_path} holds no benchmark to judge")
    elif not matched:
        report.problems.append(
            f"no benchmark of {current_path} is in the baseline ({len(cur)} new, "
            f"{len(missing)} missing): a renamed suite, test, variant or parametrize id? "
            "Record the baseline again if the rename is intended")
    return report


def rerun(report: GateReport, baseline_paths: Path | Sequence[Path], current_path: Path,
          threshold: float, noise_floor_s: float, timeout_s: float = 3600) -> GateReport:
    """Run the benchmarks found slower again (with the reference, in one pytest run, in the
    order the suite ran them, with the suite's options as recorded in the current JSON) and
    judge each by the better of its two figures: still beyond its threshold means
    regressed, else ok."""
    slower = report.slower
    if not slower:
        return report
    suite = report.suite
    if not suite or "options" not in suite:  # nothing records how to re-run it
        report.warnings.append(f"{current_path} has no record of the suite's options "
                               "(not written by benchmarks/test_suite.py): the slower "
                               "benchmarks were not re-run")
        return report
    names = {v.name for v in slower}
    ordered = [n for n in report.order if n in names]
    print("re-running " + ", ".join(ordered), flush=True)
    rerun_json = current_path.with_name(current_path.stem + "-rerun.json")
    rerun_json.unlink(missing_ok=True)  # never judge an earlier re-run's figures
    cmd = [sys.executable, "-m", "pytest", *([report.reference] if report.reference else []),
           *ordered, *suite.get("options", []), "-q", "-p", "no:cacheprovider",
           "--benchmark-json", str(rerun_json)]
    try:
        # owned: on the timeout it gets SIGTERM first, so it stops the clusters it started
        proc = procs.run(cmd, cwd=suite.get("rootdir") or None, capture_output=True,
                         text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise GateError(f"re-running the slower benchmarks took longer than {timeout_s:.0f} s",
                        f"run by hand: {' '.join(cmd)}") from None
    except OSError as exc:  # the recorded root directory is gone, say
        raise GateError(f"cannot re-run the slower benchmarks: {exc}",
                        f"run by hand: {' '.join(cmd)}") from None
    if not rerun_json.exists():
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise GateError(f"re-running the slower benchmarks failed (exit {proc.returncode}): "
                        f"{tail}", f"run by hand: {' '.join(cmd)}")
    second = compare(baseline_paths, rerun_json, threshold, noise_floor_s, report.reference,
                     report.normalise, report.allow_new, only=names)
    again = {v.name: v for v in second.verdicts}
    for i, verdict in enumerate(report.verdicts):
        if verdict.name not in names:
            continue
        other = again.get(verdict.name)
        if other is None or other.change is None:
            report.verdicts[i] = other if other and other.status != "ok" else Verdict(
                verdict.name, "regressed", detail="the re-run did not produce a figure for it")
            continue
        best = min((verdict, other), key=lambda v: v.change or 0.0)
        own = verdict.threshold or threshold
        status = "regressed" if (best.change or 0.0) > own and best.status != "ok" \
            else "ok"
        report.verdicts[i] = Verdict(verdict.name, status, best.baseline_ratio,
                                     best.current_ratio, best.change, rerun=True,
                                     threshold=verdict.threshold, normalise=report.normalise)
    return report


# -- deciding the normalisation from data ----------------------------------------------------

@dataclass
class Spread:
    """One benchmark over a baseline's runs: its median seconds and its spread,
    (max - min) / median, raw, over the run's reference and over its paired reference."""

    name: str
    runs: int
    median_s: float | None
    raw: float | None
    reference: float | None
    paired: float | None

    def of(self, normalise: str) -> float | None:
        return {"raw": self.raw, "reference": self.reference, "paired": self.paired}[normalise]


def spreads(baseline_paths: Path | Sequence[Path], reference: str | None = None
            ) -> tuple[list[Spread], str | None]:
    """Each benchmark's spread three ways over the baseline runs (a mode without its divisor
    in at least two runs has None), and the reference used (None when none is named)."""
    paths = baseline_files(baseline_paths)
    runs = [_load(p, "baseline") for p in paths]
    if len(runs) < 2:
        raise GateError(f"a spread needs two runs or more; {', '.join(map(str, paths))} "
                        "holds one", "record more runs (see benchmarks/baselines/README.md)")
    refs = _resolve_reference(runs, None, reference, required=False)
    per_mode = {mode: [_figures(run, mode, ref) if mode != "reference" or ref else {}
                       for run, ref in zip(runs, refs.baselines, strict=True)]
                for mode in NORMALISATIONS}
    names = sorted({b.name for run in runs for b in run.benchmarks} - set(refs.baselines))
    table = []
    for name in names:
        values = {mode: [f[name].value for f in figs
                         if name in f and f[name].value is not None]
                  for mode, figs in per_mode.items()}
        raw = values["raw"]
        table.append(Spread(name, len(raw), statistics.median(raw) if raw else None,
                            *(_spread(values[m]) if len(values[m]) > 1 else None  # type: ignore[arg-type]
                              for m in NORMALISATIONS)))
    return table, refs.label


def format_spreads(table: list[Spread], reference: str | None, runs: int) -> list[str]:
    """The spreads as lines of text: one per benchmark, then each mode's median spread and
    how often it is the smallest."""
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1%}"

    width = max([len(s.name) for s in table] + [9])
    lines = [f"spread (max - min) / median over {runs} runs; reference: "
             f"{reference or 'none named (pass --reference NAME)'}",
             f"{'benchmark':<{width}}  {'runs':>4}  {'median s':>10}  {'raw':>7}  "
             f"{'/ref':>7}  {'/paired':>7}"]
    for s in table:
        median = "-" if s.median_s is None else f"{s.median_s:.4f}"
        lines.append(f"{s.name:<{width}}  {s.runs:>4}  {median:>10}  {pct(s.raw):>7}  "
                     f"{pct(s.reference):>7}  {pct(s.paired):>7}")
    modes = [m for m in NORMALISATIONS if any(s.of(m) is not None for s in table)]
    # each benchmark's smallest spread among the modes it has all of
    complete = [s for s in table if all(s.of(m) is not None for m in modes)]
    for mode in NORMALISATIONS:
        known = [v for s in table if (v := s.of(mode)) is not None]
        if not known:
            lines.append(f"{mode}: no figures (the runs lack its divisor)")
            continue
        smallest = sum(1 for s in complete
                       if s.of(mode) == min(s.of(m) for m in modes))  # type: ignore[type-var]
        lines.append(f"{mode}: median spread {statistics.median(known):.1%} over "
                     f"{len(known)} benchmarks; the smallest of {', '.join(modes)} for "
                     f"{smallest} of the {len(complete)} that have each")
    return lines
