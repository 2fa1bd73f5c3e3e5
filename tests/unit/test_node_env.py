"""The node environment's parts: which python3 a release gets, EMR's info files, the static
check for a Python newer than the release's, and a node's commands (sudo, pip, PATH)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.emr import nodeenv
from harness.emr.nodeenv import Interpreter, NodeEnv


def found(*versions):
    return tuple(Interpreter(Path(f"/py/{v}/bin/python3"), tuple(map(int, v.split("."))))
                 for v in versions)


@pytest.mark.parametrize(("wanted", "have", "chosen"), [
    ("3.9", ("3.9.18", "3.10.13", "3.11.7"), "3.9.18"),
    ("3.9", ("3.8.18", "3.11.7", "3.12.1"), "3.11.7"),  # nearest newer: checked by vermin
    ("3.13", ("3.11.7", "3.12.1"), "3.12.1"),
    ("3.11", ("3.11.2", "3.11.7"), "3.11.7"),
])
def test_the_releases_python_or_the_nearest_newer_one(wanted, have, chosen):
    assert nodeenv.choose_python(wanted, found(*have)).full == chosen


def test_no_interpreter_is_none():
    assert nodeenv.choose_python("3.9", ()) is None


def test_interpreters_are_real_pythons_never_a_virtual_environments(tmp_path):
    found_here = nodeenv.interpreters(f"{Path(sys.executable).parent}:/usr/bin:/bin",
                                      str(tmp_path))
    assert all(Path(sys.prefix).resolve() not in i.path.resolve().parents for i in found_here)
    assert all(i.path.name.startswith("python3.") for i in found_here)


def test_instance_json_says_what_emr_says_of_each_role():
    master = nodeenv.instance_json("MASTER", "ig-1")
    core, task = nodeenv.instance_json("CORE", "ig-2"), nodeenv.instance_json("TASK", "ig-3")
    assert master["isMaster"] is True and master["instanceGroupId"] == "ig-1"
    assert core["isMaster"] is False and core["isRunningDataNode"] is True
    assert task["isRunningDataNode"] is False and task["isRunningNodeManager"] is True


def test_job_flow_json_has_emrs_shape():
    groups = [
        {"Id": "ig-M", "Name": "Master", "InstanceGroupType": "MASTER",
         "InstanceType": "m5.xlarge", "Market": "ON_DEMAND", "RequestedInstanceCount": 1},
        {"Id": "ig-T", "Name": "Task", "InstanceGroupType": "TASK",
         "InstanceType": "m5.2xlarge", "Market": "SPOT", "RequestedInstanceCount": 2},
    ]
    flow = nodeenv.job_flow_json("j-ABC", 1700000000000, "3.4.1", groups)
    assert flow["jobFlowId"] == "j-ABC" and flow["instanceCount"] == 3
    assert flow["masterInstanceType"] == "m5.xlarge"
    assert flow["slaveInstanceType"] == "m5.2xlarge" and flow["hadoopVersion"] == "3.4.1"
    assert flow["instanceGroups"][1] == {
        "instanceGroupId": "ig-T", "instanceGroupName": "Task", "instanceRole": "Task",
        "marketType": "Spot", "instanceType": "m5.2xlarge", "requestedInstanceCount": 2}


def test_a_file_needing_a_newer_python_is_named_with_line_and_feature(tmp_path):
    new = tmp_path / "job.py"
    new.write_text("import sys\n\nmatch sys.argv:\n    case _:\n        pass\n")
    old = tmp_path / "old.py"
    old.write_text("import sys\nprint(sys.argv)\n")
    problems = nodeenv.check_python_files([new, old], "3.9")
    assert len(problems) == 1
    assert problems[0] == "job.py:L3: pattern matching requires Python 3.10"
    assert nodeenv.check_python_files([old], "3.9") == []
    assert nodeenv.check_python_files([new], "3.10") == []


def test_a_steps_python_files_are_its_local_py_arguments(tmp_path):
    app, dep = tmp_path / "app.py", tmp_path / "dep.py"
    app.write_text("")
    dep.write_text("")
    argv = ["spark-submit", "--py-files", f"{dep},s3://b/x.py", str(app), "missing.py", "x"]
    assert nodeenv.python_files(argv) == [dep, app]


@pytest.fixture
def node(tmp_path):
    """A node environment made from a stand-in template (a venv's layout, no pip run)."""
    template = tmp_path / "template"
    (template / "bin").mkdir(parents=True)
    (template / "lib" / "python3.9" / "site-packages").mkdir(parents=True)
    (template / "bin" / "python").symlink_to(sys.executable)
    (template / "bin" / "pip").write_text(f"#!{template}/bin/python\nimport pip\n")
    env = NodeEnv(tmp_path / "cluster" / "core-1", "CORE", "3.9",
                  Interpreter(Path(sys.executable), (3, 9, 18)))
    env.create(template, {"instance.json": {"isMaster": False}})
    return env


def test_a_nodes_commands_never_reach_the_harness_environment(node):
    env = node.env()
    assert str(Path(sys.executable).parent) not in env["PATH"].split(":")
    assert env["PATH"].startswith(f"{node.shims}:{node.venv / 'bin'}:")
    assert env["PYSPARK_PYTHON"] == "python3"
    assert env["VIRTUAL_ENV"] == "" and env["PYTHONPATH"] == ""  # unset
    shims = {p.name for p in node.shims.iterdir()}
    assert {"python3", "python", "pip", "pip3", "pip3.9", "sudo", "aws"} <= shims
    assert not shims & set(nodeenv.SPARK_COMMANDS)  # until Spark is installed
    # the copy's scripts name the copy's interpreter; the template's are untouched
    assert (node.venv / "bin" / "pip").read_text().startswith(f"#!{node.venv}/bin/python")
    template = node.node_dir.parent.parent / "template"
    assert (template / "bin" / "pip").read_text().startswith(f"#!{template}/bin/python")
    assert (node.info / "instance.json").exists()


def test_spark_is_installed_after_bootstrap_with_its_commands_and_pyspark(node, tmp_path):
    spark = tmp_path / "spark"
    (spark / "bin").mkdir(parents=True)
    for name in ("spark-submit", "pyspark"):
        (spark / "bin" / name).write_text("#!/bin/sh\necho spark\n")
        (spark / "bin" / name).chmod(0o755)
    node.install_spark(spark, (tmp_path / "pythonpath",))
    assert (node.shims / "spark-submit").exists() and (node.shims / "pyspark").exists()
    assert not (node.shims / "spark-shell").exists()
    pth = node.venv / "lib" / "python3.9" / "site-packages" / "emr-spark.pth"
    assert pth.read_text() == f"{tmp_path / 'pythonpath'}\n"
    assert node.env()["SPARK_HOME"] == str(spark)


@pytest.mark.parametrize("argv", [
    ["sudo", "sh", "-c", "echo ran"],
    ["sudo", "-E", "-u", "root", "-H", "sh", "-c", "echo ran"],
    ["sudo", "--", "sh", "-c", "echo ran"],
])
def test_sudo_runs_the_command_as_the_same_user(node, argv):
    done = subprocess.run(argv, env={"PATH": node.env()["PATH"]}, capture_output=True,
                          text=True, check=True)
    assert done.stdout == "ran\n"


def test_a_missing_command_is_127_as_in_a_shell(node):
    done = subprocess.run([str(node.shims / "emr-node-run"), "spark-submit", "x.py"],
                          env={"PATH": node.env()["PATH"]}, capture_output=True, text=True,
                          cwd=node.home)
    assert done.returncode == 127
    assert "spark-submit: command not found" in done.stderr


class App:
    def __init__(self, name):
        self.name = name


def test_applications_gate_spark_and_none_given_is_hadoop_only():
    assert nodeenv.has_spark([App("Hadoop"), App("Spark")])
    assert nodeenv.has_spark([App("spark")])  # EMR's names are case-insensitive
    assert not nodeenv.has_spark([App("Hadoop"), App("Hive")])
    assert not nodeenv.has_spark([])


def test_emr_paths_are_the_nodes_own_in_its_namespace(node):
    if nodeenv.namespace_command() is None:
        pytest.fail("no private mount namespace here: the process backend has no EMR paths")
    done = subprocess.run(
        [str(node.shims / "emr-node-run"), "sh", "-c",
         "pwd; cat /mnt/var/lib/info/instance.json; ls -d /usr/lib/spark/bin 2>&1; "
         "touch /home/hadoop/made-here"],
        env={"PATH": node.env()["PATH"]}, capture_output=True, text=True, cwd=node.home)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "/home/hadoop"
    assert '"isMaster": false' in done.stdout
    assert "No such file" in done.stdout  # Spark is installed after the bootstrap actions
    assert (node.home / "made-here").exists()  # /home/hadoop is the node's home
    assert not Path("/home/hadoop/made-here").exists()  # nothing reached the host's /home
