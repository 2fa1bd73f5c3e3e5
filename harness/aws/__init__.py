"""The AWS endpoint: start or attach an emulator, bind boto3 and child processes to it,
and guard local runs from ever reaching real AWS."""

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
    "GuardError", "attach", "aws_target", "check_local", "resolve_endpoint",
]


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
