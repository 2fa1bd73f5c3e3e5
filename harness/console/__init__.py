"""The local EMR console: pages under /console/ of the endpoint, modelled on the EMR
console's, that read and write only through the endpoint's own EMR and S3 APIs."""

from harness.console.app import Console
from harness.console.opening import PREFIX, console_url, open_in_browser, running_console_url

__all__ = ["PREFIX", "Console", "console_url", "open_in_browser", "running_console_url"]
