"""The console's WSGI application under /console/: werkzeug's routing, Jinja2 pages,
form actions that call EMR (answered with EMR's own error when it refuses), and JSON under
/console/api/ that the pages poll to refresh their live parts without a reload.

Loopback clients only, like the admin route; a form post must come from the console's own
origin (a page elsewhere cannot make the browser terminate a cluster)."""

from __future__ import annotations

import json
import logging
import mimetypes
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError, ParamValidationError
from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from harness.console import helpers, views
from harness.console.opening import PREFIX
from harness.console.reads import Reads
from harness.net import is_loopback

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
DEFAULT_LOG_BUCKET = "aws-logs-{account}-{region}"

_RULES = Map([
    Rule("/console/", endpoint="clusters"),
    Rule("/console/clusters/new", endpoint="new_cluster", methods=["GET"]),
    Rule("/console/clusters", endpoint="create_cluster", methods=["POST"]),
    Rule("/console/clusters/<cluster_id>", endpoint="cluster"),
    Rule("/console/clusters/<cluster_id>/clone.json", endpoint="clone_json"),
    Rule("/console/clusters/<cluster_id>/steps", endpoint="add_step", methods=["POST"]),
    Rule("/console/clusters/<cluster_id>/terminate", endpoint="terminate", methods=["POST"]),
    Rule("/console/clusters/<cluster_id>/steps/<step_id>", endpoint="step"),
    Rule("/console/clusters/<cluster_id>/steps/<step_id>/cancel", endpoint="cancel_step",
         methods=["POST"]),
    Rule("/console/clusters/<cluster_id>/logs", endpoint="logs"),
    Rule("/console/clusters/<cluster_id>/logs/view", endpoint="log_view"),
    Rule("/console/benchmarks", endpoint="benchmarks"),
    Rule("/console/benchmarks/files/<path:path>", endpoint="benchmark_file"),
    Rule("/console/static/<path:path>", endpoint="static"),
    Rule("/console/api/clusters", endpoint="api_clusters"),
    Rule("/console/api/clusters/<cluster_id>", endpoint="api_cluster"),
    Rule("/console/api/clusters/<cluster_id>/steps/<step_id>", endpoint="api_step"),
], strict_slashes=False)


def _templates() -> Environment:
    env = Environment(loader=PackageLoader("harness.console", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["span"] = helpers.span
    env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M:%S UTC") if d else "-"
    env.filters["pretty"] = lambda v: json.dumps(v, indent=2, default=str)
    env.globals["prefix"] = PREFIX
    env.globals["states"] = helpers.CLUSTER_STATES
    env.globals["actions_on_failure"] = helpers.ACTIONS_ON_FAILURE
    return env


class Console:
    """One endpoint's console: its pages read and write through that endpoint's EMR and
    S3 APIs (`Reads`, made at the first request, when the server's port is known)."""

    def __init__(self, work_dir: Callable[[], Path], region: str) -> None:
        self._work_dir, self.region = work_dir, region
        self.templates = _templates()
        self._reads: Reads | None = None
        self._lock = threading.Lock()
        self._account: str | None = None

    def reads(self, request: Request | None = None, port: int | None = None) -> Reads:
        with self._lock:
            if self._reads is None:
                port = port or int(request.environ.get("SERVER_PORT", 4566) if request
                                   else 4566)
                self._reads = Reads(f"http://127.0.0.1:{port}", self.region, self._work_dir())
            return self._reads

    def warm(self, port: int) -> None:
        """Make the boto3 clients and load the templates in the background once the server
        is bound (a third of a second that the first page would otherwise wait for)."""
        def work() -> None:
            import harness.cluster.base  # noqa: F401 - the local nodes' records
            import harness.cost.estimate  # noqa: F401 - a cluster's cost
            from harness.console.reads import spark_version

            self.reads(port=port)
            self._account_id()
            spark_version("emr-7.12.0")  # reads the runtimes' catalog
            for name in ("clusters.html", "cluster.html", "step.html", "new_cluster.html"):
                self.templates.get_template(name)

        threading.Thread(target=work, daemon=True, name="console-warm").start()

    def close(self) -> None:
        if self._reads is not None:
            self._reads.close()

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        started = time.perf_counter()
        try:
            if not is_loopback(request.remote_addr or ""):
                response = Response("the console answers loopback clients only", 403)
            elif request.method == "POST" and not self._same_origin(request):
                response = Response("a console action must come from the console's own page",
                                    403)
            else:
                adapter = _RULES.bind_to_environ(environ)
                endpoint, args = adapter.match()
                response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as exc:
            response = exc.get_response(environ)
        except ClientError as exc:  # a cluster or step EMR does not know
            response = self.page("error.html", 404 if _not_found(exc) else 400,
                                 error=_emr_error(exc))
        except Exception as exc:  # noqa: BLE001 - a fault of the console's, said on the page
            log.exception("console page %s failed", request.path)
            response = self.page("error.html", 500, error=f"{type(exc).__name__}: {exc}")
        # the server's own time for the page, as browsers' devtools show it
        ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"console;dur={ms:.1f}"
        response.headers["Cache-Control"] = "no-store"
        return response(environ, start_response)

    @staticmethod
    def _same_origin(request: Request) -> bool:
        origin = request.headers.get("Origin")
        if request.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none"):
            return False
        return origin is None or urlsplit(origin).netloc == request.host

    def page(self, template: str, code: int = 200, **context: Any) -> Response:
        html = self.templates.get_template(template).render(**context)
        return Response(html, code, mimetype="text/html")

    def fragments(self, template: str, **context: Any) -> dict[str, str]:
        """The live parts of a page (the template's `live_*` macros), rendered again."""
        module = self.templates.get_template(template).make_module(context)
        return {name.removeprefix("live_"): str(getattr(module, name)())
                for name in dir(module) if name.startswith("live_")}

    @staticmethod
    def json(data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data, default=str), status, mimetype="application/json")

    # -- clusters ----------------------------------------------------------------------------

    def _clusters(self, request: Request) -> dict[str, Any]:
        state = request.args.get("state", "")
        if state == "ACTIVE":
            states = sorted(helpers.ACTIVE_CLUSTER_STATES)
        elif state:
            if state not in helpers.CLUSTER_STATES:
                raise _BadRequest(f"state {state!r} is not one of ACTIVE, "
                                  f"{', '.join(helpers.CLUSTER_STATES)}")
            states = [state]
        else:
            states = None
        rows = views.cluster_rows(self.reads(request).clusters(states))
        return {"rows": rows, "state": state,
                "active": any(r["state"] in helpers.ACTIVE_CLUSTER_STATES for r in rows)}

    def on_clusters(self, request: Request) -> Response:
        return self.page("clusters.html", **self._clusters(request))

    def on_api_clusters(self, request: Request) -> Response:
        context = self._clusters(request)
        # the list keeps refreshing: a cluster created elsewhere appears in it
        return self.json({"fragments": self.fragments("live_clusters.html", **context),
                          "active": True})

    def on_cluster(self, request: Request, cluster_id: str, **extra: Any) -> Response:
        context = views.cluster_page(self.reads(request), cluster_id)
        return self.page("cluster.html", code=extra.pop("code", 200), **context,
                         **extra)

    def on_api_cluster(self, request: Request, cluster_id: str) -> Response:
        context = views.cluster_page(self.reads(request), cluster_id)
        return self.json({"fragments": self.fragments("live_cluster.html", **context),
                          "active": context["active"],
                          "state": context["status"]["State"]})

    def on_clone_json(self, request: Request, cluster_id: str) -> Response:
        context = views.cluster_page(self.reads(request), cluster_id)
        response = Response(context["clone_json"], mimetype="application/json")
        response.headers["Content-Disposition"] = f'attachment; filename="{cluster_id}.json"'
        return response

    def on_new_cluster(self, request: Request, **extra: Any) -> Response:
        from harness.runtimes.catalog import catalog

        clone = request.args.get("clone")
        pasted = extra.pop("pasted", None)
        if pasted is None and clone:
            pasted = views.cluster_page(self.reads(request), clone)["clone_json"]
        return self.page("new_cluster.html", code=extra.pop("code", 200),
                         labels=sorted(catalog(), reverse=True), pasted=pasted or "",
                         form=extra.pop("form", {}), mode=extra.pop("mode", "form"),
                         log_uri=self._default_log_uri(request), **extra)

    def _default_log_uri(self, request: Request) -> str:
        """The EMR console's default LogUri: s3://aws-logs-ACCOUNT-REGION/elasticmapreduce/
        (it makes the bucket, and so does this console when the form keeps it)."""
        self.reads(request)
        bucket = DEFAULT_LOG_BUCKET.format(account=self._account_id(), region=self.region)
        return f"s3://{bucket}/elasticmapreduce/"

    def _account_id(self) -> str:
        """The account the endpoint's credentials belong to (STS GetCallerIdentity)."""
        if self._account is None:
            from harness.aws.endpoint import Endpoint

            reads = self.reads()
            sts = Endpoint(url=reads.endpoint_url, region=reads.region).client("sts")
            self._account = sts.get_caller_identity()["Account"]
        return self._account

    def on_create_cluster(self, request: Request) -> Response:
        reads = self.reads(request)
        form = request.form.to_dict()
        mode = form.get("mode", "form")
        try:
            job_flow = helpers.job_flow_from_json(form.get("request", "")) if mode == "json" \
                else helpers.job_flow_from_form(form)
        except helpers.FormError as exc:
            return self.on_new_cluster(request, code=400, error=str(exc), form=form,
                                       mode=mode, pasted=form.get("request"))
        default_logs = self._default_log_uri(request)
        if job_flow.get("LogUri") == default_logs:
            bucket = default_logs.removeprefix("s3://").split("/")[0]
            from harness.aws.s3 import ensure_bucket

            ensure_bucket(reads.s3, bucket, reads.region)
        try:
            cluster_id = reads.emr.run_job_flow(**job_flow)["JobFlowId"]
        except (ClientError, ParamValidationError) as exc:
            # EMR's refusal, or botocore's for a parameter EMR has no such name or type for
            message = _emr_error(exc) if isinstance(exc, ClientError) else str(exc)
            return self.on_new_cluster(request, code=400, error=message, form=form,
                                       mode=mode, pasted=form.get("request")
                                       or json.dumps(job_flow, indent=2))
        return redirect(f"{PREFIX}/clusters/{cluster_id}", 303)

    def on_add_step(self, request: Request, cluster_id: str) -> Response:
        reads = self.reads(request)
        try:
            step = helpers.step_from_form(request.form.to_dict())
            reads.emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[step])
        except helpers.FormError as exc:
            return self.on_cluster(request, cluster_id, code=400, error=str(exc),
                                   step_form=request.form.to_dict())
        except ClientError as exc:
            return self.on_cluster(request, cluster_id, code=400, error=_emr_error(exc),
                                   step_form=request.form.to_dict())
        return redirect(f"{PREFIX}/clusters/{cluster_id}#steps", 303)

    def on_terminate(self, request: Request, cluster_id: str) -> Response:
        try:
            self.reads(request).emr.terminate_job_flows(JobFlowIds=[cluster_id])
        except ClientError as exc:  # e.g. termination protection: EMR's own words
            return self.on_cluster(request, cluster_id, code=400, error=_emr_error(exc))
        return redirect(f"{PREFIX}/clusters/{cluster_id}", 303)

    # -- steps and logs ----------------------------------------------------------------------

    def on_step(self, request: Request, cluster_id: str, step_id: str,
                **extra: Any) -> Response:
        context = views.step_page(self.reads(request), cluster_id, step_id)
        return self.page("step.html", code=extra.pop("code", 200), **context, **extra)

    def on_api_step(self, request: Request, cluster_id: str, step_id: str) -> Response:
        context = views.step_page(self.reads(request), cluster_id, step_id)
        return self.json({"fragments": self.fragments("live_step.html", **context),
                          "active": context["active"], "state": context["row"]["state"]})

    def on_cancel_step(self, request: Request, cluster_id: str, step_id: str) -> Response:
        try:
            answer = self.reads(request).emr.cancel_steps(ClusterId=cluster_id,
                                                          StepIds=[step_id])
        except ClientError as exc:
            return self.on_step(request, cluster_id, step_id, code=400,
                                error=_emr_error(exc))
        info = (answer.get("CancelStepsInfoList") or [{}])[0]
        if info.get("Status") == "FAILED":  # EMR answers a refused cancel in the list
            return self.on_step(request, cluster_id, step_id, code=400,
                                error=f"CancelSteps: {info.get('Reason', 'refused')}")
        return redirect(f"{PREFIX}/clusters/{cluster_id}/steps/{step_id}", 303)

    def on_logs(self, request: Request, cluster_id: str) -> Response:
        reads = self.reads(request)
        prefix = request.args.get("prefix", "")
        fixed = reads.fixed([cluster_id])[cluster_id]
        where, objects = reads.log_objects(fixed.get("LogUri"), cluster_id, prefix)
        return self.page("logs.html", cluster=fixed, where=where, objects=objects,
                         prefix=prefix)

    def on_log_view(self, request: Request, cluster_id: str) -> Response:
        reads = self.reads(request)
        key = request.args.get("key", "")
        fixed = reads.fixed([cluster_id])[cluster_id]
        where, _ = reads.log_objects(fixed.get("LogUri"), cluster_id, "")
        if where is None or not key.startswith(where.key + "/"):
            raise NotFound(f"{key} is not among {cluster_id}'s logs")
        text = reads.log_text(where.bucket, key)
        if text is None:
            raise NotFound(f"s3://{where.bucket}/{key} does not exist")
        return self.page("log_view.html", cluster=fixed, bucket=where.bucket, key=key,
                         log=views.log_lines(text))

    # -- benchmarks and files ----------------------------------------------------------------

    def on_benchmarks(self, request: Request) -> Response:
        return self.page("benchmarks.html", **views.benchmark_runs(self._work_dir()))

    def on_benchmark_file(self, request: Request, path: str) -> Response:
        return _file(self._work_dir(), path)

    def on_static(self, request: Request, path: str) -> Response:
        return _file(STATIC, path)


class _BadRequest(HTTPException):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _file(root: Path, relative: str) -> Response:
    """A file under `root` (never outside it)."""
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise NotFound(f"no file {relative}")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Response(path.read_bytes(), mimetype=mime)


def _emr_error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"


def _not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") in {"ResourceNotFoundException", "NoSuchCluster"} or \
        "does not exist" in error.get("Message", "") or \
        "not valid" in error.get("Message", "")
