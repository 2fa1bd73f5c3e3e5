"""The guard that keeps a local rehearsal off real AWS.

In local mode the harness refuses, before any request is sent, to use an endpoint that is
not on this machine's loopback, or credentials that look like real AWS ones. Host names
are judged as written, never resolved: only `localhost`, 127.0.0.0/8 and ::1 pass.
Reaching AWS takes an explicit `--target aws`.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from harness.errors import HarnessError

# Access key ids AWS issues: AKIA (long-term) and ASIA (temporary), 20 characters.
_REAL_KEY_ID = re.compile(r"^(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}$")
_REAL_SECRET = re.compile(r"^[A-Za-z0-9/+]{40}$")
REMEDY = ("point the harness at a local endpoint (harness up) and use dummy credentials; "
          "to reach real AWS on purpose, pass --target aws")


class GuardError(HarnessError):
    """A local run would have reached (or authenticated to) real AWS."""


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str | None) -> str:
    """Return the endpoint URL if it is on loopback; raise GuardError otherwise."""
    if not url:
        raise GuardError("no local endpoint is set, so requests would go to real AWS", REMEDY)
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise GuardError(f"endpoint {url!r} is not an http(s) URL", REMEDY)
    if not is_loopback_host(parts.hostname):
        raise GuardError(
            f"endpoint {url} is not on this machine (only localhost, 127.0.0.0/8 and ::1 "
            "are allowed in local mode)", REMEDY,
        )
    return url


def looks_real(access_key: str | None, secret_key: str | None = None) -> bool:
    """True for credentials shaped like AWS-issued ones (AKIA.../ASIA... key ids)."""
    if access_key and _REAL_KEY_ID.match(access_key):
        return True
    return bool(secret_key and _REAL_SECRET.match(secret_key) and access_key
                and access_key.isupper() and len(access_key) == 20)


def check_credentials(access_key: str | None, secret_key: str | None) -> None:
    if looks_real(access_key, secret_key):
        shown = (access_key or "")[:4] + "..."
        raise GuardError(
            f"credentials {shown} look like real AWS credentials; a local run uses dummy ones",
            "unset them for the harness (it sets AWS_ACCESS_KEY_ID=testing itself), "
            "or pass --target aws to use them against AWS on purpose",
        )


def check_local(url: str | None, access_key: str | None, secret_key: str | None) -> None:
    """Both checks, endpoint first: what a local run must pass before it sends anything."""
    check_endpoint(url)
    check_credentials(access_key, secret_key)
