"""EMR job-flow rehearsal: moto's EMR extended (a derived backend and responses) so that
job flows driven through the EMR API really run on local clusters."""

from typing import Any

from harness.emr.states import TERMINAL

__all__ = ["TERMINAL", "ControlPlane", "EmrApiError", "RehearsalEmrBackend"]
_LAZY = {"ControlPlane": "harness.emr.controlplane", "EmrApiError": "harness.emr.exceptions",
         "RehearsalEmrBackend": "harness.emr.models"}


def __getattr__(name: str) -> Any:
    # the endpoint's parts import moto; a client of the EMR API (rehearse) needs none of it
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
