"""The PNG plots of `harness report` (matplotlib, Agg): one panel per workload, each titled
with the workload and the machine; projected figures hollow and dashed, measured ones
filled. Drawn from the report's data model only."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness.bench.report_model import INCUMBENT, Report, Row, WorkloadReport
from harness.bench.results import SPARK
from harness.plotting import pyplot

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _rows_label(value: float, digits: int = 6) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


def _colours(w: WorkloadReport) -> dict[str, str]:
    palette = [f"C{i}" for i in range(10)]
    return {s: palette[i % 10] for i, s in enumerate(w.series)}


def _panels(report: Report, path: Path, title: str | Callable[[WorkloadReport], str],
            draw: Callable[[Axes, WorkloadReport], None]) -> Path:
    plt = pyplot()
    n = len(report.workloads)
    fig, axes = plt.subplots(1, n, figsize=(8.5 * n, 5.6), squeeze=False)
    for ax, w in zip(axes[0], report.workloads, strict=True):
        draw(ax, w)
        text = title(w) if callable(title) else title
        ax.set_title(f"{w.workload}: {text}\n({report.machine_label()})", fontsize=11)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _rows_axis(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _rows_label(v)))
    ax.set_xlabel("rows (log scale)")


def _series_lines(ax: Axes, w: WorkloadReport, value: Callable[[Row], float | None],
                  projected: Callable[[Row], bool] = lambda r: r.projected,
                  skip: frozenset[str] = frozenset()) -> None:
    """Each series: measured points filled on a solid line, projected ones hollow on a
    dashed one."""
    from matplotlib.lines import Line2D

    colours = _colours(w)
    for series in w.series:
        if series in skip:
            continue
        pts = [(r.rows, value(r), projected(r)) for r in w.rows
               if r.series == series and value(r)]
        if not pts:
            continue
        c = colours[series]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, ys, "--", color=c, alpha=0.7, linewidth=1.2)
        measured = [(x, y) for x, y, p in pts if not p]
        if measured:
            ax.plot(*zip(*measured, strict=True), "-o", color=c, linewidth=2, markersize=6,
                    label=series)
        hollow = [(x, y) for x, y, p in pts if p]
        if hollow:
            ax.plot(*zip(*hollow, strict=True), "o", color=c, markerfacecolor="white",
                    markersize=7, markeredgewidth=1.6,
                    label=None if measured else f"{series} (projected only)")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="grey", linestyle="--", marker="o",
                          markerfacecolor="white"))
    labels.append("projected (hollow, dashed)")
    ax.legend(handles, labels, fontsize=8, loc="best")


def _metric_vs_rows(report: Report, path: Path, title: str,
                    value: Callable[[Row], float | None], ylabel: str) -> Path:
    def draw(ax: Axes, w: WorkloadReport) -> None:
        _series_lines(ax, w, value)
        _rows_axis(ax)
        ax.set_yscale("log")
        ax.set_ylabel(ylabel)

    return _panels(report, path, title, draw)


def time_vs_rows(report: Report, path: Path) -> Path:
    """Wall time per series against rows, log-log."""
    return _metric_vs_rows(report, path, "time vs rows", lambda r: r.seconds,
                           "wall time, seconds (median, log scale)")


def throughput(report: Report, path: Path) -> Path:
    """Rows per second per series against rows."""
    return _metric_vs_rows(report, path, "throughput vs rows", lambda r: r.rows_per_s,
                           "throughput, rows/s (log scale)")


def speedup(report: Report, path: Path) -> Path:
    """Each series' speed-up over the workload's baseline legacy variant at the same size."""
    def draw(ax: Axes, w: WorkloadReport) -> None:
        base = w.baseline or "baseline"
        own = frozenset(s for s, b in w.baselines.items() if s == b)  # 1x by definition
        used = sorted({b for s, b in w.baselines.items() if s != b})
        if not used:
            ax.text(0.5, 0.5, f"no {base} figures to compare with", ha="center",
                    transform=ax.transAxes)
        _series_lines(ax, w, lambda r: r.speedup, lambda r: r.speedup_projected, own)
        ax.axhline(1.0, color="black", linewidth=1, linestyle=":")
        ax.annotate(f"{' / '.join(used) or base} = 1×", (0.01, 1.0),
                    xycoords=("axes fraction", "data"), fontsize=8, va="bottom")
        _rows_axis(ax)
        ax.set_yscale("log")
        ax.set_ylabel(f"speed-up vs {base} at the same size (×, log scale)")

    return _panels(report, path,
                   lambda w: f"speed-up vs the legacy {w.baseline or 'baseline'} job", draw)


def crossover(report: Report, path: Path) -> Path:
    """The fitted lines of the incumbent and of Spark, and where they cross."""
    import numpy as np

    def draw(ax: Axes, w: WorkloadReport) -> None:
        colours = _colours(w)
        shown = [f for f in w.fits if f.measure == "total"
                 and w.variants[f.series] in (INCUMBENT, *SPARK)]
        crossings = [c for c in w.crossovers if c.rows and c.measure == "total"
                     and c.incumbent == INCUMBENT]
        sizes = [s for f in shown for s in f.fit.sizes]
        if not shown:
            ax.text(0.5, 0.5, "no vectorised or Spark fits in the results", ha="center",
                    transform=ax.transAxes)
            _rows_axis(ax)
            ax.set_ylabel("seconds")
            return
        ax.set_yscale("log")
        lo = min(sizes) / 3
        hi = max([max(report.projection_rows), *(c.rows * 3 for c in crossings)])
        xs = np.logspace(np.log10(lo), np.log10(hi), 200)
        ax.axvspan(min(sizes), max(sizes), color="grey", alpha=0.08,
                   label="measured range")
        for f in shown:
            c = colours[f.series]
            ax.plot(xs, f.fit.fixed_s + f.fit.per_row_s * xs, "-", color=c,
                    label=f"{f.series}: {f.fit.fixed_s:,.3g} s + "
                          f"{f.fit.per_row_s * 1e6:,.3g} µs/row")
            pts = [(r.rows, r.seconds) for r in w.rows if r.series == f.series
                   and r.seconds and not r.projected]
            if pts:
                ax.plot(*zip(*pts, strict=True), "o", color=c)
        notes = []
        for c in crossings:
            fit = w.fit_for(c.incumbent)
            if c.status not in ("overtakes", "falls-behind") or fit is None:
                continue
            ax.axvline(c.rows, color=colours[c.challenger], linestyle=":", linewidth=1)
            ax.plot([c.rows], [fit.fit.seconds(c.rows)], "X", color=colours[c.challenger],
                    markeredgecolor="black", markersize=11)
            notes.append(f"× {c.challenger} = {c.incumbent} at ≈{_rows_label(c.rows, 3)} rows"
                         + (" (projected)" if c.projected else "")
                         + (f"; uncertain: {', '.join(c.unresolved)} per-row cost within "
                            "noise" if c.unresolved else ""))
        notes += [c.sentence() for c in w.crossovers if c.incumbent == INCUMBENT
                  and c.measure == "total" and c.status in ("never", "already-faster")]
        if notes:
            lines = [line for note in notes for line in textwrap.wrap(
                note, 100, subsequent_indent="   ")]
            ax.text(0.02, 0.98, "\n".join(lines), transform=ax.transAxes, fontsize=8,
                    va="top", bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#ccc"})
            bottom, top = ax.get_ylim()
            ax.set_ylim(bottom, top * 10 ** (0.12 * len(lines) + 0.2))  # room for the notes
        _rows_axis(ax)
        ax.set_yscale("log")
        ax.set_ylabel("fitted wall time, seconds (log scale)")
        ax.legend(fontsize=8, loc="lower right")

    return _panels(report, path, "fitted lines and the crossover", draw)


def startup_vs_job(report: Report, path: Path) -> Path:
    """Spark's start-up and job time, stacked, per size."""
    def draw(ax: Axes, w: WorkloadReport) -> None:
        colours = _colours(w)
        entries = w.startup_job
        if not entries:
            ax.text(0.5, 0.5, "no Spark start-up / job figures in the results", ha="center",
                    transform=ax.transAxes)
            ax.set_xlabel("rows")
            ax.set_ylabel("seconds")
            return
        series = [s for s in w.series if any(e["variant"] == s for e in entries)]
        sizes = sorted({e["rows"] for e in entries})
        width, top = 0.8 / len(series), 0.0
        for i, s in enumerate(series):
            c = colours[s]
            for j, n in enumerate(sizes):
                e = next((e for e in entries if e["variant"] == s and e["rows"] == n), None)
                if e is None:
                    continue
                x = j - 0.4 + width * (i + 0.5)
                start = e["startup_s"] or 0.0
                shared = " (one cold start, all sizes)" if e["startup_shared"] else ""
                ax.bar(x, start, width * 0.95, color=c, alpha=0.35, hatch="//",
                       edgecolor=c, label=f"{s}: start-up{shared}" if j == 0 else None)
                top = max(top, start + e["job_s"])
                ax.bar(x, e["job_s"], width * 0.95, bottom=start, color=c,
                       label=f"{s}: job" if j == 0 else None)
        ax.set_xticks(range(len(sizes)), [f"{_rows_label(n)} rows" for n in sizes])
        ax.set_xlabel("rows")
        ax.set_ylabel("seconds (start-up below, job above)")
        ax.set_ylim(0, top * 1.45)  # room for the legend above the bars
        ax.legend(fontsize=8, ncol=2, loc="upper left")

    return _panels(report, path, "Spark start-up vs job time", draw)


def phases(report: Report, path: Path) -> Path:
    """Where a Spark run's time goes: one stacked bar per platform and size, a colour per
    phase (harness.phases), in the order the run passes them."""
    from harness.phases import ordered

    def draw(ax: Axes, w: WorkloadReport) -> None:
        entries = w.phases
        if not entries:
            ax.text(0.5, 0.5, "no phases in the results (recorded since the phases change)",
                    ha="center", transform=ax.transAxes)
            ax.set_xlabel("seconds")
            return
        names = list(ordered({k: 0.0 for e in entries for k in e["phases"]}))
        colours = {n: f"C{i % 10}" for i, n in enumerate(names)}
        hatches = {n: "//" if i >= 10 else "" for i, n in enumerate(names)}
        labels = [f"{e['variant']}, {_rows_label(e['rows'])} rows" for e in entries]
        seen: set[str] = set()
        for y, e in enumerate(entries):
            left = 0.0
            for n in names:
                value = e["phases"].get(n)
                if not value:
                    continue
                ax.barh(y, value, 0.6, left=left, color=colours[n], hatch=hatches[n],
                        edgecolor="white", label=n if n not in seen else None)
                seen.add(n)
                left += value
            ax.text(left, y, f" {left:.1f} s", va="center", fontsize=8)
        ax.set_yticks(range(len(entries)), labels, fontsize=8)
        ax.set_ylim(len(entries) - 0.4 + 0.25 * (len(names) // 4 + 1), -0.5)  # legend below
        ax.set_xlabel("seconds (phases of one run, medians)")
        ax.set_xlim(0, max(sum(e["phases"].values()) for e in entries) * 1.15)
        ax.legend(fontsize=7, ncol=4, loc="lower right")

    return _panels(report, path, "where a Spark run's time goes", draw)


def write_all(report: Report, out: Path) -> list[Path]:
    """Every plot of the report, as PNG files under `out`."""
    return [time_vs_rows(report, out / "time_vs_rows.png"),
            throughput(report, out / "throughput.png"),
            speedup(report, out / "speedup.png"),
            crossover(report, out / "crossover.png"),
            startup_vs_job(report, out / "startup_vs_job.png"),
            phases(report, out / "phases.png")]
