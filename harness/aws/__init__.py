"""The AWS endpoint: start or attach an emulator, bind boto3 and child processes to it,
and guard local runs from ever reaching real AWS."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.aws.endpoint import (
    DEFAULT_PORT,
    DEFAULT_REGION,
    EmbeddedEndpoint,
    Endpoint,
    attach,
    aws_target,
)
from harness.aws.guard import GuardError, check_local
from harness.errors import EndpointError

__all__ = [
    "DEFAULT_PORT", "DEFAULT_REGION", "EmbeddedEndpoint", "Endpoint", "EndpointError",
    "GuardError", "attach", "aws_target", "check_local", "open_endpoint", "resolve_endpoint",
]


@contextmanager
def open_endpoint(url: str | None, work_dir: Path | None = None, *, start: bool = True,
                  log: Path | None = None, endpoint_work_dir: Path | None = None,
                  on_start: Callable[[], None] | None = None) -> Iterator[Endpoint]:
    """The endpoint for a `with` block: `url` (attached, health-checked), else the one
    `harness up` started in `work_dir` (when given), else, with `start`, an embedded one
    started now and stopped when the block ends; EndpointError when there is none."""
    found = resolve_endpoint(url, work_dir) if url or work_dir is not None else None
    if found is not None:
        yield found
        return
    if not start:
        raise EndpointError("no local AWS endpoint is running",
                            "start one with harness up, or pass --endpoint-url")
    if on_start is not None:
        on_start()
    if endpoint_work_dir is not None:  # where its EMR control plane keeps job flows
        endpoint_work_dir.mkdir(parents=True, exist_ok=True)
    with EmbeddedEndpoint(port=0, work_dir=endpoint_work_dir, log=log) as endpoint:
        yield endpoint


def resolve_endpoint(url: str | None, work_dir, region: str = DEFAULT_REGION) -> Endpoint | None:  # noqa: ANN001
    """The endpoint to use: an explicit URL (attached, health-checked), else the one
    `harness up` started (from the state file), else None."""
    from harness.state import RuntimeState

    if url:
        return attach(url, region)
    state = RuntimeState.load(work_dir)
    record = state.endpoint
    if record is None or not record.alive:
        return None
    return attach(record.url, record.region, provider=record.provider)
