"""EMR requests validated as EMR validates them, before anything runs.

Two layers: the request's shape against botocore's EMR service model (required members,
types, enum values, length and range limits), then the rules EMR applies beyond the shape
(instance roles and counts, known instance types and release labels, application names,
ActionOnFailure with concurrent steps). Failures are moto service exceptions with
EMR's own error codes (harness.emr.exceptions), so the API answers them as EMR does.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from harness.emr import configurations
from harness.emr.exceptions import (
    EmrApiError,
    InvalidRequestException,
    SerializationException,
    UnknownOperationException,
    ValidationException,
)

__all__ = ["EmrApiError", "check_instance_groups", "check_run_job_flow", "check_shape",
           "check_steps", "invalid_request", "release_labels", "requested_groups",
           "service_model", "validation"]

# Applications EMR 7.x can install; names are matched case-insensitively, as EMR does.
APPLICATIONS = {
    "flink", "ganglia", "hadoop", "hbase", "hcatalog", "hive", "hudi", "hue", "iceberg",
    "jupyterenterprisegateway", "jupyterhub", "livy", "mahout", "mxnet", "oozie", "phoenix",
    "pig", "presto", "spark", "sqoop", "tensorflow", "tez", "trino", "zeppelin", "zookeeper",
    "delta",
}


def validation(message: str) -> ValidationException:
    return ValidationException(message)


def invalid_request(message: str) -> InvalidRequestException:
    return InvalidRequestException(message)


@cache
def service_model():  # noqa: ANN201 (botocore ServiceModel)
    import botocore.session

    return botocore.session.get_session().get_service_model("emr")


def operation_names() -> set[str]:
    return set(service_model().operation_names)


def _check(shape, value: Any, path: str) -> None:  # noqa: ANN001, C901
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _wrong_type(path or "the request", "an object", value)
        for name in shape.required_members:
            if value.get(name) is None:
                raise validation(f"{path + '.' if path else ''}{name} is required")
        for name, item in value.items():
            if name not in shape.members:
                raise validation(f"unknown field {path + '.' if path else ''}{name}")
            if item is not None:
                _check(shape.members[name], item, f"{path + '.' if path else ''}{name}")
        return
    if kind == "list":
        if not isinstance(value, list):
            raise _wrong_type(path, "a list", value)
        _limits(shape, len(value), path, "items")
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]")
        return
    if kind == "map":
        if not isinstance(value, dict):
            raise _wrong_type(path, "an object", value)
        for key, item in value.items():
            _check(shape.value, item, f"{path}.{key}")
        return
    if kind == "string":
        if not isinstance(value, str):
            raise _wrong_type(path, "a string", value)
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            raise validation(f"{path} '{value}' is not one of: {', '.join(enum)}")
        _limits(shape, len(value), path, "characters")
        return
    if kind in {"integer", "long"}:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(path, "a whole number", value)
        _limits(shape, value, path, None)
        return
    if kind in {"double", "float"}:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong_type(path, "a number", value)
        return
    if kind == "boolean" and not isinstance(value, bool):
        raise _wrong_type(path, "true or false", value)


# what AWS's JSON protocol front end says when a value's JSON type is not the member's
_FOUND = {list: "Start of list found where not expected",
          dict: "Start of structure or map found where not expected",
          str: "STRING_VALUE can not be converted to the member's type",
          bool: "BOOLEAN_VALUE can not be converted to the member's type",
          int: "NUMBER_VALUE can not be converted to the member's type",
          float: "NUMBER_VALUE can not be converted to the member's type"}


def _wrong_type(path: str, expected: str, value: Any) -> SerializationException:
    """A member of the wrong JSON type: AWS's JSON services refuse it while reading the
    body (SerializationException, HTTP 400), before any rule of the service runs."""
    found = _FOUND.get(type(value), "Unexpected value")
    return SerializationException(f"{found}: {path} must be {expected}")


def _limits(shape, size: int, path: str, unit: str | None) -> None:  # noqa: ANN001
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    what = f"{size} {unit}" if unit else str(size)
    if low is not None and size < low:
        raise validation(f"{path} has {what}; the minimum is {low}")
    if high is not None and size > high:
        raise validation(f"{path} has {what}; the maximum is {high}")


def check_shape(operation: str, params: Any) -> None:
    """Validate a request body against the EMR model's input shape for the operation."""
    if operation not in operation_names():
        raise UnknownOperationException(f"Unknown operation {operation}")
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        return
    _check(shape, params if params is not None else {}, "")


@cache
def release_labels() -> frozenset[str]:
    from moto.utilities.utils import load_resource

    labels = load_resource("emr/resources/release-labels-us-east-1.json")
    return frozenset(labels)


def check_run_job_flow(params: dict[str, Any], known_types: set[str]) -> None:
    """EMR's rules for RunJobFlow beyond the request shape."""
    label = params.get("ReleaseLabel")
    if label is None and params.get("AmiVersion") is None:
        raise validation("ReleaseLabel is required (e.g. emr-7.12.0)")
    if label is not None and label not in release_labels():
        newest = sorted((x for x in release_labels() if x.startswith("emr-7")),
                        key=lambda s: [int(p) for p in s[4:].split(".")])[-3:]
        raise validation(f"The specified release label '{label}' is not valid. "
                         f"Recent ones: {', '.join(newest)}")
    fleets = params.get("Instances", {}).get("InstanceFleets")
    if fleets:
        from harness.emr.fleets import check_fleets

        check_fleets(fleets, known_types)
    else:
        check_instance_groups(requested_groups(params), known_types, new_cluster=True)
    configurations.check_request(params)
    for app in params.get("Applications", []):
        name = str(app.get("Name", ""))
        if name.lower() not in APPLICATIONS:
            raise validation(f"The application '{name}' is not supported by the release "
                             f"{label or ''}".strip())
    level = params.get("StepConcurrencyLevel", 1)
    if not 1 <= level <= 256:
        raise validation("StepConcurrencyLevel must be between 1 and 256")
    check_steps(params.get("Steps", []), level)
    for action in params.get("BootstrapActions", []):
        path = action.get("ScriptBootstrapAction", {}).get("Path", "")
        if not path.startswith(("s3://", "file:/")):
            raise validation(f"Bootstrap action path '{path}' must be an s3:// URI")


def requested_groups(params: dict[str, Any]) -> list[dict[str, Any]]:
    """A RunJobFlow request's instance groups, also when given as Master/SlaveInstanceType."""
    instances = params.get("Instances", {})
    groups = instances.get("InstanceGroups")
    if instances.get("InstanceFleets"):
        if groups or instances.get("MasterInstanceType"):
            raise validation("Instance fleets and instance groups are mutually exclusive: "
                             "give InstanceFleets or InstanceGroups, not both")
        from harness.allocation import group_specs

        return group_specs(instances["InstanceFleets"])
    if groups:
        return groups
    if instances.get("MasterInstanceType") is None:
        raise validation("Instances must give InstanceGroups (or MasterInstanceType)")
    groups = [{"InstanceRole": "MASTER", "InstanceType": instances["MasterInstanceType"],
               "InstanceCount": 1}]
    if instances.get("InstanceCount", 1) > 1:
        groups.append({"InstanceRole": "CORE", "InstanceType": instances.get("SlaveInstanceType"),
                       "InstanceCount": instances["InstanceCount"] - 1})
    return groups


def check_instance_groups(groups: list[dict[str, Any]], known_types: set[str],
                          new_cluster: bool) -> None:
    roles = [g.get("InstanceRole") for g in groups]
    if new_cluster and roles.count("MASTER") != 1:
        raise validation("Exactly one MASTER instance group is required")
    if roles.count("CORE") > 1:
        raise validation("Only one CORE instance group is allowed")
    for group in groups:
        itype, count, role = group.get("InstanceType"), group.get("InstanceCount"), \
            group.get("InstanceRole")
        if itype not in known_types:
            raise validation(f"Instance type '{itype}' is not supported")
        if role == "MASTER" and count not in (1, 3):
            raise validation("Master instance group must have exactly 1 or 3 instances")
        if role == "CORE" and count is not None and count < 1:
            raise validation("The CORE instance group needs at least 1 instance")
        if count is not None and count < 0:
            raise validation("InstanceCount must not be negative")
        if group.get("Market") == "SPOT" and group.get("BidPrice") is not None:
            check_bid_price(group["BidPrice"])


def check_bid_price(price: Any) -> None:
    """EMR's rule for a BidPrice: a positive number of USD (a string in the API)."""
    try:
        if float(price) <= 0:
            raise ValueError
    except ValueError:
        raise validation(f"BidPrice '{price}' must be a positive number of USD") from None


def check_steps(steps: list[dict[str, Any]], concurrency: int) -> None:
    for step in steps:
        action = step.get("ActionOnFailure", "TERMINATE_CLUSTER")
        if concurrency > 1 and action not in {"CONTINUE"}:
            raise validation(f"ActionOnFailure {action} is not supported when "
                             "StepConcurrencyLevel is greater than 1; use CONTINUE")
        jar = step.get("HadoopJarStep", {}).get("Jar", "")
        if not jar:
            raise validation(f"Step '{step.get('Name', '')}' has no HadoopJarStep.Jar")
