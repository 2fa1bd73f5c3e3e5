"""The embedded endpoint: moto's S3, EMR and every other service moto serves on one
127.0.0.1 port, in this process or as `python -m harness.emr.server --port P`.

The composition of moto and the EMR control plane, once per server: moto's own WSGI
application serves every service; for EMR, moto's backend registry is given a BackendDict
of RehearsalEmrBackend bound to this server's ControlPlane (harness.emr.models), whose
urls.py routes EMR's requests to RehearsalEmrResponse. No WSGI layer sits in front of moto;
its dispatcher is derived once, for what its routing does not cover: an unsigned request
that names an EMR operation in X-Amz-Target (moto would send it to S3), and the requests
AWS refuses and moto does not (harness.aws.wire: a signing region AWS does not have, an
invalid bucket name).

The server is bound in the caller's thread, so a taken port fails at once with a clear
error instead of hanging, and served from a background thread until `stop()`.
"""

from __future__ import annotations

import argparse
import errno
import functools
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from harness.aws import wire
from harness.aws.endpoint import DEFAULT_REGION, port_in_use_error
from harness.config import Settings
from harness.emr.controlplane import ControlPlane
from harness.emr.models import RehearsalEmrBackend
from harness.emr.refusals import install_job_run_refusals
from harness.emr.roles import install_default_roles
from harness.errors import EndpointError, HarnessError
from harness.procs import install_signal_handlers, wait_for_stop_signal


def install_emr_backend(plane: ControlPlane) -> Callable[[], None]:
    """Serve EMR from RehearsalEmrBackend bound to `plane` in this process (moto's backend
    registry reads `moto.emr.emr_backends`); returns what restores moto's own."""
    import moto.emr
    from moto.core.base_backend import BackendDict

    original = moto.emr.emr_backends
    moto.emr.emr_backends = BackendDict(RehearsalEmrBackend.bound_to(plane), "emr")

    def restore() -> None:
        moto.emr.emr_backends = original

    return restore


def dispatcher(plane: Callable[[], ControlPlane | None] = lambda: None,
               region: str = DEFAULT_REGION) -> Any:
    """moto's WSGI dispatcher, routing unsigned EMR requests to EMR (see the module doc),
    refusing what AWS refuses (harness.aws.wire), /_harness/ to the admin route
    (harness.emr.admin: spot reclaims of job flows) and unsigned /console/ to the console
    (harness.console: pages over this endpoint's EMR and S3, in `region`, the endpoint's);
    a signed /console is S3's, path-style, for a bucket named `console`."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from harness import console
    from harness.emr import admin
    from harness.emr.responses import ENDPOINT_REGION

    def work_dir() -> Path:
        running = plane()
        return running.work_dir if running is not None else Settings().work_dir

    pages = console.Console(work_dir, region)
    _cache_moto_modules()

    class Dispatcher(DomainDispatcherApplication):
        console = pages

        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            environ[ENDPOINT_REGION] = region  # an unsigned EMR request's (RehearsalEmrResponse)
            path = environ.get("PATH_INFO", "")
            if path.startswith(admin.PREFIX):
                return admin.handle(plane(), environ, start_response)
            if (path == console.PREFIX or path.startswith(console.PREFIX + "/")) \
                    and wire.signing_scope(environ) is None:  # browsers never sign; S3 does
                return pages(environ, start_response)
            refused = wire.refusal(environ)  # what AWS refuses and moto does not
            if refused is not None:
                status, content_type, body = refused
                start_response(f"{status} {HTTPStatus(status).phrase}",
                               [("Content-Type", content_type)])
                return [body.encode()]
            started = time.perf_counter()

            def timed(status: str, headers: list, exc_info: Any = None) -> Any:
                # the endpoint's own time (routing, moto's handler, serializing), which a
                # client can set against its round trip (harness.emr.load)
                ms = (time.perf_counter() - started) * 1000
                return start_response(status, [*headers, ("Server-Timing",
                                                          f"endpoint;dur={ms:.1f}")], exc_info)

            return super().__call__(environ, timed)

        def warm(self, port: int) -> None:
            pages.warm(port)
            threading.Thread(target=warm_backends, args=(region,), daemon=True,
                             name="backends-warm").start()

        def close(self) -> None:
            pages.close()

        def infer_service_region_host(self, environ: dict[str, Any], path: str) -> str | None:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith("ElasticMapReduce.") and not environ.get("HTTP_AUTHORIZATION"):
                return f"elasticmapreduce.{region}.amazonaws.com"  # the endpoint's
            return super().infer_service_region_host(environ, path)

    return Dispatcher(create_backend_app)


def _cache_moto_modules() -> None:
    """moto's dispatcher lists its package directory (an isdir per module, ~150) on every
    request to route it; the list does not change while the server runs."""
    from moto import backends

    if not hasattr(backends.list_of_moto_modules, "cache_info"):
        backends.list_of_moto_modules = functools.cache(
            lambda listed=backends.list_of_moto_modules: tuple(listed()))


# what a job flow's calls create in moto on first use (EMR's own, S3 for its logs, EC2 for
# its instances, IAM and STS for its roles and account)
WARM_SERVICES = (("emr", None), ("s3", "global"), ("ec2", None), ("iam", "global"),
                 ("sts", "global"))


def warm_backends(region: str) -> None:
    """Create moto's backends for the default account before the first job flow needs
    them: each loads botocore's service data (EC2's a quarter second of parsing) under
    moto's one backend lock, which every other request would otherwise wait behind in
    the middle of the run."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    for service, fixed_region in WARM_SERVICES:
        get_backend(service)[DEFAULT_ACCOUNT_ID][fixed_region or region]


class EndpointServer:
    """moto's WSGI application served by werkzeug on host:port from a daemon thread; with
    `emr`, EMR job flows really run (the control plane), else moto's own EMR answers."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, emr: bool = True,
                 region: str = DEFAULT_REGION) -> None:
        self.host, self.requested_port, self.region = host, port, region
        self.emr = emr
        self.plane: ControlPlane | None = None
        self._restore_emr: Callable[[], None] | None = None
        self._restore_elsewhere: Callable[[], None] | None = None
        self._restore_iam: Callable[[], None] | None = None
        self._server = None
        self._app: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EndpointServer:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        app = self._app = dispatcher(lambda: self.plane, self.region)
        try:
            self._server = make_server(self.host, self.requested_port, app, threaded=True,
                                       request_handler=MotoRequestHandler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise port_in_use_error(self.host, self.requested_port) from None
            raise EndpointError(f"cannot bind {self.host}:{self.requested_port}: {exc}",
                                "choose another --port") from None
        if self.emr:  # before the first request: EMR's job flows run on this control plane
            settings = Settings()
            try:
                self.plane = ControlPlane(
                    self.url, settings.work_dir, backend=settings.emr_backend,
                    region=self.region,
                    java_home=settings.java_home,
                    jar_cache=settings.jar_cache,
                    jobflow_memory_mb=settings.emr_jobflow_memory_mb,
                    capacity_mb=settings.emr_capacity_mb,
                    spot_provisioning_s=settings.spot_provisioning_s,
                    time_scale=settings.emr_time_scale,
                    idle_scale=settings.emr_idle_scale,
                    executor_wait_s=settings.emr_executor_wait_s,
                    runtime_cache=settings.runtime_cache)
            except BaseException:
                self.stop()
                raise
            self._restore_emr = install_emr_backend(self.plane)
            # nothing reports success for work that does not run; IAM as EMR's tools find it
            self._restore_elsewhere = install_job_run_refusals()
            self._restore_iam = install_default_roles()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"endpoint-{self.port}")
        self._thread.start()
        app.warm(self.port)
        return self

    def stop(self) -> None:
        if self.plane is not None:
            self.plane.shutdown()
            self.plane = None
        for restore in (self._restore_emr, self._restore_elsewhere, self._restore_iam):
            if restore is not None:
                restore()
        self._restore_emr = self._restore_elsewhere = self._restore_iam = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._app is not None:
            self._app.close()
            self._app = None

    def __enter__(self) -> EndpointServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--region", default=DEFAULT_REGION,
                        help="the endpoint's region: its console's and its job flows' steps'")
    args = parser.parse_args(argv)
    wire.check_region(args.region)  # a UsageError naming it and the nearest AWS has
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except HarnessError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr, flush=True)
        return 2
    install_signal_handlers()
    try:
        server = EndpointServer(args.host, args.port, region=args.region).start()
    except HarnessError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr, flush=True)
        return 98 if "in use" in exc.problem else 1
    try:
        wait_for_stop_signal(lambda: print(f"endpoint ready on {server.url}", flush=True))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
