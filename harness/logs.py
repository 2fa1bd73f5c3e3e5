"""Finding the telling lines in a log: the one heuristic every error message uses to quote
a failed job, node or step (spark-submit's output, a Spark daemon's log, a container's).

A line "looks like an error" when it carries one of ERROR_MARKERS: log4j's ERROR level,
a Java or Python exception or error class (`...Exception`, `...Error`), a command-line
tool's `error:`, a FAILED status. A line counts as an error only outside a quiet log
record: a log4j record at WARN, INFO or DEBUG level (its header and the stack trace under
it, such as the AWS SDK's WARN about a profiles file) is noise, and so is any stack frame
(`\tat ...`). The excerpt is the last few error lines, or the last lines of the log when
none look like an error, joined on one line.

`failure()` picks the one line that says why a program failed, in this order: the end of
its last uncaught error (a Python traceback's exception line, the Java exception py4j
reports under it, `Exception in thread "main" ...`), else the last ERROR/FATAL record (its
exception line when one follows it), else the last error line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ERROR_MARKERS = ("ERROR", "Error", "Exception", "error:", "FAILED")
SEPARATOR = " | "
QUIET_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "WARNING"}
LOUD_LEVELS = {"ERROR", "FATAL", "SEVERE", "CRITICAL"}
# a log record's header: `25/12/02 10:00:00 WARN Logger: ...` (Spark's log4j),
# `2025-12-02 10:00:00,123 ERROR ...`, `[main] INFO ...`, a bare `INFO ...` (controller)
_RECORD = re.compile(r"^(?:[\d/:.,T+\-]+\s+){0,2}(?:\[[^\]]*\]\s+)?"
                     r"(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE|CRITICAL)\b")
# what a Java stack trace under a record is made of (its exception line, frames, causes)
_EXCEPTION = re.compile(r"^[\w$.]*(?:Exception|Error|Throwable)\b(?::|$)")
_TRACE = re.compile(r"^(?:\s|Caused by: |Suppressed: |\.\.\. \d+ more)")
_FRAME = re.compile(r"^\s*(?:at [\w$.<>/]+\(|\.\.\. \d+ more)")
_TRACEBACK = "Traceback (most recent call last):"
_THREAD = re.compile(r"^Exception in thread \"[^\"]*\" ")


def is_error(line: str) -> bool:
    """Whether a log line looks like an error (see ERROR_MARKERS)."""
    return any(marker in line for marker in ERROR_MARKERS)


def levels(lines: list[str]) -> list[str | None]:
    """The level of the log record each line belongs to (a stack trace belongs to the
    record above it); None for a line outside any record."""
    out: list[str | None] = []
    level = None
    for line in lines:
        record = _RECORD.match(line)
        if record:
            level = record.group(1)
        elif not line.strip() or not (_TRACE.match(line) or _EXCEPTION.match(line)):
            level = None
        out.append(level)
    return out


def error_lines(lines: list[str]) -> list[int]:
    """The indices of the lines that look like errors and belong to no quiet record, stack
    frames left out."""
    return [n for n, (line, level) in enumerate(zip(lines, levels(lines), strict=True))
            if is_error(line) and level not in QUIET_LEVELS and not _FRAME.match(line)]


@dataclass(frozen=True)
class Failure:
    """The line that says why a program failed: its index in the log, its text, and how
    sure the pick is (3: an uncaught error's end, 2: an ERROR record, 1: an error line)."""

    index: int
    line: str
    rank: int


def failure(text: str) -> Failure | None:
    """The line of `text` that says why the program that wrote it failed (see the module's
    docstring); None when no line looks like an error."""
    lines = text.splitlines()
    found = _uncaught(lines)
    rank = 3
    if found is None:
        rank = 2
        loud = [n for n, level in enumerate(levels(lines)) if level in LOUD_LEVELS
                and _RECORD.match(lines[n])]
        if loud:
            found = loud[-1]
            after = found + 1
            if after < len(lines) and _EXCEPTION.match(lines[after]):
                found = after
    if found is None:
        rank = 1
        errors = error_lines(lines)
        found = errors[-1] if errors else None
    if found is None:
        return None
    return Failure(found, lines[found].removeprefix(": ").strip(), rank)


def _uncaught(lines: list[str]) -> int | None:
    """The line ending the last uncaught error: a Python traceback's exception line (or
    the Java exception py4j prints after a Py4JJavaError), `Exception in thread ...`."""
    found = None
    for n, line in enumerate(lines):
        if _THREAD.match(line):
            found = n
        elif line.startswith(_TRACEBACK):
            end = next((m for m in range(n + 1, len(lines))
                        if lines[m] and not lines[m][0].isspace()), None)  # frames indent
            if end is not None:
                if "Py4JJavaError" in lines[end] and end + 1 < len(lines) \
                        and lines[end + 1].startswith(": "):
                    end += 1
                found = end
    return found


def error_excerpt(text: str, lines: int = 3) -> str:
    """The last `lines` lines of `text` that look like errors (else its last lines), on one
    line separated by " | "; '' for an empty log."""
    every = [ln for ln in text.strip().splitlines() if ln.strip()]
    errors = [every[n] for n in error_lines(every)]
    return SEPARATOR.join((errors or every)[-lines:]).strip()


def tail(path: Path, lines: int = 3, missing: str = "(no log)") -> str:
    """error_excerpt() of a log file; `missing` when it cannot be read."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return missing
    return error_excerpt(text, lines)
