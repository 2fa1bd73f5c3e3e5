"""The HTML page of `harness report`: one self-contained file (inline style) with the runs
and machine, and per workload the table, the scaling fits and the crossovers; the PNGs
(report_plots) sit beside it and are referenced relatively."""

from __future__ import annotations

import html
from pathlib import Path

from harness.bench.report_model import Report, WorkloadReport


def _secs(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 3600:
        return f"{value:,.0f} ({value / 3600:,.1f} h)"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:#.3g}" if value < 1 else f"{value:,.2f}"


def _num(value: float | None, fmt: str = ",.0f") -> str:
    return "—" if value is None else format(value, fmt)


def _mark(text: str, projected: bool) -> str:
    return f'{text} <span class="proj">projected</span>' if projected else text


def _table(head: list[str], body: list[list[str]], cls: str = "") -> str:
    ths = "".join(f"<th>{h}</th>" for h in head)
    trs = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in body)
    return f'<table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>\n{trs}\n</tbody></table>'


def _workload_html(w: WorkloadReport, projection_rows: list[int]) -> str:
    e = html.escape
    body = []
    for r in w.rows:
        verified = ("—" if r.output_equal is None else "equal" if r.output_equal
                    else '<span class="bad">DIFFERS (time withheld)</span>')
        projected = r.projected and r.seconds is not None
        body.append([e(r.series), f"{r.rows:,}", _mark(_secs(r.seconds), projected),
                     _mark(_num(r.rows_per_s), projected),
                     _mark(_num(r.speedup, ",.1f") + ("×" if r.speedup else ""),
                           r.speedup_projected and r.speedup is not None),
                     e(r.basis), verified])
    base = e(w.baseline or "baseline")
    times = _table(["variant", "rows", "seconds (median)", "rows/s",
                    f"speed-up vs {base}", "figure", "output verified"], body, "num")
    times += (f"<p>Speed-up is against {base} at the same size; a legacy variant run under a "
              f"modelled database latency is compared with {base} under the same one. "
              if w.baseline else "<p>No speed-up: no legacy variant's figures name the "
              "workload's baseline. ") + \
        "Rows marked <em>projected (fit)</em> come from the scaling fit below.</p>"
    fit_rows = []
    for f in w.fits:
        at = {p.rows: p for p in f.projections}
        cells = [_mark(_secs(at[n].seconds), at[n].projected) if n in at else "—"
                 for n in projection_rows]
        err = f.fit.max_error
        fit_rows.append([e(f.series), "total" if f.measure == "total" else "job (start-up apart)",
                         ", ".join(f"{n:,.0f}" for n in f.fit.sizes), f"{f.fit.fixed_s:,.2f}",
                         f"{f.fit.per_row_s * 1e6:,.2f}", _secs(f.startup_s),
                         "—" if err is None else f"{err:.1%}", *cells,
                         e("; ".join(f.flags)) or ""])
    fits = _table(["variant", "measure", "sizes fitted (rows)", "fixed s", "per-row µs",
                   "start-up s", "largest residual",
                   *(f"at {n:,} rows" for n in projection_rows), "notes"], fit_rows, "num")
    cross = "".join(f"<li>{e(c.sentence())}</li>" for c in w.crossovers) or \
        f"<li>{e(w.headline())}</li>"
    runtimes = ""
    if w.runtimes:
        runtimes = ("<p>What each Spark series ran on (a series on a release other than the "
                    "run's default runtime is named PLATFORM@LABEL):</p>\n" + _table(
                        ["variant", "runtime"],
                        [[e(s), e(r)] for s, r in w.runtimes.items()]))
    return (f'<section><h2>{e(w.workload)}</h2>\n'
            f'<p class="headline">{e(w.headline())}</p>\n'
            f"<h3>Time, throughput and speed-up</h3>\n{times}\n{runtimes}\n"
            f"<h3>Scaling: seconds = fixed + per-row × rows</h3>\n"
            f"<p>Least squares over the measured sizes; projections from the fitted line are "
            f"marked <span class=\"proj\">projected</span>. Spark's job fit keeps its start-up "
            f"apart as a fixed cost.</p>\n{fits}\n"
            f"<h3>Crossovers</h3>\n<ul>{cross}</ul>\n</section>")


def _machine_html(report: Report) -> str:
    e = html.escape
    body = []
    for r in report.runs:
        m, c = r.machine, r.commit
        commit = (c.get("id") or "—")[:12] + (f" ({c['branch']})" if c.get("branch") else "") \
            + (" dirty" if c.get("dirty") else "")
        body.append([e(Path(r.source).name), e(r.format), e(str(r.datetime or "—")),
                     e(commit), e(str(m.get("cores") or "—")),
                     e(str(m.get("memory_gib") or "—")), e(str(m.get("cpu") or "—")),
                     e(str(m.get("python") or "—")), e(str(m.get("java") or "—")),
                     e(str(m.get("spark") or "—")), e(str(m.get("pyspark") or "—")),
                     e(str(m.get("runtime") or "—"))])
    return _table(["input", "format", "date", "commit", "cores", "memory GiB", "CPU", "Python",
                   "Java", "Spark", "pyspark", "Spark variants' runtime"], body)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f3f3f3; }
table.num td:not(:first-child) { text-align: right; }
.proj { font-size: 0.75em; color: #9a5b00; background: #fff3dd; padding: 0 0.3em;
        border-radius: 3px; }
.bad { color: #b00020; font-weight: bold; }
.headline { font-size: 1.1em; font-weight: 600; }
.warn { color: #9a5b00; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
"""


def render_html(report: Report, images: list[str]) -> str:
    """The self-contained page (inline style; the PNGs beside it, referenced relatively)."""
    e = html.escape
    warnings = "".join(f'<p class="warn">warning: {e(w)}</p>' for w in report.warnings)
    sections = "\n".join(_workload_html(w, report.projection_rows) for w in report.workloads)
    figures = "\n".join(f'<figure><img src="{e(name)}" alt="{e(name)}"></figure>'
                        for name in images)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Benchmark report: {e(", ".join(w.workload for w in report.workloads))}</title>
<style>{_CSS}</style></head><body>
<h1>Benchmark report: {e(", ".join(w.workload for w in report.workloads))}</h1>
<p>Machine: {e(report.machine_label())}. Generated {e(report.generated)}. Figures are medians;
those marked <span class="proj">projected</span> were not measured at that size.</p>
{warnings}
<h2>Runs and machine</h2>
{_machine_html(report)}
{sections}
<h2>Plots</h2>
{figures}
</body></html>
"""
