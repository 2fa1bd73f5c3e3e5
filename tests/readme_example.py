"""The README's "your own workload" module, extracted from the README itself so the test
runs exactly what users copy."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def write_example(directory: Path, name: str = "store_revenue") -> Path:
    text = README.read_text()
    match = re.search(r"<!-- byo-workload -->\n```python\n(.*?)```", text, re.S)
    assert match, "the README lost its byo-workload example"
    path = directory / f"{name}.py"
    path.write_text(match.group(1))
    return path
