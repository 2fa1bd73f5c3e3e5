"""matplotlib set up once for the harness's plots: the Agg backend, which writes image
files and needs no display (the report's PNGs, `harness plan`'s chart)."""

from __future__ import annotations

from types import ModuleType


def pyplot() -> ModuleType:
    """matplotlib.pyplot on the Agg backend (imported on first use: matplotlib is slow to
    import and most commands draw nothing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
