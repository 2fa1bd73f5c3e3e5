"""The console's answers over HTTP from a real endpoint, without a browser: a request EMR
refuses is shown with EMR's own error and creates nothing, an unknown cluster is a 404 with
EMR's message, and a form posted from another origin is refused before EMR is called."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.integration


def _open(url: str, form: dict | None = None,
          headers: dict | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _flash(page: str) -> str:
    found = re.findall(r'class="flash error" role="alert">([^<]*)<', page)
    return found[0] if found else ""


def test_what_emr_refuses_is_shown_with_emrs_error_and_creates_nothing(endpoint):
    emr = endpoint.client("emr")
    before = {c["Id"] for c in emr.list_clusters()["Clusters"]}
    request = {"Name": "refused", "ReleaseLabel": "emr-7.12.0",
               "Instances": {"InstanceGroups": [{"InstanceRole": "MASTER",
                                                 "InstanceType": "m5.nosuch",
                                                 "InstanceCount": 1}]}}
    code, page = _open(f"{endpoint.url}/console/clusters",
                       {"mode": "json", "request": json.dumps(request)})
    assert code == 400
    assert _flash(page).startswith("ValidationException: Instance type")
    assert "m5.nosuch" in page  # the pasted request is kept to be fixed
    code, page = _open(f"{endpoint.url}/console/clusters",
                       {"mode": "json", "request": json.dumps({**request, "Bogus": 1})})
    assert code == 400 and 'Unknown parameter in input: &#34;Bogus&#34;' in _flash(page)
    code, page = _open(f"{endpoint.url}/console/clusters", {"mode": "form", "name": ""})
    assert code == 400 and _flash(page) == "the cluster needs a name"
    assert {c["Id"] for c in emr.list_clusters()["Clusters"]} == before

    code, page = _open(f"{endpoint.url}/console/clusters/j-NOSUCHCLUSTER1")
    assert code == 404 and "j-NOSUCHCLUSTER1" in _flash(page)

    code, page = _open(f"{endpoint.url}/console/clusters",
                       {"mode": "json", "request": json.dumps(request)},
                       headers={"Origin": "http://evil.example"})
    assert code == 403 and "own page" in page
