"""What AWS refuses before moto sees a request, answered with AWS's own error codes: a
request signed for a region AWS does not have (moto answered it with a 500: its backends
have no such region), and S3's CreateBucket with a name S3's naming rules forbid (moto
checks only the length).

The region: on AWS a client signing for a region that does not exist never gets an answer
(the SDK's endpoint `<service>.<region>.amazonaws.com` does not resolve); one endpoint here
stands for every region, so the request arrives. The closest answer AWS gives is the one
for a request whose signature names a region the endpoint is not: S3's
`AuthorizationHeaderMalformed` (HTTP 400, without the `<Region>` element, so botocore's S3
region redirector does not re-sign and retry for us-east-1, which would turn a run that
fails on AWS into one that passes here); JSON services' `InvalidSignatureException` (400)
and query services' `SignatureDoesNotMatch` (403), "Credential should be scoped to a valid
region". EMR answers it in its own backend (harness.emr.responses), with EMR's region list.
"""

from __future__ import annotations

import ipaddress
import json
import re
from functools import cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from harness.errors import UsageError

_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# prefixes and suffixes S3 reserves (S3's bucket naming rules, general purpose buckets)
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


JSON, XML = "application/x-amz-json-1.1", "application/xml"


@cache
def aws_regions() -> frozenset[str]:
    """Every region of every AWS partition botocore knows (the 'regions' of its
    endpoints.json); a global service signs for one of them (us-east-1)."""
    from botocore.loaders import Loader

    return frozenset(region for partition in Loader().load_data("endpoints")["partitions"]
                     for region in partition["regions"])


def check_region(region: str) -> str:
    """The region when AWS has it, else a UsageError naming it and the nearest names: an
    endpoint claiming it would refuse every request signed for it, its health check too."""
    known = aws_regions()
    if region in known:
        return region
    import difflib

    nearest = difflib.get_close_matches(region, sorted(known), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(nearest)}?" if nearest else "such as us-east-1"
    raise UsageError(f"--region {region!r} is not an AWS region",
                     f"give one AWS has: {hint}")


@cache
def regions(service: str) -> frozenset[str]:
    """Every region of every partition botocore knows for the service (moto serves the
    same list: its backends are keyed by it)."""
    import botocore.session

    session = botocore.session.get_session()
    return frozenset(region for partition in session.get_available_partitions()
                     for region in session.get_available_regions(service, partition))


def signing_scope(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(region, service) of a SigV4 request's credential scope: the Authorization header,
    or a presigned URL's X-Amz-Credential; None for an unsigned request."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1), match.group(2)
    credential = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
    if credential:
        parts = credential[0].split("/")
        if len(parts) == 5:
            return parts[2], parts[3]
    return None


def bucket_name_problem(name: str) -> str | None:
    """Why S3 refuses this name for a new bucket, or None when it is valid."""
    if not 3 <= len(name) <= 63:
        return "a bucket name has 3 to 63 characters"
    if not _BUCKET.match(name):
        return ("a bucket name has only lower-case letters, digits, dots and hyphens, and "
                "begins and ends with a letter or digit")
    if ".." in name:
        return "a bucket name has no two adjacent dots"
    try:
        ipaddress.IPv4Address(name)
        return "a bucket name is not formatted as an IP address"
    except ValueError:
        pass
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "the bucket name uses a prefix or suffix S3 reserves"
    return None


def refusal(environ: dict[str, Any]) -> tuple[int, str, str] | None:
    """(HTTP status, content type, error body) when AWS would refuse this signed request
    before any service ran it, else None."""
    scope = signing_scope(environ)
    if scope is None:
        return None
    region, service = scope
    if service != "s3":
        if service == "elasticmapreduce" or region in aws_regions():
            return None
        message = (f"Credential should be scoped to a valid region, not '{region}' (sign "
                   "for one such as us-east-1: AWS_REGION)")
        if environ.get("HTTP_X_AMZ_TARGET"):  # the JSON protocols
            return 400, JSON, json.dumps({"__type": "InvalidSignatureException",
                                          "message": message})
        return 403, XML, (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>'
                          f"<Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"
                          f"<Message>{escape(message)}</Message></Error>"
                          "<RequestId>0</RequestId></ErrorResponse>")
    if region not in regions("s3"):
        return 400, XML, _xml("AuthorizationHeaderMalformed",
                         f"The authorization header is malformed; the region '{region}' is "
                         "wrong: it is not an AWS region (sign for one such as us-east-1: "
                         "AWS_REGION)")
    path = environ.get("PATH_INFO", "")
    segments = [s for s in path.split("/") if s]
    if environ.get("REQUEST_METHOD") == "PUT" and len(segments) == 1 \
            and not environ.get("QUERY_STRING"):  # CreateBucket, path-style
        problem = bucket_name_problem(segments[0])
        if problem:
            return 400, XML, _xml("InvalidBucketName",
                             f"The specified bucket is not valid. ({problem})",
                             BucketName=segments[0])
    return None


def _xml(code: str, message: str, **extra: str) -> str:
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message>{fields}<RequestId>0</RequestId></Error>")
