"""The `harness` command line: parses arguments and calls into the packages; no logic here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.config import PROFILES, Settings
from harness.errors import HarnessError, UsageError

app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Rehearse and benchmark an EMR Spark pipeline on one machine.",
)
fixtures_app = typer.Typer(no_args_is_help=True, help="Generate workload fixtures.")
app.add_typer(fixtures_app, name="fixtures")
runtimes_app = typer.Typer(no_args_is_help=True, help="Release-label runtimes (Spark, Scala, "
                           "Python an EMR release runs).")
app.add_typer(runtimes_app, name="runtimes")
jvm_app = typer.Typer(no_args_is_help=True, help="The Spark JVMs' class-data-sharing archive.")
app.add_typer(jvm_app, name="jvm")

# Wide enough for the tables when output goes to a file or CI log instead of a terminal.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False,
) -> None:
    """Rehearse and benchmark an EMR Spark pipeline on one machine."""


def _positive(name: str, value: int | None) -> None:
    from harness.config import check_positive

    check_positive(name, value)


def _share(value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"--bad-share must be between 0 and 1, got {value}",
                         "pass e.g. --bad-share 0.02 for 2% bad rows")


@fixtures_app.command("generate")
def fixtures_generate(
    rows: Annotated[int | None, typer.Option(help="fact rows (default 400,000)")] = None,
    seed: Annotated[int | None, typer.Option(help="generator seed (default 42)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="fixture directory")] = None,
    bad_share: Annotated[float | None, typer.Option(help="share of bad rows (0-1)")] = None,
    workload: Annotated[str, typer.Option(help="workload name")] = "cascade",
    force: Annotated[bool, typer.Option(help="regenerate even if cached")] = False,
) -> None:
    """Generate a deterministic fixture (Parquet + CSV + manifest), reusing a cached one."""
    from harness.workloads import get_workload
    from harness.workloads.fixtures import resolve_fixture

    wl = get_workload(workload)
    _positive("--rows", rows or wl.default_rows)
    _share(wl.default_bad_share if bad_share is None else bad_share)
    fixture, reused = resolve_fixture(wl, rows=rows, seed=seed, bad_share=bad_share,
                                      root=Settings().fixtures_dir, out=out_dir, force=force)
    verb = "reused cached" if reused else "generated"
    out.print(f"{verb} fixture {fixture.path} ({fixture.rows:,} {wl.fact_table}, "
              f"seed {fixture.seed})")


@app.command()
def bench(
    rows: Annotated[int | None, typer.Option(help="fact rows to generate (default 400,000)")]
    = None,
    fixture: Annotated[Path | None, typer.Option(help="use this fixture directory")] = None,
    variants: Annotated[str, typer.Option(
        help="comma-separated variants, or 'all' (every one but spark-emr, the job as a step "
             "on a job flow through the local EMR API)")] = "all",
    profile: Annotated[str, typer.Option(help=f"latency profile: {'|'.join(PROFILES)}")]
    = "local",
    db_rtt_ms: Annotated[float | None, typer.Option(help="modelled DB round trip, ms")] = None,
    db_url: Annotated[str | None, typer.Option(help="legacy DB URL (default: SQLite)")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="write results here")] = None,
    sample: Annotated[int | None, typer.Option(
        help="rows for row-at-a-time legacy variants before projecting (0 = all; default "
             "by profile)")] = None,
    seed: Annotated[int | None, typer.Option(help="generator seed")] = None,
    workload: Annotated[str, typer.Option(help="workload name")] = "cascade",
    spark_master: Annotated[str | None, typer.Option(help="Spark master URL")] = None,
    cluster: Annotated[bool, typer.Option(
        "--cluster", help="run Spark on the cluster harness up started")] = False,
    storage: Annotated[str, typer.Option(
        help="where the Spark job reads and writes: local files or s3 (the endpoint)")]
    = "local",
    endpoint_url: Annotated[str | None, typer.Option(
        help="AWS endpoint for --storage s3 and spark-emr (default: harness up's, else one "
             "for the run)")]
    = None,
    release_label: Annotated[str | None, typer.Option(
        help="run the Spark variants on this EMR release's runtime (e.g. emr-7.12.0: Spark "
             "3.5.6); default the harness's own pyspark")] = None,
) -> None:
    """Run the variants side by side on one fixture, prove outputs equal, print timings."""
    from harness.bench import service
    from harness.bench.table import RichProgress, render_table

    outcome = service.bench(service.BenchRequest(
        workload=workload, rows=rows, fixture=fixture, variants=variants, profile=profile,
        db_rtt_ms=db_rtt_ms, db_url=db_url, json_path=json_path, sample=sample, seed=seed,
        spark_master=spark_master, cluster=cluster, storage=storage,
        endpoint_url=endpoint_url, release_label=release_label), Settings(), status=err.status,
        progress=lambda: RichProgress(err))
    out.print(render_table(outcome.report))
    out.print(f"results written to {outcome.json_path}")
    service.check_outputs(outcome.report)


@app.command()
def workloads() -> None:
    """List the workloads available: built-in and installed (entry point harness.workloads)."""
    from harness.workloads import available_workloads

    for name, wl in sorted(available_workloads().items()):
        out.print(f"{name:<16} {wl.description}", markup=False, highlight=False)
    out.print("(any module's workload also works: --workload PKG.MODULE:NAME)")


@app.command()
def up(
    port: Annotated[int, typer.Option(help="endpoint port on 127.0.0.1")] = 4566,
    region: Annotated[str | None, typer.Option(
        help="AWS region the endpoint claims [default: us-east-1]")] = None,
    cluster: Annotated[str | None, typer.Option(
        help="also start a cluster: preset 'small' or an InstanceGroups JSON file")] = None,
    backend: Annotated[str, typer.Option(
        help="cluster backend: process | docker (also where EMR job flows run)")] = "process",
) -> None:
    """Start the local AWS endpoint (moto: S3, EMR, ...) and optionally a cluster, in the
    background. EMR job flows sent to the endpoint start their clusters on --backend."""
    from harness import runtime
    from harness.console.opening import console_url

    settings = Settings()
    if cluster is not None:  # validate before starting anything
        runtime.check_cluster(cluster, backend, settings.cluster_memory_mb, settings.java_home)
    result = runtime.up(settings.work_dir, port, region, backend)
    if result.already_running:
        out.print(f"already running: endpoint {result.endpoint.url}, EMR job flows on "
                  f"{result.emr_backend} (harness down stops it)")
    else:
        out.print(f"endpoint ready on {result.endpoint.url}, EMR job flows on "
                  f"{result.emr_backend}")
    out.print(f"EMR console {console_url(result.endpoint.url or '')} (harness console)",
              markup=False, highlight=False)
    if cluster is not None:
        try:
            running, already = runtime.up_cluster(settings.work_dir, cluster, backend,
                                                  settings.cluster_memory_mb,
                                                  settings.java_home)
        except BaseException:  # all or nothing: no endpoint left from a failed `up`
            if not result.already_running:
                runtime.down(settings.work_dir)
            raise
        if already:
            out.print(f"already running: cluster {running.id} at {running.master_url}")
        else:
            out.print(f"cluster {running.id} ready at {running.master_url} in "
                      f"{running.startup_s} s (UI {running.master_ui_url})")
        _print_cluster(runtime.status(settings.work_dir)["clusters"][-1])
    runtime.hand_over(settings.work_dir)  # from now on the endpoint owns what we started
    out.print("for another shell:")
    print(result.endpoint.exports())


def _print_cluster(data: dict) -> None:
    from rich.table import Table

    runtime = [f"runtime {data['runtime']}"] if data.get("runtime") else []
    table = Table(title=f"cluster {data['id']} ({data['backend']}) {data['master_url']}",
                  caption="; ".join([*runtime, *(data.get("notes") or [])]))
    jobflow = any(n.get("emr_instances") for n in data["nodes"])
    columns = ["name", "role", "instance type", "market", "cores", "memory", "state", "UI"]
    for col in [*columns, "EMR instances"] if jobflow else columns:
        table.add_column(col)
    for n in data["nodes"]:
        worker = n.get("daemon", "worker" if n["role"] != "MASTER" else "master") == "worker"
        row = [n["name"], n["role"], n["instance_type"], n["market"],
               str(n["cores"]) if worker else "-", f"{n['memory_mb']} MB" if worker else "-",
               n["state"], n["ui_url"]]
        table.add_row(*row, *([", ".join(n.get("emr_instances") or [])] if jobflow else []))
    out.print(table)
    for line in data.get("mapping") or []:
        out.print(f"  {line}")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show what `harness up` started: the endpoint and each cluster's nodes."""
    import json

    from harness import runtime

    data = runtime.status(Settings().work_dir)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    endpoint = data["endpoint"]
    if endpoint is None and not data["clusters"]:
        out.print("nothing is running (harness up starts the endpoint)")
        return
    if endpoint is not None:
        out.print(f"endpoint  {endpoint['url']}  {endpoint['provider']}  pid {endpoint['pid']}"
                  f"  {endpoint['state']}")
    for cluster in data["clusters"]:
        _print_cluster(cluster)


@app.command()
def console(
    print_only: Annotated[bool, typer.Option(
        "--print", help="print the URL only, do not open a browser")] = False,
) -> None:
    """Open the local EMR console of the endpoint `harness up` started (clusters, steps and
    their logs, benchmarks); prints its URL where no browser can be opened."""
    from harness.console.opening import open_in_browser, running_console_url

    url = running_console_url(Settings().work_dir)
    if not print_only and open_in_browser(url):
        out.print(f"opened {url}", markup=False, highlight=False)
    else:
        print(url)


@app.command("kill-node")
def kill_node(
    node: Annotated[str, typer.Argument(help="node name, e.g. task-1")],
    notice: Annotated[float, typer.Option(help="seconds of notice before the kill")] = 0.0,
    cluster: Annotated[str | None, typer.Option(
        help="a job flow's cluster id (j-...): the endpoint reclaims its node")] = None,
) -> None:
    """Take a node away the way EC2 reclaims a spot instance (with --notice, the node is
    decommissioned first, so running tasks move)."""
    from harness import runtime

    if cluster is not None and cluster.startswith("j-"):
        done = runtime.reclaim_jobflow_node(Settings().work_dir, cluster, node, notice)
        out.print(f"reclaiming {node} of {cluster} (notice {done['notice_s']:g} s): instances "
                  f"{', '.join(done['instance_ids']) or '-'} end TERMINATED in ListInstances")
        return
    runtime.kill_node(Settings().work_dir, node, notice)
    out.print(f"killed {node}; running jobs re-run its tasks on the remaining nodes")


@app.command()
def down(
    force: Annotated[bool, typer.Option(
        "--force", help="remove job flows' termination protection, then stop them")] = False,
) -> None:
    """Stop everything `harness up` started (termination-protected job flows only with
    --force, as EMR refuses to terminate them)."""
    from harness import runtime

    result = runtime.down(Settings().work_dir, force=force)
    if result.stopped:
        out.print("stopped " + ", ".join(result.stopped))
    elif not result.failed:
        out.print("nothing was running")
    for failure in result.failed:
        err.print(f"error: could not stop {failure}", markup=False, highlight=False,
                  soft_wrap=True)
    if result.failed:
        raise typer.Exit(1)


@fixtures_app.command("upload")
def fixtures_upload(
    to: Annotated[str, typer.Option("--to", help="s3://BUCKET/PREFIX")],
    rows: Annotated[int | None, typer.Option(help="fact rows (default 400,000)")] = None,
    fixture: Annotated[Path | None, typer.Option(help="upload this fixture directory")]
    = None,
    seed: Annotated[int | None, typer.Option(help="generator seed (default 42)")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="AWS endpoint (default: harness "
                                                          "up's)")] = None,
    workload: Annotated[str, typer.Option(help="workload name")] = "cascade",
) -> None:
    """Upload a fixture (generated if needed) to S3, creating the bucket; idempotent."""
    from harness.targets import upload_fixture

    target, created, report = upload_fixture(to, workload=workload, fixture=fixture, rows=rows,
                                             seed=seed, endpoint_url=endpoint_url)
    out.print(f"{'created bucket ' + target.bucket + '; ' if created else ''}"
              f"uploaded {len(report.uploaded)} object(s) ({report.bytes_uploaded:,} bytes), "
              f"skipped {len(report.skipped)} unchanged, to {target}")


@app.command()
def rehearse(
    jobflow: Annotated[Path, typer.Argument(help="run_job_flow request as JSON")],
    upload: Annotated[list[str] | None, typer.Option(
        help="DIR=s3://BUCKET/PREFIX to upload first (repeatable)")] = None,
    endpoint_url: Annotated[str | None, typer.Option(
        help="use this endpoint instead of starting one")] = None,
    timeout: Annotated[float, typer.Option(help="seconds before giving up")] = 3600,
    target: Annotated[str, typer.Option(
        help="local (the rehearsal) or aws (the real run, with your credentials)")] = "local",
    region: Annotated[str | None, typer.Option(help="AWS region for --target aws")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask before a real AWS run")]
    = False,
    hours: Annotated[float, typer.Option(
        help="hours to price the real run at, in the confirmation")] = 1.0,
    reclaim: Annotated[list[str] | None, typer.Option(
        help="NODE@SECONDS: a spot reclaim of NODE that many seconds after the first step "
             "starts (repeatable)")] = None,
    reclaim_notice: Annotated[float | None, typer.Option(
        help="seconds of interruption notice (default: EC2's 2 minutes, time-scaled)")]
    = None,
) -> None:
    """Run an EMR job flow unchanged on the local endpoint and cluster (or, with --target
    aws, on real EMR after showing its cost); exit 0 only when every step completed."""
    from rich.table import Table

    from harness.cost.quote import quote_real_run, run_cost_line
    from harness.emr import rehearse as rh

    settings = Settings()
    request = rh.load_job_flow(jobflow)  # EMR's validation, before anything starts
    rh.check_target(target)
    reclaims = [rh.parse_reclaim(spec) for spec in reclaim or []]
    if reclaims and target != "local":
        raise UsageError("--reclaim rehearses a spot loss locally; EC2 reclaims real "
                         "instances by itself", "drop --reclaim with --target aws")
    real = None
    if target == "aws":
        real = rh.real_aws(region)
        quote = quote_real_run(request, real.region, hours)
        _print_estimate(quote.estimate)
        out.print(quote.message)
        if not yes and not rh.confirm("Proceed?"):
            raise UsageError("not confirmed, nothing was sent to AWS", "answer y, or pass --yes")
    with rh.target_endpoint(real, endpoint_url,
                            log=settings.work_dir / "logs" / "rehearse-endpoint.log",
                            on_start=lambda: err.print("starting the local endpoint ...")
                            ) as endpoint:
        for spec in upload or []:
            out.print(f"uploaded {rh.upload(endpoint, spec)}")
        result = rh.rehearse(endpoint, request, on_event=lambda line: out.print(line),
                             timeout_s=timeout, reclaims=reclaims,
                             reclaim_notice_s=reclaim_notice)
    table = Table(title=f"job flow {result.cluster_id}: {result.state} ({result.state_reason})")
    for col in ("step", "state", "seconds", "logs", "reason"):
        table.add_column(col)
    for step in result.steps:
        table.add_row(step.name, step.state,
                      "-" if step.seconds is None else f"{step.seconds:.1f}",
                      step.logs or "-", step.reason or "")
    out.print(table)
    if result.seconds_to_ready is not None:
        out.print(f"run_job_flow to ready: {result.seconds_to_ready:.1f} s")
    if result.outputs:
        out.print(f"{len(result.outputs)} object(s) written, e.g. "
                  + ", ".join(result.outputs[:3]))
    for note in result.notes:
        out.print(f"note: {note}")
    out.print(run_cost_line(request, result.seconds_total, result.step_seconds,
                            endpoint.region))
    rh.check_completed(result)


@app.command()
def cost(
    jobflow: Annotated[Path, typer.Argument(help="run_job_flow JSON (or InstanceGroups)")],
    hours: Annotated[float | None, typer.Option(help="how long the cluster runs")] = None,
    seconds: Annotated[float | None, typer.Option(help="the same, in seconds")] = None,
    region: Annotated[str, typer.Option(help="AWS region for prices")] = "us-east-1",
    spot_model: Annotated[Path | None, typer.Option(help="JSON overriding spot terms")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Price a job flow's instance groups: on-demand vs spot, per group and in total."""
    import json

    from harness.cost import estimate, instance_groups

    if (hours is None) == (seconds is None):
        raise UsageError("give exactly one of --hours and --seconds", "e.g. --hours 1.5")
    duration = seconds if seconds is not None else (hours or 0.0) * 3600
    try:
        request = json.loads(jobflow.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read the job flow {jobflow}: {exc}", "pass a JSON file") \
            from None
    result = estimate(instance_groups(request, region, spot_model), duration, region, spot_model)
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        return
    _print_estimate(result)


def _print_estimate(result) -> None:  # noqa: ANN001
    from rich.table import Table

    table = Table(title=f"cost in {result.region}, billed {result.groups[0].billed_seconds} s "
                        "per instance (per-second billing, 60 s minimum)",
                  caption="USD; spot = EC2 spot price (modelled discount) + EMR charge")
    for col in ("group", "role", "type", "count", "market", "on-demand $", "spot $",
                "interruptions/month"):
        table.add_column(col)
    for g in result.groups:
        table.add_row(g.name, g.role, g.instance_type, str(g.count), g.market,
                      f"{g.on_demand:.4f}", f"{g.spot:.4f}", f"{g.interruption_rate:.0%}")
    out.print(table)
    out.print(f"on-demand total ${result.on_demand_total:.4f}; as written (its SPOT groups "
              f"on spot) ${result.spot_total:.4f}; everything on spot "
              f"${result.all_spot_total:.4f}")


@app.command()
def plan(
    rows: Annotated[int, typer.Option(help="target volume (rows)")],
    from_json: Annotated[list[Path], typer.Option(
        "--from", help="bench JSON with a verified Spark run (repeat for several sizes)")],
    region: Annotated[str, typer.Option(help="AWS region for prices")] = "us-east-1",
    plot_path: Annotated[Path | None, typer.Option("--plot", help="write a PNG here")]
    = None,
    check: Annotated[Path | None, typer.Option(
        help="bench JSON of a real run at --rows: report the projection's error")] = None,
    legacy_from: Annotated[Path | None, typer.Option(
        help="bench JSON whose baseline legacy result gives the legacy job's rate")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Project run time and cost at a target volume on candidate EMR clusters."""
    import json

    from rich.table import Table

    from harness.bench import plan as pl

    _positive("--rows", rows)
    made = pl.make_plan(rows, from_json, region, check, legacy_from, plot_path)
    data, model, legacy, checked = made.data, made.model, made.legacy, made.checked
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table(title=f"projected for {rows:,} rows in {region} (PROJECTED, not measured)",
                  caption=data["model"]["assumptions"])
    for col in ("cluster", "cores", "job min", "billed min", "on-demand $", "as written $"):
        table.add_column(col)
    for p in made.projections:
        table.add_row(p.name, str(p.cores), f"{p.job_s / 60:.2f}", f"{p.billed_s / 60:.1f}",
                      f"{p.on_demand:.3f}", f"{p.as_written:.3f}")
    if legacy:
        table.add_row(f"legacy {legacy['variant']}, 1 x m5.xlarge host", "1",
                      f"{legacy['seconds'] / 60:,.1f}", f"{legacy['seconds'] / 60:,.1f}",
                      f"{legacy['cost']:.3f}", "-")
    out.print(table)
    out.print(f"fit from {len(made.points)} measured size(s): fixed {model.fixed_s:.1f} s + "
              f"{model.per_row_core_s * 1e6:.2f} us per row per core, session start "
              f"{model.session_s:.1f} s" + (f"; largest residual {model.max_error:.1%}"
                                             if model.max_error is not None else ""))
    if checked:
        out.print(f"check against the real run at {rows:,} rows: projected "
                  f"{checked['predicted_s']} s, measured {checked['actual_s']} s, error "
                  f"{checked['error']:+.1%}")


@app.command()
def gate(
    baseline: Annotated[list[Path], typer.Option(
        help="stored pytest-benchmark JSON, or a directory of runs of the same suite "
             "(each benchmark's noise band is their spread); repeat for several")],
    current: Annotated[Path | None, typer.Option(
        help="this run's pytest-benchmark JSON (not with --spreads)")] = None,
    threshold: Annotated[float, typer.Option(help="allowed slowdown, percent")] = 10.0,
    noise_floor_ms: Annotated[float, typer.Option(help="ignore changes below this")] = 2.0,
    reference: Annotated[str | None, typer.Option(
        help="node id (or name) of the reference benchmark; default: the one the suite "
             "recorded in its JSON (suite.reference)")] = None,
    normalise: Annotated[str, typer.Option(
        help="the figure compared: raw seconds, seconds over the run's reference, or over "
             "each benchmark's paired reference (raw | reference | paired)")] = "raw",
    allow_new: Annotated[bool, typer.Option(
        help="let benchmarks the baseline lacks pass (reported as new)")] = False,
    rerun: Annotated[bool, typer.Option(help="re-run benchmarks found slower before deciding")]
    = True,
    spreads: Annotated[bool, typer.Option(
        help="print each benchmark's spread over the baseline runs, raw, over the reference "
             "and over its paired reference, and exit")] = False,
) -> None:
    """Fail when a benchmark regressed, its output changed, it has no measured figure, or it
    is missing from the run (or new, without --allow-new); a benchmark found slower is re-run
    first and judged by its better run (without a re-run, a change under twice the
    threshold is ambiguous: exit 3)."""
    from harness.bench import gate as gating
    from harness.verdicts import record_verdict

    if spreads:
        table, ref = gating.spreads(baseline, reference)
        runs = len(gating.baseline_files(baseline))
        for line in gating.format_spreads(table, ref, runs):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
        return
    if current is None:
        raise UsageError("--current is missing", "pass --current RUN.json (or --spreads)")
    label = ", ".join(str(p) for p in baseline)
    report = gating.compare(baseline, current, threshold / 100, noise_floor_ms / 1000,
                            reference, normalise, allow_new)
    if rerun and report.slower:
        report = gating.rerun(report, baseline, current, threshold / 100,
                              noise_floor_ms / 1000)
    for warning in report.warnings:
        out.print(f"warning: {warning}", markup=False)
    for verdict in report.verdicts:
        out.print(verdict.line(), markup=False, highlight=False, soft_wrap=True)
    for problem in report.problems:
        out.print(f"failed: {problem}", markup=False, highlight=False, soft_wrap=True)
    outcome = "failed" if report.failed or report.problems else \
        "ambiguous" if report.ambiguous else "passed"
    record_verdict(Settings().work_dir, report, outcome)
    if report.failed or report.problems:
        raise gating.GateFailed(f"gate failed against {label}: {report.summary()}",
                                "see the lines above: which benchmark, and why")
    if report.ambiguous:
        out.print("ambiguous: re-run " + ", ".join(v.name for v in report.ambiguous)
                  + " before deciding", markup=False)
        raise typer.Exit(3)
    widened = [v for v in report.verdicts if v.threshold is not None]
    if widened:
        out.print(f"{len(widened)} benchmark(s) judged at a threshold widened by their "
                  "baseline runs' spread (shown above)", markup=False)
    judged = sum(1 for v in report.verdicts if v.status != "new")
    out.print(f"gate passed against {label} ({judged} benchmarks judged, normalisation "
              f"{report.normalise})", markup=False, highlight=False)


@app.command()
def report(
    json_files: Annotated[list[Path], typer.Option(
        "--json", help="pytest-benchmark JSON (--benchmark-json) or harness bench --json "
                       "output; repeat for several")],
    out_dir: Annotated[Path, typer.Option("--out", help="directory for index.html, "
                                                        "report.json and the PNGs")],
    project_rows: Annotated[list[int] | None, typer.Option(
        "--project", help="also project to this many rows (400,000 and 40,000,000 always)")]
    = None,
) -> None:
    """Write an HTML page, PNG plots and report.json from benchmark JSON: time, rows/s and
    speed-up vs rows, the fixed + per-row fit with projections, and the crossover."""
    from harness.bench import report_analysis, report_writer, results

    built = report_analysis.build(results.load(json_files), project_rows)
    written = report_writer.write(built, out_dir)
    for warning in built.warnings:
        out.print(f"warning: {warning}", markup=False, highlight=False)
    for w in built.workloads:
        out.print(f"{w.workload}: {w.headline()}", markup=False, highlight=False)
    out.print(f"wrote {out_dir / 'index.html'} ({len(written)} files)", markup=False,
              highlight=False)


@app.command("spark-job")
def spark_job(
    input_uri: Annotated[str, typer.Option("--input", help="fixture root: local path, "
                                                            "file://, s3:// or s3a://")],
    output_uri: Annotated[str, typer.Option("--output", help="where outputs are written")],
    workload: Annotated[str, typer.Option(help="workload name")] = "cascade",
    cluster: Annotated[bool, typer.Option("--cluster", help="on harness up's cluster")]
    = False,
    endpoint_url: Annotated[str | None, typer.Option(help="AWS endpoint for s3:// URIs")]
    = None,
) -> None:
    """Run a workload's Spark job once, on local files or s3:// URIs, as spark-submit would."""
    from harness.targets import spark_job as run_spark_job

    run = run_spark_job(workload, input_uri, output_uri, cluster=cluster,
                        endpoint_url=endpoint_url, settings=Settings())
    out.print(f"wrote {run.output_uri} in {run.seconds:.1f} s "
              f"(session start {run.metrics.get('session_start_s')} s, "
              f"job {run.metrics.get('job_s')} s, master {run.master})")


@runtimes_app.command("list")
def runtimes_list() -> None:
    """Every release label the harness knows: Spark, Scala, Python, ANSI, installed?"""
    from harness.runtimes.console import table

    out.print(table())


@runtimes_app.command("install")
def runtimes_install(
    what: Annotated[str, typer.Argument(help="a release label (emr-7.12.0) or Spark version")],
) -> None:
    """Install a release label's runtime now (pyspark from PyPI, S3A jars, the nodes' Python
    environment); cached."""
    from harness.emr.nodeenv import prepare_template
    from harness.runtimes.console import install_with_progress, summary

    installed = install_with_progress(what, err)
    for line in [*summary(installed), prepare_template(installed)]:
        out.print(line, highlight=False)


@jvm_app.command("archive")
def jvm_archive(force: bool = typer.Option(False, help="build it again"),
                release_label: str | None = typer.Option(
                    None, help="the archive of this release's runtime (its job flows' "
                    "Spark daemons map it) instead of the harness's own pyspark")) -> None:
    """Build the class-data-sharing archive of the harness's pyspark (once per Java and
    Spark; Spark drivers, executors and daemons map it and start faster)."""
    from harness.config import Settings
    from harness.runtimes.cds import build_archive

    settings = Settings()
    home = None
    if release_label:
        from harness.runtimes import install, runtime_for

        home = install(runtime_for(release_label)).spark_home
    path, built = build_archive(home, java_home=settings.java_home, force=force)
    typer.echo(f"{'built' if built else 'up to date'}: {path}")


def _reap() -> None:
    """Stop what harness processes killed earlier left behind (harness.procs.reap)."""
    from harness.procs import reap

    try:
        reaped = reap()
    except Exception as exc:  # noqa: BLE001 - never in the way of the command itself
        err.print(f"warning: could not check for processes left by a killed harness: {exc}",
                  markup=False, highlight=False)
        return
    if reaped:
        err.print(f"stopped {len(reaped)} process(es) or cluster(s) left by a harness that "
                  f"was killed: {'; '.join(map(str, reaped))}", markup=False, highlight=False,
                  soft_wrap=True)


def main() -> None:
    from harness.procs import install_signal_handlers

    debug = "--debug" in sys.argv
    install_signal_handlers()
    _reap()
    try:
        # Outside standalone mode click hands back a command's exit code (typer.Exit(3))
        # instead of exiting with it: exit with it here, or `harness gate` says 0.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: unknown option, not a number, ...
        show = getattr(exc, "show", None)
        show() if show else err.print(f"error: {exc.format_message()}", markup=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("interrupted")
        sys.exit(130)
    except HarnessError as exc:
        if debug:
            raise
        err.print(f"error: {exc.one_line()}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug, not bad input: still one line unless --debug
        if debug:
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc} -- rerun with --debug for the "
                  "traceback and report it", markup=False, highlight=False, soft_wrap=True)
        sys.exit(70)


if __name__ == "__main__":
    main()

