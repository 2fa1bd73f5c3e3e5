"""The local EMR console: pages under /console/ of the endpoint, modelled on the EMR
console's, that read and write only through the endpoint's own EMR and S3 APIs."""

from harness.console.app import PREFIX, Console


def console_url(endpoint_url: str) -> str:
    """Where an endpoint serves its console."""
    return endpoint_url.rstrip("/") + PREFIX + "/"


__all__ = ["PREFIX", "Console", "console_url"]
