"""The docker backend's images, built locally and cached by content: a Debian base made
without a registry (mmdebstrap + `docker import`) or any base a user names, the node image
(one image; master, core or task chosen when a container starts) and the endpoint image
(the harness's own moto server and EMR control plane).

A release label's runtime (harness.runtimes) gets a node image of its own, named after its
Spark version, with its pyspark and S3A jars instead of the harness's.

Each image carries a label with the hash of everything that went into it (Dockerfile,
scripts, wheel and jar names, base image), so a second `docker/build-images` finds them
current and does nothing. Python packages come from a wheelhouse made on the host with
pip (versions pinned by the harness's own install), jars from the harness's jar cache.

    python -m harness.cluster.images [--base-image IMAGE] [--force] [--no-endpoint]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cluster.base import ClusterError

if TYPE_CHECKING:
    from harness.runtimes import InstalledRuntime

PROJECT = "emr-rehearsal"
LABEL = PROJECT  # every image, container and network the harness makes carries this label
CONTENT_LABEL = f"{PROJECT}.content"
BASE_REPO = f"{PROJECT}/base"
NODE_REPO = f"{PROJECT}/node"
ENDPOINT_REPO = f"{PROJECT}/endpoint"
SUITE = "bookworm"
# What Spark's daemons, PySpark's workers and bootstrap actions need on every node.
BASE_PACKAGES = ("openjdk-17-jre-headless", "python3", "python3-venv", "procps",
                 "ca-certificates")
# Packages from the harness's own pins that nodes get: Spark, PySpark's pandas/Arrow
# support, and the AWS CLI and boto3 that EMR nodes carry for bootstrap actions and steps.
NODE_PACKAGES = ("pyspark", "numpy", "pandas", "pyarrow", "boto3", "botocore", "awscli")
DOCKER_DIR = Path(__file__).resolve().parents[2] / "docker"
CACHE = Path.home() / ".cache" / PROJECT


def node_image(spark_version: str | None = None) -> str:
    """The node image's name for this pyspark (drivers and executors must match)."""
    if spark_version is None:
        from harness.spark import spark_version as installed

        spark_version = installed()
    return f"{NODE_REPO}:spark-{spark_version}"


def endpoint_image(spark_version: str | None = None) -> str:
    return node_image(spark_version).replace(NODE_REPO, ENDPOINT_REPO)


REMEDY_ENGINE = ("start one: scripts/ensure-docker (installs docker.io and starts dockerd "
                 "as root), or `sudo setsid dockerd &`; DOCKER_HOST selects another engine")
REMEDY_IMAGES = "build them: docker/build-images (cached; minutes the first time)"


def client(timeout: float | None = 120):  # noqa: ANN201 (docker.DockerClient)
    """A docker SDK client for the engine DOCKER_HOST names (default: the local socket);
    ClusterError with the remedy when none answers."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - pinned in pyproject
        raise ClusterError("the docker SDK is not installed", "pip install docker") from None
    try:
        found = docker.from_env(version="auto", timeout=timeout)
        found.ping()
    except DockerException as exc:
        reason = str(exc).split("(")[0].strip()
        raise ClusterError(f"no Docker engine is reachable ({reason})", REMEDY_ENGINE) from None
    return found


def require_image(docker_client: Any, name: str) -> Any:
    """The image, or ClusterError naming the build script."""
    from docker.errors import ImageNotFound

    try:
        return docker_client.images.get(name)
    except ImageNotFound:
        raise ClusterError(f"the docker image {name} is missing", REMEDY_IMAGES) from None


# -- building ------------------------------------------------------------------------------


@dataclass
class Built:
    name: str
    rebuilt: bool
    seconds: float
    size_mb: float


@dataclass
class BuildReport:
    images: list[Built] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"{b.name}: {'built' if b.rebuilt else 'current'} in {b.seconds:.1f} s, "
               f"{b.size_mb:.0f} MB" for b in self.images]
        return [*out, f"total {self.seconds:.1f} s"]


def _log(line: str) -> None:
    print(f"build-images: {line}", file=sys.stderr, flush=True)


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def _current(docker_client: Any, name: str, content: str) -> Any | None:
    from docker.errors import ImageNotFound

    try:
        image = docker_client.images.get(name)
    except ImageNotFound:
        return None
    return image if (image.labels or {}).get(CONTENT_LABEL) == content else None


def _size_mb(image: Any) -> float:
    return image.attrs.get("Size", 0) / 1e6


def build_base(docker_client: Any, force: bool = False) -> tuple[str, Built]:
    """Debian with Java 17, Python 3 and procps, from Debian's archive: mmdebstrap writes a
    root filesystem, `docker import` makes it an image. No registry involved."""
    content = _digest(SUITE, *BASE_PACKAGES, "v2")
    name = f"{BASE_REPO}:{SUITE}"
    started = time.perf_counter()
    image = None if force else _current(docker_client, name, content)
    if image is not None:
        return name, Built(name, False, time.perf_counter() - started, _size_mb(image))
    if shutil.which("mmdebstrap") is None:
        raise ClusterError("mmdebstrap is not installed, so the base image cannot be built "
                           "from Debian packages",
                           "apt-get install mmdebstrap (scripts/ensure-docker does), or pass "
                           "--base-image python:3.11-slim-bookworm on a machine with a "
                           "registry")
    with tempfile.TemporaryDirectory(prefix="emr-base-", dir=_cache_dir("tmp")) as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        _log(f"mmdebstrap {SUITE} with {', '.join(BASE_PACKAGES)} ...")
        subprocess.run([
            "mmdebstrap", "--variant=apt", f"--include={','.join(BASE_PACKAGES)}",
            "--aptopt=APT::Install-Recommends \"false\"",
            # documentation and translations are dead weight in a node
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
            "--dpkgopt=path-include=/usr/share/doc/*/copyright",
            # Java's postinst registers alternatives for its man pages; their directory
            # must exist even though the pages are not installed
            "--essential-hook=mkdir -p \"$1\"/usr/share/man/man1",
            "--customize-hook=rm -rf \"$1\"/var/lib/apt/lists/* \"$1\"/var/cache/apt/*",
            SUITE, str(rootfs)], check=True)
        _log("docker import ...")
        docker_client.api.import_image_from_file(
            str(rootfs), repository=BASE_REPO, tag=SUITE,
            changes=["ENV LANG=C.UTF-8",
                     "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     f"LABEL {LABEL}=base {CONTENT_LABEL}={content}",
                     'CMD ["/bin/bash"]'])
    image = docker_client.images.get(name)
    return name, Built(name, True, time.perf_counter() - started, _size_mb(image))


def _cache_dir(*parts: str) -> Path:
    path = CACHE.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pins() -> dict[str, str]:
    """name -> 'name==version' for every requirement of the harness and what they pull in,
    as installed here: the images get exactly the versions the harness is tested with."""
    pins = {}
    for dist in importlib.metadata.distributions():
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if name != PROJECT:
            pins[name] = f"{name}=={dist.version}"
    return pins


def wheelhouse(requirements: list[str], tag: str) -> Path:
    """A directory of wheels for `requirements` (and their dependencies, at the versions
    installed here), made once with `pip wheel` and reused while the pins are the same."""
    pins = _pins()
    constraints = "\n".join(sorted(pins.values())) + "\n"
    key = _digest(sys.version.split()[0], sys.platform, *requirements, constraints)[:16]
    target = _cache_dir("wheelhouse", f"{tag}-{key}")
    done = target / ".complete"
    if done.exists():
        return target
    (target / "constraints.txt").write_text(constraints)
    _log(f"pip wheel {' '.join(requirements)} -> {target}")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--prefer-binary",
                    "--wheel-dir", str(target), "--constraint", str(target / "constraints.txt"),
                    *requirements], check=True)
    done.write_text(" ".join(requirements) + "\n")
    return target


def _link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        dest.unlink()
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _context(name: str, files: dict[str, Path]) -> Path:
    """A fresh build context holding exactly `files` (hard links where possible)."""
    ctx = _cache_dir("docker-context", name)
    shutil.rmtree(ctx)
    for rel, src in files.items():
        _link(src, ctx / rel)
    return ctx


def _build(docker_client: Any, ctx: Path, name: str, content: str, buildargs: dict[str, str],
           role: str) -> Any:
    from docker.errors import BuildError

    _log(f"docker build {name} ...")
    try:
        image, _ = docker_client.images.build(
            path=str(ctx), tag=name, buildargs=buildargs, rm=True, forcerm=True, pull=False,
            network_mode="host",  # only an official base's apt-get needs the network
            labels={LABEL: role, CONTENT_LABEL: content})
    except BuildError as exc:
        tail = " | ".join(str(c.get("stream", c.get("error", ""))).strip()
                          for c in list(exc.build_log)[-5:])
        raise ClusterError(f"building {name} failed: {exc.msg}: {tail}",
                           "see the output above; rerun docker/build-images") from None
    image.tag(name.rsplit(":", 1)[0], f"{name.rsplit(':', 1)[1]}-{content[:12]}")
    return image


def build_node(docker_client: Any, base: str, force: bool = False,
               runtime: InstalledRuntime | None = None) -> Built:
    """The node image: the base + a venv with pyspark (and friends) from the wheelhouse +
    the S3A jar set on Spark's classpath + the role-choosing entry point. With `runtime` (a
    release label's), its Spark (pyspark and py4j from the runtime cache) and its S3A jars
    instead of the harness's own, named after its Spark version."""
    from harness.config import Settings
    from harness.jars import JAR_SETS, hadoop_version, resolve_jars
    from harness.spark import spark_version

    started = time.perf_counter()
    pins = _pins()
    packages = NODE_PACKAGES if runtime is None else \
        tuple(p for p in NODE_PACKAGES if p != "pyspark")
    requirements = [pins[p] for p in packages]
    wheels = wheelhouse(requirements, "node" if runtime is None else "node-runtime")
    if runtime is None:
        jars = resolve_jars(Settings().jar_cache).jars
        jar_shas = [c[3] for c in JAR_SETS[hadoop_version()]]
        version = spark_version()
    else:
        jars = list(runtime.jars)
        jar_shas = [f"{j.name}:{j.stat().st_size}" for j in jars]
        version = runtime.runtime.spark
    src = DOCKER_DIR / "node"
    files = {n: src / n for n in ("Dockerfile", "emr-node", "emr-node-exec")}
    wheel_files = sorted(wheels.glob("*.whl"))
    files.update({f"wheels/{w.name}": w for w in wheel_files})
    files.update({f"jars/{j.name}": j for j in jars})
    runtime_dir = runtime.python_path[0] if runtime is not None else None
    base_id = docker_client.images.get(base).id
    content = _digest(*(files[n].read_bytes() for n in ("Dockerfile", "emr-node",
                                                        "emr-node-exec")),
                      base_id, *(f"{w.name}:{w.stat().st_size}" for w in wheel_files),
                      *jar_shas,
                      *([] if runtime_dir is None else
                        [(runtime_dir.parent / ".complete").read_bytes()]))
    name = node_image(version)
    image = None if force else _current(docker_client, name, content)
    rebuilt = image is None
    if rebuilt:
        requirements_txt = _cache_dir("docker-context") / "node-requirements.txt"
        requirements_txt.write_text("\n".join(requirements) + "\n")
        files["wheels/requirements.txt"] = requirements_txt
        ctx = _context("node", files)
        # the runtime's pyspark and py4j (thousands of files): linked as a tree
        (ctx / "runtime").mkdir()
        if runtime_dir is not None:
            for part in ("pyspark", "py4j"):
                shutil.copytree(runtime_dir / part, ctx / "runtime" / part,
                                copy_function=_link_or_copy, symlinks=True)
        image = _build(docker_client, ctx, name, content, {"BASE_IMAGE": base}, "node")
        shutil.rmtree(ctx, ignore_errors=True)
    return Built(name, rebuilt, time.perf_counter() - started, _size_mb(image))


def _link_or_copy(src: str, dest: str) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def ensure_node_image(runtime: InstalledRuntime, docker_client: Any | None = None) -> str:
    """The node image of a release label's runtime, built now (base included) when it is
    missing or stale; one builder at a time (file lock). Returns its name."""
    import fcntl

    docker_client = docker_client or client()
    lock = _cache_dir("locks") / f"node-{runtime.runtime.spark}.lock"
    with lock.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        base, _ = build_base(docker_client)
        return build_node(docker_client, base, runtime=runtime).name


def build_endpoint(docker_client: Any, force: bool = False) -> Built:
    """The endpoint image: the node image + the harness itself (moto server, EMR control
    plane, docker SDK), so `python -m harness.emr.server` behaves as it does on the host."""
    from harness.spark import spark_version

    started = time.perf_counter()
    repo = DOCKER_DIR.parent
    if not (repo / "pyproject.toml").is_file():
        raise ClusterError("the endpoint image is built from a source checkout of the harness",
                           "run docker/build-images from the repository")
    pins = _pins()
    node_wheels = {w.name for w in wheelhouse([pins[p] for p in NODE_PACKAGES], "node")
                   .glob("*.whl")}
    # the node image has the node packages already; pip finds them installed
    deps = [r.split(";")[0].strip() for r in importlib.metadata.requires(PROJECT) or []
            if "extra ==" not in r and re.split(r"[=<>\[ ]", r)[0].lower() not in NODE_PACKAGES]
    wheels = wheelhouse(deps, "endpoint")
    sources = sorted(p for p in (repo / "harness").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    node = node_image(spark_version())
    node_id = require_image(docker_client, node).id
    dockerfile = DOCKER_DIR / "endpoint" / "Dockerfile"
    content = _digest(dockerfile.read_bytes(), node_id, (repo / "pyproject.toml").read_bytes(),
                      *(str(p.relative_to(repo)) + _digest(p.read_bytes()) for p in sources),
                      *sorted(w.name for w in wheels.glob("*.whl")))
    name = endpoint_image(spark_version())
    image = None if force else _current(docker_client, name, content)
    rebuilt = image is None
    if rebuilt:
        project_wheels = _cache_dir("wheelhouse", "project")
        for old in project_wheels.glob("*.whl"):
            old.unlink()
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--wheel-dir", str(project_wheels), str(repo)], check=True)
        files = {"Dockerfile": dockerfile}
        files.update({f"wheels/{w.name}": w for w in wheels.glob("*.whl")
                      if w.name not in node_wheels})
        files.update({f"wheels/{w.name}": w for w in project_wheels.glob("*.whl")})
        ctx = _context("endpoint", files)
        image = _build(docker_client, ctx, name, content, {"NODE_IMAGE": node}, "endpoint")
        shutil.rmtree(ctx, ignore_errors=True)
    return Built(name, rebuilt, time.perf_counter() - started, _size_mb(image))


def build_all(base_image: str | None = None, force: bool = False,
              endpoint: bool = True, runtimes: list[str] | None = None) -> BuildReport:
    """Every image the docker backend and docker/compose.yaml use, built when stale; with
    `runtimes` (release labels), their node images too (their Spark installed first)."""
    started = time.perf_counter()
    docker_client = client()
    report = BuildReport()
    if base_image:
        from docker.errors import DockerException, ImageNotFound

        base = base_image
        try:
            docker_client.images.get(base)
        except ImageNotFound:
            _log(f"pulling {base} ...")
            try:
                docker_client.images.pull(base)
            except DockerException as exc:
                raise ClusterError(f"cannot pull the base image {base}: {exc}",
                                   "pull or build it yourself, or leave --base-image out to "
                                   "build the Debian base with mmdebstrap") from None
    else:
        base, built = build_base(docker_client, force)
        report.images.append(built)
    report.images.append(build_node(docker_client, base, force))
    for label in runtimes or []:
        from harness.runtimes import install, runtime_for

        _log(f"runtime {label}: installing (cached) ...")
        installed = install(runtime_for(label))
        report.images.append(build_node(docker_client, base, force, runtime=installed))
    if endpoint:
        report.images.append(build_endpoint(docker_client, force))
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="docker/build-images", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-image", default=os.environ.get("BASE_IMAGE") or None,
                        help="build the node image on this image instead of the Debian base "
                             "made with mmdebstrap (e.g. python:3.11-slim-bookworm; needs a "
                             "registry). Also read from $BASE_IMAGE")
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    parser.add_argument("--no-endpoint", action="store_true",
                        help="skip the endpoint image (the docker backend does not need it)")
    parser.add_argument("--runtime", action="append", default=[], metavar="LABEL",
                        help="also the node image of a release label's runtime (e.g. "
                             "emr-7.12.0); job flows build a missing one themselves")
    args = parser.parse_args(argv)
    from harness.errors import HarnessError

    try:
        report = build_all(args.base_image, args.force, endpoint=not args.no_endpoint,
                           runtimes=args.runtime)
    except HarnessError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(map(str, exc.cmd[:3]))} ... failed with exit code "
              f"{exc.returncode} -- see its output above", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
