"""Finding the telling lines in a log: the one heuristic every error message uses to quote
a failed job, node or step (spark-submit's output, a Spark daemon's log, a container's).

A line "looks like an error" when it carries one of ERROR_MARKERS: log4j's ERROR level,
a Java or Python exception or error class (`...Exception`, `...Error`), a command-line
tool's `error:`, a FAILED status. The excerpt is the last few such lines, or the last
lines of the log when none look like an error, joined on one line.
"""

from __future__ import annotations

from pathlib import Path

ERROR_MARKERS = ("ERROR", "Error", "Exception", "error:", "FAILED")
SEPARATOR = " | "


def is_error(line: str) -> bool:
    """Whether a log line looks like an error (see ERROR_MARKERS)."""
    return any(marker in line for marker in ERROR_MARKERS)


def error_excerpt(text: str, lines: int = 3) -> str:
    """The last `lines` lines of `text` that look like errors (else its last lines), on one
    line separated by " | "; '' for an empty log."""
    every = [ln for ln in text.strip().splitlines() if ln.strip()]
    errors = [ln for ln in every if is_error(ln)]
    return SEPARATOR.join((errors or every)[-lines:]).strip()


def tail(path: Path, lines: int = 3, missing: str = "(no log)") -> str:
    """error_excerpt() of a log file; `missing` when it cannot be read."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return missing
    return error_excerpt(text, lines)
