"""The README's examples (the "your own workload" module, the pytest plugin's test file),
extracted from the README itself so the tests run exactly what users copy."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def write_example(directory: Path, name: str = "store_revenue",
                  marker: str = "byo-workload") -> Path:
    text = README.read_text()
    match = re.search(rf"<!-- {marker} -->\n```python\n(.*?)```", text, re.S)
    assert match, f"the README lost its {marker} example"
    path = directory / f"{name}.py"
    path.write_text(match.group(1))
    return path
