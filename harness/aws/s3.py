"""S3 helpers on top of boto3: URIs, buckets, idempotent uploads (skip objects whose sha256
matches), listing and downloads, with S3's own error names kept in the messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.hashing import sha256_file

MULTIPART_THRESHOLD = 8 * 1024 * 1024
SHA_KEY = "sha256"  # object metadata (x-amz-meta-sha256) that makes re-uploads skippable


class S3Error(HarnessError):
    """An S3 request failed; the message keeps S3's error code (NoSuchBucket, ...)."""


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str = ""

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        for scheme in ("s3://", "s3a://"):
            if uri.startswith(scheme):
                bucket, _, key = uri[len(scheme):].partition("/")
                if bucket:
                    return cls(bucket, key)
        raise S3Error(f"{uri!r} is not an s3:// URI", "write it as s3://BUCKET/PREFIX")

    def child(self, *parts: str) -> S3Uri:
        key = "/".join(p.strip("/") for p in (self.key, *parts) if p.strip("/"))
        return S3Uri(self.bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"


def cluster_log_base(log_uri: str | None, cluster_id: str) -> S3Uri | None:
    """Where EMR puts a cluster's logs: <LogUri>/<cluster-id>/ (s3n:// read as s3://);
    None without a LogUri."""
    if not log_uri:
        return None
    return S3Uri.parse(log_uri.replace("s3n://", "s3://")).child(cluster_id)


def s3_failures() -> tuple[type[Exception], ...]:
    """What an S3 call raises when S3 or the way to it failed, as opposed to a bug: S3's
    answer (ClientError, or boto3's upload wrapper of one), and botocore's connection and
    endpoint errors. Anything else propagates as it is."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    return ClientError, S3UploadFailedError, ConnectionError, HTTPClientError


def _code(exc: Exception) -> str | None:
    """S3's error code of a ClientError (None for a connection failure)."""
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _error(exc: Exception, what: str) -> S3Error:
    """The S3Error for one of s3_failures(); raise it `from exc` so the cause stays."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, (ConnectionError, HTTPClientError)):
        return S3Error(f"cannot reach the S3 endpoint while {what}: {exc}",
                       "start it with harness up, or fix --endpoint-url")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Error")
        remedy = {
            "NoSuchBucket": "create the bucket first (harness fixtures upload creates it)",
            "NoSuchKey": "check the key, or upload the object first",
            "404": "check the bucket and key",
            "AccessDenied": "use credentials allowed to read and write this location",
        }.get(code, "check the request")
        return S3Error(f"{code} while {what}", remedy)
    return S3Error(f"S3 refused {what}: {exc}", "check the bucket, key and credentials")


def ensure_bucket(s3, bucket: str, region: str) -> bool:  # noqa: ANN001
    """Create the bucket if missing; True when it was created."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except s3_failures() as exc:
        if _code(exc) not in {"404", "NoSuchBucket"}:
            raise _error(exc, f"checking bucket {bucket}") from exc
    kwargs = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3.create_bucket(Bucket=bucket, **kwargs)
    except s3_failures() as exc:
        raise _error(exc, f"creating bucket {bucket}") from exc
    return True


@dataclass
class UploadReport:
    uploaded: list[str]
    skipped: list[str]
    bytes_uploaded: int


def upload_dir(s3, local: Path, target: S3Uri,  # noqa: ANN001
               progress: Callable[[str, bool], None] | None = None) -> UploadReport:
    """Upload every file under `local` to `target`, keeping relative paths. An object whose
    stored sha256 equals the file's is skipped; large files go up in multipart parts."""
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD,
                            multipart_chunksize=MULTIPART_THRESHOLD)
    report = UploadReport([], [], 0)
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        key = target.child(path.relative_to(local).as_posix()).key
        digest = sha256_file(path)
        try:
            head = s3.head_object(Bucket=target.bucket, Key=key)
            if head.get("Metadata", {}).get(SHA_KEY) == digest:
                report.skipped.append(key)
                if progress:
                    progress(key, False)
                continue
        except s3_failures() as exc:
            if _code(exc) not in {"404", "NoSuchKey"}:
                raise _error(exc, f"checking s3://{target.bucket}/{key}") from exc
        try:
            s3.upload_file(str(path), target.bucket, key, Config=config,
                           ExtraArgs={"Metadata": {SHA_KEY: digest}})
        except s3_failures() as exc:
            raise _error(exc, f"uploading {path} to s3://{target.bucket}/{key}") from exc
        report.uploaded.append(key)
        report.bytes_uploaded += path.stat().st_size
        if progress:
            progress(key, True)
    return report


def under(key: str, prefix: str) -> bool:
    """Whether `key` is the object `prefix` or lies in the folder `prefix`: prefixes are
    matched as folders, so cascade/10000 holds cascade/10000/x, never cascade/100000/x."""
    if not prefix:
        return True
    return key == prefix or key.startswith(prefix.rstrip("/") + "/")


def list_keys(s3, uri: S3Uri) -> Iterator[dict]:  # noqa: ANN001
    """Every object at the URI or under it as a folder (all pages)."""
    paginator = s3.get_paginator("list_objects_v2")
    try:
        for page in paginator.paginate(Bucket=uri.bucket, Prefix=uri.key):
            yield from (o for o in page.get("Contents", []) if under(o["Key"], uri.key))
    except s3_failures() as exc:
        raise _error(exc, f"listing {uri}") from exc


def download_prefix(s3, uri: S3Uri, local: Path) -> list[Path]:  # noqa: ANN001
    """Download every object under the prefix into `local`, keeping relative paths."""
    paths = []
    prefix = uri.key.rstrip("/") + "/" if uri.key else ""
    for obj in list_keys(s3, uri):
        # the folder's objects keep their relative paths; the object the URI names, its name
        rel = obj["Key"][len(prefix):] if obj["Key"].startswith(prefix) \
            else obj["Key"].rsplit("/", 1)[-1]
        if not rel or rel.endswith("/"):
            continue
        dest = local / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            s3.download_file(uri.bucket, obj["Key"], str(dest))
        except s3_failures() as exc:
            raise _error(exc, f"downloading s3://{uri.bucket}/{obj['Key']}") from exc
        paths.append(dest)
    return paths


def check_readable(s3, uri: S3Uri) -> int:  # noqa: ANN001
    """Raise S3Error (NoSuchBucket / NoSuchKey) unless objects exist under the URI; return
    how many there are. Used before a job starts, so it fails with S3's reason, not Spark's."""
    try:
        s3.head_bucket(Bucket=uri.bucket)
    except s3_failures() as exc:
        if _code(exc) in {"404", "NoSuchBucket"}:
            raise S3Error(f"NoSuchBucket: bucket {uri.bucket!r} does not exist",
                          "create it and upload the input (harness fixtures upload --to "
                          f"s3://{uri.bucket}/...)") from exc
        raise _error(exc, f"checking {uri}") from exc
    count = sum(1 for _ in list_keys(s3, uri))
    if count == 0:
        raise S3Error(f"NoSuchKey: nothing is stored under {uri}",
                      f"upload the input first (harness fixtures upload --to {uri})")
    return count
