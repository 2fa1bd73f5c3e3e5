"""The README's examples (the "your own workload" module, the pytest plugin's test file, the
three ways to submit a job flow), extracted from the README itself so the tests run exactly
what users copy."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(marker: str, language: str = "python") -> str:
    """The code block right after `<!-- marker -->` in the README."""
    text = README.read_text()
    match = re.search(rf"<!-- {marker} -->\n```{language}\n(.*?)```", text, re.S)
    assert match, f"the README lost its {marker} example"
    return match.group(1)


def write_example(directory: Path, name: str = "store_revenue",
                  marker: str = "byo-workload") -> Path:
    path = directory / f"{name}.py"
    path.write_text(readme_block(marker))
    return path
