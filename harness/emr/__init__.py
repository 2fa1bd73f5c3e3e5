"""EMR job-flow rehearsal: moto's EMR extended (a derived backend and responses) so that
job flows driven through the EMR API really run on local clusters."""

from harness.emr.controlplane import ControlPlane
from harness.emr.exceptions import EmrApiError
from harness.emr.models import TERMINAL, RehearsalEmrBackend

__all__ = ["TERMINAL", "ControlPlane", "EmrApiError", "RehearsalEmrBackend"]
