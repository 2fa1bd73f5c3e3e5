"""Which runtime a RunJobFlow request gets, checked before EMR would accept it: its
ReleaseLabel must be one the runtime catalog has and this machine can run, or the request
is refused with EMR's ValidationException naming the nearest labels (never accepted and
then failed)."""

from __future__ import annotations

from typing import Any

from harness.emr import validation


def check_release(request: dict[str, Any]) -> None:
    """ValidationException unless the request's ReleaseLabel has a runnable runtime."""
    from harness.runtimes import UnknownReleaseLabel, check_runnable, runtime_for

    label = request.get("ReleaseLabel")
    if label is None:  # AmiVersion only: EMR before 4.0, no Spark 3 to rehearse
        raise validation.validation(
            f"AmiVersion {request.get('AmiVersion')} clusters (EMR before 4.0) are not "
            "rehearsed locally: give a ReleaseLabel, e.g. emr-7.12.0")
    try:
        check_runnable(runtime_for(label))
    except UnknownReleaseLabel as exc:
        raise validation.validation(f"The specified release label '{label}' cannot be "
                                    f"rehearsed: {exc.one_line()}") from None
