"""`harness console`: where the console of the endpoint `harness up` started is, and a
browser opened on it where this machine has a display."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.errors import EndpointError
from harness.state import RuntimeState

PREFIX = "/console"


def console_url(endpoint_url: str) -> str:
    """Where an endpoint serves its console."""
    return endpoint_url.rstrip("/") + PREFIX + "/"


def running_console_url(work_dir: Path) -> str:
    """The console URL of the endpoint `harness up` started; EndpointError when none runs."""
    record = RuntimeState.load(work_dir).endpoint
    if record is None or not record.alive:
        raise EndpointError("no endpoint is running, so there is no console to open",
                            "start one with `harness up` (it prints the console's URL)")
    return console_url(record.url)


def open_in_browser(url: str) -> bool:
    """Open `url` in the user's browser where there is a display to show it (a terminal
    browser would take over the shell): True when one was started."""
    import webbrowser

    graphical = sys.platform in {"darwin", "win32"} or os.environ.get("DISPLAY") \
        or os.environ.get("WAYLAND_DISPLAY")
    if not graphical:
        return False
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False
