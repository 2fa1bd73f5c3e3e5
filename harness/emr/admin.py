"""The endpoint's admin route, beside the EMR API: what EMR does on its own and no EMR call
asks for, here a spot reclaim of a job flow's node (`harness kill-node --cluster`,
`harness rehearse --reclaim`).

Why a route on the endpoint: the endpoint server process owns the job flows (their
records, threads and nodes), so the reclaim must happen there; an HTTP call on the port
the CLI already knows reaches it synchronously and answers errors (unknown cluster or
node, the master) as one line, where a state file plus a signal could only fire and hope.
It answers loopback clients only, under /_harness/, a path no AWS API uses.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.net import is_loopback

if TYPE_CHECKING:
    from harness.emr.controlplane import ControlPlane

PREFIX = "/_harness/"
RECLAIM = "/_harness/reclaim"
EC2_NOTICE_S = 120.0  # EC2's spot interruption notice


class ReclaimError(HarnessError):
    """A reclaim the endpoint refused, or could not be asked for."""


def handle(plane: ControlPlane | None, environ: dict[str, Any],
           start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The WSGI answer to a request under PREFIX."""
    from harness.emr.exceptions import EmrApiError

    def answer(status: str, body: dict[str, Any]) -> list[bytes]:
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(data)))])
        return [data]

    if not is_loopback(environ.get("REMOTE_ADDR", "")):
        return answer("403 Forbidden", {"error": "the admin route answers loopback only"})
    if environ.get("PATH_INFO") != RECLAIM or environ.get("REQUEST_METHOD") != "POST":
        return answer("404 Not Found", {"error": f"no admin route {environ.get('PATH_INFO')}"})
    if plane is None:
        return answer("409 Conflict", {"error": "this endpoint runs no EMR job flows"})
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size) or b"{}")
        notice = body.get("notice_s")
        notice_s = EC2_NOTICE_S * plane.time_scale if notice is None else float(notice)
        ids = plane.reclaim(str(body["cluster_id"]), str(body["node"]), notice_s)
    except EmrApiError as exc:
        return answer("400 Bad Request", {"error": exc.message})
    except (KeyError, ValueError, TypeError) as exc:
        return answer("400 Bad Request", {"error": f"bad reclaim request: {exc}"})
    return answer("200 OK", {"cluster_id": body["cluster_id"], "node": body["node"],
                             "notice_s": notice_s, "instance_ids": ids})


def reclaim(endpoint_url: str, cluster_id: str, node: str,
            notice_s: float | None = None) -> dict[str, Any]:
    """Ask the endpoint to reclaim a job flow's node (None: EC2's 2-minute notice, scaled
    by the endpoint's HARNESS_EMR_TIME_SCALE); returns what it ended."""
    data = json.dumps({"cluster_id": cluster_id, "node": node, "notice_s": notice_s}).encode()
    request = urllib.request.Request(endpoint_url.rstrip("/") + RECLAIM, data=data,
                                     method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            problem = json.loads(exc.read()).get("error", str(exc))
        except ValueError:
            problem = str(exc)
        raise ReclaimError(f"the endpoint refused the reclaim: {problem}",
                           "name a running job flow's CORE or TASK node (harness status)") \
            from None
    except OSError as exc:
        raise ReclaimError(f"cannot reach the endpoint {endpoint_url}: {exc}",
                           "start it with harness up") from None
