"""The embedded endpoint: moto's S3 and EMR (and every other service moto serves) on one
127.0.0.1 port, in this process or as `python -m harness.aws.server --port P`.

The server is bound in the caller's thread, so a taken port fails at once with a clear
error instead of hanging, and served from a background thread until `stop()`.
"""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading

from harness.errors import HarnessError


class EndpointError(HarnessError):
    """The AWS endpoint cannot be started, reached or used."""


def port_in_use_error(host: str, port: int) -> EndpointError:
    return EndpointError(
        f"port {port} on {host} is already in use (another harness, LocalStack or moto?)",
        "stop what runs there (harness down), choose another --port, or attach to it with "
        f"--endpoint-url http://{host}:{port}",
    )


class EndpointServer:
    """moto's WSGI application served by werkzeug on host:port from a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, emr: bool = True) -> None:
        self.host, self.requested_port = host, port
        self.emr = emr
        self.plane = None
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EndpointServer:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        api = None
        if self.emr:  # EMR requests go through the control plane, which runs job flows
            from harness.emr.api import EmrApi

            app = api = EmrApi(app, plane=None)
        try:
            self._server = make_server(self.host, self.requested_port, app, threaded=True,
                                       request_handler=MotoRequestHandler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise port_in_use_error(self.host, self.requested_port) from None
            raise EndpointError(f"cannot bind {self.host}:{self.requested_port}: {exc}",
                                "choose another --port") from None
        if api is not None:
            from harness.config import Settings
            from harness.emr.controlplane import ControlPlane

            settings = Settings()
            self.plane = api.plane = ControlPlane(
                self.url, settings.work_dir, backend=settings.emr_backend,
                java_home=settings.java_home,
                jar_cache=settings.jar_cache,
                jobflow_memory_mb=settings.emr_jobflow_memory_mb,
                capacity_mb=settings.emr_capacity_mb)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"endpoint-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.plane is not None:
            self.plane.shutdown()
            self.plane = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> EndpointServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = EndpointServer(args.host, args.port).start()
    except HarnessError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr, flush=True)
        return 98 if "in use" in exc.problem else 1
    print(f"endpoint ready on {server.url}", flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
