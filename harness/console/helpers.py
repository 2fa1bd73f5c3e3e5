"""What the console's pages compute from EMR's answers, with no I/O: a cluster's request
rebuilt from its Describe/List calls (EMR's Clone), the `aws emr create-cluster` line that
sends the same request, the failure line of a step's log, a step or job flow request from
the console's forms, durations and ages as the EMR console shows them."""

from __future__ import annotations

import json
import re
import shlex
from datetime import datetime
from typing import Any

from harness.logs import failure

ACTIONS_ON_FAILURE = ("CONTINUE", "CANCEL_AND_WAIT", "TERMINATE_CLUSTER")
CLUSTER_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING",
                  "TERMINATED", "TERMINATED_WITH_ERRORS")
ACTIVE_CLUSTER_STATES = {"STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"}
ACTIVE_STEP_STATES = {"PENDING", "CANCEL_PENDING", "RUNNING"}
SPARK_JAR = "command-runner.jar"
_APP_ID = re.compile(r"\bapp-\d{14}-\d{4}\b")


class FormError(ValueError):
    """A console form or pasted request the console cannot turn into an EMR request."""


# -- durations ------------------------------------------------------------------------------

def span(seconds: float | None) -> str:
    """A duration as the EMR console writes it: 45 seconds, 3 minutes, 2 hours 5 minutes."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} second{'s' if s != 1 else ''}"
    minutes, s = divmod(s, 60)
    if minutes < 60:
        return f"{minutes} min {s} s" if s else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def elapsed(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    """Seconds from start to end (to now while it has not ended); None before it starts."""
    if start is None:
        return None
    return ((end or now) - start).total_seconds()


# -- logs -----------------------------------------------------------------------------------

def failure_line(text: str) -> int | None:
    """The index of the line that says why a step failed (harness.logs.failure: the end of
    the last uncaught error, else the last ERROR record, never a WARN record's stack
    trace); None when no line looks like an error."""
    found = failure(text)
    return found.index if found is not None else None


def application_ids(*texts: str) -> list[str]:
    """The Spark standalone application ids a step's logs name, in order, once each."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in _APP_ID.findall(text):
            seen.setdefault(match, None)
    return list(seen)


# -- requests -------------------------------------------------------------------------------

def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, [], {}, "")}


def step_config(step: dict[str, Any]) -> dict[str, Any]:
    """A StepConfig (AddJobFlowSteps' shape) from a ListSteps/DescribeStep record."""
    config = step.get("Config") or {}
    jar_step = _drop_empty({"Jar": config.get("Jar"), "Args": list(config.get("Args") or []),
                            "MainClass": config.get("MainClass"),
                            "Properties": [{"Key": k, "Value": v}
                                           for k, v in (config.get("Properties") or {}).items()]})
    return {"Name": step.get("Name", ""), "ActionOnFailure": step.get("ActionOnFailure",
                                                                      "CONTINUE"),
            "HadoopJarStep": jar_step}


def clone_request(cluster: dict[str, Any], groups: list[dict[str, Any]],
                  fleets: list[dict[str, Any]], bootstrap: list[dict[str, Any]],
                  steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The run_job_flow request that makes a cluster like this one (EMR's Clone): from
    DescribeCluster, ListInstanceGroups or ListInstanceFleets, ListBootstrapActions and
    ListSteps (given newest first, as EMR lists them; cloned in submission order)."""
    instances: dict[str, Any] = {
        "KeepJobFlowAliveWhenNoSteps": not cluster.get("AutoTerminate", False),
        "TerminationProtected": bool(cluster.get("TerminationProtected", False)),
    }
    if fleets:
        instances["InstanceFleets"] = [_drop_empty({
            "Name": f.get("Name"), "InstanceFleetType": f["InstanceFleetType"],
            "TargetOnDemandCapacity": f.get("TargetOnDemandCapacity", 0),
            "TargetSpotCapacity": f.get("TargetSpotCapacity", 0),
            "InstanceTypeConfigs": [_drop_empty({
                "InstanceType": c["InstanceType"],
                "WeightedCapacity": c.get("WeightedCapacity"),
                "BidPriceAsPercentageOfOnDemandPrice":
                    c.get("BidPriceAsPercentageOfOnDemandPrice"),
                "Configurations": c.get("Configurations")})
                for c in f.get("InstanceTypeSpecifications") or []],
            "LaunchSpecifications": f.get("LaunchSpecifications")}) for f in fleets]
    else:
        instances["InstanceGroups"] = [_drop_empty({
            "Name": g.get("Name"), "InstanceRole": g["InstanceGroupType"],
            "InstanceType": g["InstanceType"], "InstanceCount": g["RequestedInstanceCount"],
            "Market": g.get("Market", "ON_DEMAND"), "BidPrice": g.get("BidPrice"),
            "Configurations": g.get("Configurations")}) for g in groups]
    attributes = cluster.get("Ec2InstanceAttributes") or {}
    request = {
        "Name": cluster["Name"],
        "ReleaseLabel": cluster.get("ReleaseLabel"),
        "LogUri": cluster.get("LogUri"),
        "Applications": [{"Name": a["Name"]} for a in cluster.get("Applications") or []],
        "Configurations": cluster.get("Configurations"),
        "Instances": instances,
        "BootstrapActions": [{"Name": b.get("Name", ""), "ScriptBootstrapAction": _drop_empty({
            "Path": b["ScriptPath"], "Args": list(b.get("Args") or [])})} for b in bootstrap],
        "Steps": [step_config(s) for s in reversed(steps)],
        "ServiceRole": cluster.get("ServiceRole"),
        "JobFlowRole": attributes.get("IamInstanceProfile"),
        "StepConcurrencyLevel": cluster.get("StepConcurrencyLevel"),
        "Tags": cluster.get("Tags"),
        "VisibleToAllUsers": cluster.get("VisibleToAllUsers"),
    }
    if request["StepConcurrencyLevel"] == 1:
        del request["StepConcurrencyLevel"]
    return _drop_empty(request)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def cli_step(step: dict[str, Any]) -> dict[str, Any]:
    """A StepConfig as `aws emr create-cluster --steps` takes it: a command-runner
    spark-submit as Type=Spark (the CLI puts command-runner.jar and spark-submit back),
    anything else as CUSTOM_JAR."""
    jar_step = step["HadoopJarStep"]
    args = list(jar_step.get("Args") or [])
    out: dict[str, Any] = {"Name": step.get("Name", ""),
                           "ActionOnFailure": step.get("ActionOnFailure", "CONTINUE")}
    if jar_step.get("Jar") == SPARK_JAR and args[:1] == ["spark-submit"] \
            and not jar_step.get("MainClass") and not jar_step.get("Properties"):
        return {"Type": "Spark", **out, "Args": args[1:]}
    return {"Type": "CUSTOM_JAR", **out, "Jar": jar_step["Jar"],
            **_drop_empty({"Args": args, "MainClass": jar_step.get("MainClass")})}


def create_cluster_argv(request: dict[str, Any], endpoint_url: str | None = None) -> list[str]:
    """`aws emr create-cluster` arguments that send `request` (a run_job_flow request)."""
    argv = ["aws", "emr", "create-cluster"]
    if endpoint_url:
        argv += ["--endpoint-url", endpoint_url]
    argv += ["--name", request["Name"]]
    if request.get("ReleaseLabel"):
        argv += ["--release-label", request["ReleaseLabel"]]
    if request.get("Applications"):
        argv += ["--applications", *(f"Name={a['Name']}" for a in request["Applications"])]
    if request.get("LogUri"):
        argv += ["--log-uri", request["LogUri"]]
    if request.get("ServiceRole"):
        argv += ["--service-role", request["ServiceRole"]]
    if request.get("JobFlowRole"):
        argv += ["--ec2-attributes", _json({"InstanceProfile": request["JobFlowRole"]})]
    instances = request.get("Instances") or {}
    if instances.get("InstanceFleets"):
        argv += ["--instance-fleets", _json(instances["InstanceFleets"])]
    if instances.get("InstanceGroups"):
        groups = []
        for g in instances["InstanceGroups"]:
            group = {"Name": g.get("Name") or g["InstanceRole"],
                     "InstanceGroupType": g["InstanceRole"], "InstanceType": g["InstanceType"],
                     "InstanceCount": g["InstanceCount"]}
            if g.get("Market") == "SPOT":  # the CLI's SPOT: a BidPrice, OnDemandPrice for none
                group["BidPrice"] = g.get("BidPrice") or "OnDemandPrice"
            if g.get("Configurations"):
                group["Configurations"] = g["Configurations"]
            groups.append(group)
        argv += ["--instance-groups", _json(groups)]
    argv.append("--no-auto-terminate" if instances.get("KeepJobFlowAliveWhenNoSteps")
                else "--auto-terminate")
    if instances.get("TerminationProtected"):
        argv.append("--termination-protected")
    if request.get("Configurations"):
        argv += ["--configurations", _json(request["Configurations"])]
    if request.get("BootstrapActions"):
        argv += ["--bootstrap-actions", _json([_drop_empty({
            "Name": b.get("Name"), "Path": b["ScriptBootstrapAction"]["Path"],
            "Args": b["ScriptBootstrapAction"].get("Args")})
            for b in request["BootstrapActions"]])]
    if request.get("Steps"):
        argv += ["--steps", _json([cli_step(s) for s in request["Steps"]])]
    if request.get("StepConcurrencyLevel"):
        argv += ["--step-concurrency-level", str(request["StepConcurrencyLevel"])]
    if request.get("Tags"):
        argv += ["--tags", *(f"{t['Key']}={t.get('Value', '')}" for t in request["Tags"])]
    return argv


def create_cluster_command(request: dict[str, Any], endpoint_url: str | None = None) -> str:
    """create_cluster_argv as one shell line, quoted for a POSIX shell."""
    return shlex.join(create_cluster_argv(request, endpoint_url))


# -- the console's forms --------------------------------------------------------------------

def _field(form: dict[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def split_args(text: str, what: str) -> list[str]:
    """Arguments written as a shell would split them (quotes keep spaces)."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise FormError(f"{what}: {exc} in {text!r}; close the quote") from None


def step_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The StepConfig of the console's add-step form: a Spark application (spark-submit
    through command-runner.jar) or a custom JAR, with its arguments."""
    kind = _field(form, "type") or "spark"
    action = _field(form, "action_on_failure") or "CONTINUE"
    if action not in ACTIONS_ON_FAILURE:
        raise FormError(f"ActionOnFailure {action!r} is not one of "
                        f"{', '.join(ACTIONS_ON_FAILURE)}")
    args = split_args(_field(form, "args"), "arguments")
    if kind == "spark":
        app = _field(form, "application")
        if not app:
            raise FormError("a Spark application step needs the application's location "
                            "(s3://.../job.py or a JAR)")
        options = split_args(_field(form, "spark_submit_options"), "spark-submit options")
        jar_step: dict[str, Any] = {"Jar": SPARK_JAR,
                                    "Args": ["spark-submit", *options, app, *args]}
        default_name = "Spark application"
    elif kind == "jar":
        jar = _field(form, "jar")
        if not jar:
            raise FormError("a custom JAR step needs the JAR's location (s3://... or "
                            "command-runner.jar)")
        jar_step = _drop_empty({"Jar": jar, "Args": args,
                                "MainClass": _field(form, "main_class")})
        jar_step.setdefault("Args", [])
        default_name = "Custom JAR"
    else:
        raise FormError(f"step type {kind!r} is not spark or jar")
    return {"Name": _field(form, "name") or default_name, "ActionOnFailure": action,
            "HadoopJarStep": jar_step}


def _count(value: str, role: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise FormError(f"the {role} instance count {value!r} is not a whole number") from None
    if count < 0:
        raise FormError(f"the {role} instance count cannot be negative ({count})")
    return count


def job_flow_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The run_job_flow request of the console's create-cluster form."""
    name = _field(form, "name")
    if not name:
        raise FormError("the cluster needs a name")
    groups = []
    for role in ("MASTER", "CORE", "TASK"):
        key = role.lower()
        count = 1 if role == "MASTER" else _count(_field(form, f"{key}_count") or "0", key)
        if count == 0:
            continue
        itype = _field(form, f"{key}_type") or "m5.xlarge"
        group = {"Name": role.title(), "InstanceRole": role, "InstanceType": itype,
                 "InstanceCount": count}
        if role != "MASTER" and form.get(f"{key}_spot"):
            group["Market"] = "SPOT"
        groups.append(group)
    request: dict[str, Any] = {
        "Name": name, "ReleaseLabel": _field(form, "release_label") or "emr-7.12.0",
        "Applications": [{"Name": "Spark"}],
        "ServiceRole": "EMR_DefaultRole", "JobFlowRole": "EMR_EC2_DefaultRole",
        "Instances": {"InstanceGroups": groups,
                      "KeepJobFlowAliveWhenNoSteps": not form.get("auto_terminate"),
                      "TerminationProtected": bool(form.get("termination_protected"))},
    }
    if _field(form, "log_uri"):
        request["LogUri"] = _field(form, "log_uri")
    actions = []
    for n, line in enumerate(_field(form, "bootstrap_actions").splitlines(), 1):
        if not line.strip():
            continue
        path, *args = split_args(line, f"bootstrap action {n}")
        actions.append({"Name": f"action-{n}",
                        "ScriptBootstrapAction": _drop_empty({"Path": path, "Args": args})})
    if actions:
        request["BootstrapActions"] = actions
    steps = []
    for n, line in enumerate(_field(form, "steps").splitlines(), 1):
        if not line.strip():
            continue
        argv = split_args(line, f"step {n}")
        steps.append({"Name": f"step-{n}", "ActionOnFailure": "CONTINUE",
                      "HadoopJarStep": {"Jar": SPARK_JAR,
                                        "Args": argv if argv[0] == "spark-submit"
                                        else ["spark-submit", *argv]}})
    if steps:
        request["Steps"] = steps
    return request


def job_flow_from_json(text: str) -> dict[str, Any]:
    """A pasted run_job_flow request (boto3's keyword arguments as JSON)."""
    try:
        request = json.loads(text)
    except ValueError as exc:
        raise FormError(f"the request is not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise FormError("the request must be a JSON object of run_job_flow's parameters "
                        "(Name, ReleaseLabel, Instances, ...)")
    return request
