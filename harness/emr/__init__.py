"""EMR job-flow rehearsal: the EMR API (moto) driving real execution on local clusters."""

from harness.emr.controlplane import ControlPlane
from harness.emr.validation import EmrApiError

__all__ = ["ControlPlane", "EmrApiError"]
