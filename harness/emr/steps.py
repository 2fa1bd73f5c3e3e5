"""How an EMR step becomes a local command, as EMR itself would run it on the master node.

- `command-runner.jar` with `spark-submit ...` (or EMR's /usr/lib/spark/bin/spark-submit):
  the job flow's spark-defaults (master URL, S3A, executor sizes, Configurations) apply, as
  EMR's do. `--opt=value` is read as `--opt value`. s3:// application files, `--jars`,
  `--files`, `--py-files` and `--archives` are downloaded first, as EMR does; `#name`
  renames a file as YARN localises it (visible to executors under `name`, and to a
  cluster-mode driver in its working directory); `--master yarn` becomes the local
  master; `--deploy-mode cluster` for a Python application (which Spark standalone
  refuses, but EMR's YARN accepts) runs in client mode. Every rewrite is written to the
  step's controller log.
- `command-runner.jar` with any other command (`aws s3 cp`, `bash -c`): run as given, with
  the node's PATH (spark-submit, python3, aws bound to the endpoint). Commands of
  applications the rehearsal does not run (Hive, Pig, Hadoop streaming, S3DistCp, ...)
  fail at once, naming what is not emulated.
- `script-runner.jar` (any `.../script-runner/script-runner.jar`): download the s3:// script
  in Args[0] and run it with the remaining arguments.
- any other jar (CUSTOM_JAR): as EMR runs `hadoop jar`: a JVM on the release's Hadoop and
  Spark classpath plus the S3A jars and the job flow's core-site.xml, running MainClass (or
  the jar's manifest Main-Class), with the step's Properties as -D system properties.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.emr.resources import VALUED as _VALUED  # spark-submit options with a value
from harness.emr.resources import scale_submit_args

if TYPE_CHECKING:
    from harness.cluster import Topology

_LOCALISED = {"--py-files", "--files", "--archives", "--jars"}
_SPARK_SUBMIT = {"spark-submit", "/usr/lib/spark/bin/spark-submit", "/usr/bin/spark-submit"}

# commands (command-runner Args[0]) and EMR-hosted scripts/jars of what does not run here
_NOT_EMULATED = {
    "hive-script": "Hive", "hive": "Hive", "beeline": "Hive (HiveServer2)",
    "pig-script": "Pig", "pig": "Pig",
    "hadoop-streaming": "Hadoop streaming (MapReduce on YARN)",
    "hadoop": "Hadoop MapReduce/YARN", "yarn": "YARN", "mapred": "Hadoop MapReduce",
    "hdfs": "HDFS", "s3-dist-cp": "S3DistCp (a MapReduce job)",
    "hbase": "HBase", "flink": "Flink", "flink-yarn-session": "Flink",
    "presto-cli": "Presto", "trino-cli": "Trino", "sqoop": "Sqoop", "oozie": "Oozie",
}
_NOT_EMULATED_PATHS = [
    (re.compile(r"elasticmapreduce/libs/hive/"), "Hive (hive-script)"),
    (re.compile(r"elasticmapreduce/libs/pig/"), "Pig (pig-script)"),
    (re.compile(r"elasticmapreduce/libs/state-pusher/"), "EMR's state-pusher"),
    (re.compile(r"s3distcp|s3-dist-cp"), "S3DistCp (a MapReduce job)"),
    (re.compile(r"hadoop-streaming[^/]*\.jar$"), "Hadoop streaming (MapReduce on YARN)"),
]


# a harness performance default for `hadoop jar` JVMs (C1 only, serial GC: quicker start on
# small machines; results unchanged), said in the controller log
HADOOP_JAR_JVM_OPTS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")


class StepDefinitionError(Exception):
    """The step cannot be run as given (the message becomes its failure reason)."""


@dataclass
class StepCommand:
    argv: list[str]
    notes: list[str] = field(default_factory=list)
    cwd: Path | None = None  # the process's working directory (None: the node's home)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class StepContext:
    """What a step needs from its job flow beyond its own arguments."""

    spark_home: Path | None = None       # the release's Spark (jars/ holds Hadoop's too)
    java: Path | None = None
    jars: list[Path] = field(default_factory=list)  # the S3A set
    hadoop_conf_dir: Path | None = None  # core-site.xml of the job flow
    main_class: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # the job flow's, for every controller log
    scala: str | None = None  # the release's Scala binary version, e.g. "2.12"
    # the job flow's topology: spark-submit's resource arguments are scaled to it
    # (harness.emr.resources); concurrency: its StepConcurrencyLevel
    topology: Topology | None = None
    concurrency: int = 1


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://", "s3n://"))


def not_emulated(what: str, name: str) -> StepDefinitionError:
    return StepDefinitionError(
        f"{what} step '{name}' is not emulated by the rehearsal (no {what} here); run it on "
        "EMR, or use a spark-submit, script-runner or command-runner step")


def plan_step(jar: str, args: list[str], workdir: Path,
              fetch: Callable[[str, Path], Path],
              context: StepContext | None = None) -> StepCommand:
    """The command a step runs. `fetch(uri, dest_dir)` downloads an s3:// object and
    returns its local path (raising StepDefinitionError with S3's reason if it cannot)."""
    context = context or StepContext()
    command = _plan(jar, args, workdir, fetch, context)
    command.notes[:0] = context.notes
    return command


def _plan(jar: str, args: list[str], workdir: Path, fetch: Callable[[str, Path], Path],
          context: StepContext) -> StepCommand:
    name = jar.rsplit("/", 1)[-1]
    if name == "command-runner.jar":
        if not args:
            raise StepDefinitionError("command-runner.jar needs a command in Args")
        if args[0] in _SPARK_SUBMIT:
            command = _spark_submit(args[1:], workdir, fetch, context)
            if args[0] != "spark-submit":
                command.notes.insert(0, f"{args[0]} is the release's spark-submit")
            return command
        what = _NOT_EMULATED.get(args[0].rsplit("/", 1)[-1])
        if what:
            raise not_emulated(what, args[0])
        return StepCommand(list(args), [f"command-runner: running {args[0]}"])
    if name == "script-runner.jar":
        if not args:
            raise StepDefinitionError("script-runner.jar needs the script's s3:// path in Args")
        for pattern, what in _NOT_EMULATED_PATHS:
            if pattern.search(args[0]):
                raise not_emulated(what, args[0])
        script = fetch(args[0], workdir) if is_s3(args[0]) else Path(args[0])
        script.chmod(0o755)
        head = script.read_bytes()[:2]
        argv = [str(script), *args[1:]] if head == b"#!" else ["bash", str(script), *args[1:]]
        return StepCommand(argv, [f"script-runner: downloaded {args[0]} to {script}"])
    for pattern, what in _NOT_EMULATED_PATHS:
        if pattern.search(jar):
            raise not_emulated(what, jar)
    return _hadoop_jar(jar, args, workdir, fetch, context)


def _hadoop_jar(jar: str, args: list[str], workdir: Path,
                fetch: Callable[[str, Path], Path], context: StepContext) -> StepCommand:
    """A CUSTOM_JAR step, as `hadoop jar <jar> [MainClass] args` runs on EMR's master."""
    if context.spark_home is None or context.java is None:
        raise StepDefinitionError(f"custom JAR step {jar}: no Java or Spark/Hadoop runtime "
                                  "is known for this job flow")
    notes = []
    local = fetch(jar, workdir) if is_s3(jar) else Path(jar)
    if is_s3(jar):
        notes.append(f"custom JAR {jar} downloaded to {local}")
    if not local.is_file():
        raise StepDefinitionError(f"custom JAR {jar} does not exist on the master node")
    notes += _scala_note(local, context.scala)
    manifest_main = manifest_main_class(local)
    main_args = list(args)
    if manifest_main:
        # Hadoop's RunJar: a manifest Main-Class wins; MainClass becomes its first argument
        main = manifest_main
        if context.main_class:
            main_args.insert(0, context.main_class)
            notes.append(f"the jar's manifest names Main-Class {manifest_main}: as `hadoop "
                         f"jar` does, it runs with MainClass {context.main_class} as its "
                         "first argument")
    elif context.main_class:
        main = context.main_class
    elif main_args:
        main = main_args.pop(0)
        notes.append(f"no MainClass and no manifest Main-Class: {main} (the first argument) "
                     "is the class, as `hadoop jar` reads it")
    else:
        raise StepDefinitionError(f"custom JAR {jar} names no MainClass and its manifest no "
                                  "Main-Class; give HadoopJarStep.MainClass")
    classpath = [str(context.hadoop_conf_dir)] if context.hadoop_conf_dir else []
    classpath += [str(local), str(context.spark_home / "jars" / "*"),
                  *(str(p) for p in context.jars)]
    props = [f"-D{k}={v}" for k, v in context.properties.items()]
    argv = [str(context.java), *HADOOP_JAR_JVM_OPTS, *props, "-cp", ":".join(classpath), main,
            *main_args]
    notes.append(f"hadoop jar: {main} on the release's Hadoop/Spark classpath "
                 f"({context.spark_home / 'jars'}) with the S3A jars and core-site.xml; "
                 f"harness performance JVM options {' '.join(HADOOP_JAR_JVM_OPTS)}")
    env = {"HADOOP_CONF_DIR": str(context.hadoop_conf_dir)} if context.hadoop_conf_dir else {}
    return StepCommand(argv, notes, env=env)


def manifest_main_class(jar: Path) -> str | None:
    """The Main-Class a jar's manifest names (None when none, or not a jar)."""
    try:
        with zipfile.ZipFile(jar) as archive:
            text = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError):
        return None
    match = re.search(r"^Main-Class:\s*(\S+)", text, re.MULTILINE)
    return match.group(1) if match else None


def jar_scala(jar: Path) -> str | None:
    """The Scala binary version a jar was built for, when it says (an sbt/Maven artifact
    name such as app_2.12-1.0.jar, inside or as the file name); None for Java jars."""
    names = [jar.name]
    try:
        with zipfile.ZipFile(jar) as archive:
            names += [n for n in archive.namelist() if n.endswith("pom.properties")]
            names += [archive.read(n).decode("utf-8", "replace") for n in names[1:]]
    except (zipfile.BadZipFile, OSError):
        pass
    for text in names:
        match = re.search(r"_(2\.1[0-3]|3)(?:[-./]|$)", text, re.MULTILINE)
        if match:
            return match.group(1)
    return None


def _scala_note(jar: Path, runtime: str | None) -> list[str]:
    built = jar_scala(jar) if jar.is_file() else None
    if built is None or runtime is None:
        return []
    if built != runtime:
        return [f"{jar.name} is built for Scala {built}; this release's Spark runs Scala "
                f"{runtime}, so it fails as it would on EMR (NoSuchMethodError, "
                "ClassNotFoundException)"]
    return [f"{jar.name} is built for Scala {built}, the release's"]


def split_option_values(args: list[str]) -> list[str]:
    """spark-submit's `--opt=value` forms as `--opt value` (only before the application,
    and only for options that take a value; `--conf=k=v` gives `--conf k=v`)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        option, eq, value = arg.partition("=")
        if eq and option in _VALUED and option.startswith("--"):
            out += [option, value]
        elif arg in _VALUED:
            out += args[i:i + 2]
            i += 1
        elif not arg.startswith("-"):
            return out + args[i:]  # the application and its own arguments, as given
        else:
            out.append(arg)
        i += 1
    return out


def _localise(option: str, value: str, workdir: Path, fetch: Callable[[str, Path], Path],
              notes: list[str]) -> tuple[str, list[tuple[Path, str]]]:
    """Download s3:// entries of a comma list; a `#name` gives the local file that name
    (archives keep the fragment: Spark unpacks them under it). Returns the local list and
    (path, name) pairs a cluster-mode driver finds in its working directory."""
    local, visible = [], []
    for n, entry in enumerate(value.split(",")):
        uri, _, alias = entry.partition("#")
        path: Path | None = None
        if is_s3(uri):
            path = fetch(uri, workdir / "localised" / option.strip("-") / str(n))
        elif uri.startswith("file:") or uri.startswith("/") or Path(uri).exists():
            path = Path(uri.removeprefix("file://").removeprefix("file:"))
        if path is None:
            local.append(entry)  # hdfs:// or the like: Spark reports it as it would
            continue
        name = alias or path.name
        if option == "--archives":
            local.append(f"{path}#{name}")
        elif alias and path.name != alias:
            renamed = workdir / "localised" / option.strip("-") / f"{n}-as" / alias
            renamed.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, renamed)
            path = renamed
            local.append(str(renamed))
        else:
            local.append(str(path))
        visible.append((path, name))
    if local != value.split(","):
        notes.append(f"{option}: {value} -> {','.join(local)}")
    return ",".join(local), visible


def _spark_submit(args: list[str], workdir: Path, fetch: Callable[[str, Path], Path],
                  context: StepContext) -> StepCommand:
    notes: list[str] = []
    out: list[str] = ["spark-submit"]
    normalised = split_option_values(args)
    if normalised != list(args):
        notes.append("--option=value forms read as --option value")
    args = normalised
    if context.topology is not None:
        args, scaled = scale_submit_args(args, context.topology, context.concurrency)
        notes += scaled
    i, primary = 0, None
    deploy_mode = "client"
    container: list[tuple[str, Path, str]] = []  # what YARN would localise for the driver
    while i < len(args):
        arg = args[i]
        if primary is None and arg in _VALUED and i + 1 < len(args):
            value = args[i + 1]
            i += 2
            if arg == "--master":
                notes.append(f"--master {value} replaced by the local cluster's master "
                             "(spark-defaults.conf)")
                continue
            if arg == "--deploy-mode":
                deploy_mode = value
                continue
            if arg in _LOCALISED:
                value, visible = _localise(arg, value, workdir, fetch, notes)
                container += [(arg, path, name) for path, name in visible]
            out += [arg, value]
            continue
        if primary is None and arg.startswith("-"):
            out.append(arg)
            i += 1
            continue
        if primary is None:
            primary = arg
            if is_s3(arg):
                local = fetch(arg, workdir)
                notes.append(f"application {arg} downloaded to {local}")
                arg = str(local)
            if arg.endswith(".jar"):
                notes += _scala_note(Path(arg), context.scala)
            out.append(arg)
            i += 1
            continue
        out.append(arg)  # application arguments, passed as given (s3:// stays s3://)
        i += 1
    if primary is None:
        raise StepDefinitionError("spark-submit step has no application (script or jar)")
    cwd = None
    if deploy_mode == "cluster" and primary.endswith(".py"):
        notes.append("--deploy-mode cluster: Spark standalone cannot run Python applications "
                     "in cluster mode (EMR's YARN can); running in client mode on the master "
                     "node instead")
        deploy_mode = "client"
        cwd = _driver_container(workdir, container, notes)
    out[1:1] = ["--deploy-mode", deploy_mode]
    return StepCommand(out, notes, cwd=cwd)


def _driver_container(workdir: Path, localised: list[tuple[str, Path, str]],
                      notes: list[str]) -> Path:
    """The working directory YARN gives a cluster-mode driver: --files and --py-files
    under their (#) names, --archives unpacked under theirs."""
    cwd = workdir / "driver"
    cwd.mkdir(parents=True, exist_ok=True)
    for option, path, name in localised:
        if option == "--jars":
            continue
        target = cwd / name
        if option == "--archives":
            shutil.unpack_archive(str(path), str(target))
        else:
            shutil.copyfile(path, target)
    if localised:
        names = ", ".join(name for option, _, name in localised if option != "--jars")
        notes.append(f"the driver's working directory {cwd} holds {names}, as YARN localises "
                     "them for a cluster-mode driver")
    return cwd


def scala_version(spark_home: Path) -> str | None:
    """The Scala version of a Spark distribution (from its scala-library jar)."""
    for jar in sorted((spark_home / "jars").glob("scala-library-*.jar")):
        match = re.search(r"scala-library-(\d+\.\d+)", jar.name)
        if match:
            return match.group(1)
    return None


def properties_of(hadoop_jar_step: Mapping[str, object]) -> dict[str, str]:
    """HadoopJarStep.Properties ([{Key, Value}]) as a dict."""
    props = hadoop_jar_step.get("Properties") or []
    if isinstance(props, Mapping):
        return {str(k): str(v) for k, v in props.items()}
    return {str(p.get("Key")): str(p.get("Value", "")) for p in props  # type: ignore[union-attr]
            if isinstance(p, Mapping)}
