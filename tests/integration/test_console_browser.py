"""The console in a real browser (headless Chromium, tests/browser.py): a cluster created
from the form reaches WAITING without a reload, the 10k cascade step added from the page
completes, its stdout shows the job's output line and its application opens in the job
flow's History Server; a failing step's page shows the Python error line; termination is
refused while protected (EMR's error on the page) and then done. Every request the
browser made stayed on 127.0.0.1. The README's screenshots are taken here."""

from __future__ import annotations

import re

import pytest

from harness.aws.s3 import S3Uri, ensure_bucket, upload_dir
from harness.workloads import generate_fixture

pytestmark = pytest.mark.integration
JOB_FLOW_S = 240_000  # ms: a job flow's start, a 10k step, on a busy 2-core machine
FAILING_JOB = b'''\
import sys

def main(columns):
    if "amount" not in columns:
        raise ValueError("orders has no column amount")

main(sys.argv[1:])
'''


@pytest.fixture(scope="module")
def uploaded(endpoint, cascade, tmp_path_factory):
    """The 10k cascade fixture, its Spark job and a job that fails, in the endpoint's S3."""
    s3 = endpoint.client("s3")
    for bucket in ("raw", "code", "curated"):
        ensure_bucket(s3, bucket, endpoint.region)
    fixture, _ = generate_fixture(cascade, 10_000, 42, 0.02,
                                  tmp_path_factory.mktemp("fx") / "10k")
    upload_dir(s3, fixture.path, S3Uri("raw", "console/10k"))
    s3.upload_file(str(cascade.spark_job), "code", "jobs/spark_job.py")
    s3.put_object(Bucket="code", Key="jobs/fails.py", Body=FAILING_JOB)
    return s3


def _state(page, step_name: str):
    return page.locator("#step-table tr", has_text=step_name).locator(".state")


def _step_id(page, console: str, cluster_id: str, name: str) -> str:
    page.goto(f"{console}clusters/{cluster_id}")
    link = page.locator("#step-table tr", has_text=name).get_by_role("link")
    return link.text_content().strip()


def _add_step(page, name: str, application: str, args: str) -> None:
    page.locator("#add-step summary").click()
    form = page.locator("#add-step form")
    form.locator("select[name=type]").select_option("spark")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=application]").fill(application)
    form.locator("input[name=args]").fill(args)
    form.locator("select[name=action_on_failure]").select_option("CONTINUE")
    form.get_by_role("button", name="Add step").click()
    page.wait_for_load_state()


def test_a_job_flow_from_the_console_form_to_its_history_server(browser_page, endpoint,
                                                                  uploaded):
    from playwright.sync_api import expect

    page = browser_page.page
    console = f"{endpoint.url}/console/"
    emr = endpoint.client("emr")
    page.goto(console)
    page.get_by_role("link", name="Create cluster").first.click()
    browser_page.screenshot("console-create")
    form = page.locator("#create-form")
    form.locator("input[name=name]").fill("console rehearsal")
    form.locator("select[name=release_label]").select_option("emr-7.12.0")
    form.locator("input[name=core_count]").fill("1")
    form.locator("input[name=task_count]").fill("0")
    form.get_by_role("button", name="Create cluster").click()
    page.wait_for_url(re.compile(r"/console/clusters/j-\w+$"))
    cluster_id = page.url.rsplit("/", 1)[1]
    # the live refresh moves the page to WAITING: no reload (the marker would be gone)
    page.evaluate("window.__loaded_once = true")
    expect(page.locator("#cluster-state")).to_have_text("WAITING", timeout=JOB_FLOW_S)
    assert page.evaluate("window.__loaded_once") is True
    expect(page.locator("#history-server")).to_be_visible()

    emr.set_termination_protection(JobFlowIds=[cluster_id], TerminationProtected=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Terminate").click()
    expect(page.locator(".flash.error")).to_contain_text("ValidationException")
    expect(page.locator(".flash.error")).to_contain_text("protect")
    assert emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] \
        == "WAITING"
    emr.set_termination_protection(JobFlowIds=[cluster_id], TerminationProtected=False)

    page.goto(f"{console}clusters/{cluster_id}")
    _add_step(page, "cascade 10k", "s3://code/jobs/spark_job.py",
              "s3://raw/console/10k s3://curated/console-run")
    _add_step(page, "fails", "s3://code/jobs/fails.py", "orders customers")
    # the step's page follows it: its driver's log arrives while it runs, then its stdout,
    # from LogUri, shows the job's output line
    page.locator("#step-table tr", has_text="cascade 10k").get_by_role("link").click()
    expect(page.locator("#step-state")).to_have_text("RUNNING", timeout=JOB_FLOW_S)
    expect(page.locator('.tab[data-panel="stderr"] pre.log')).to_be_attached(
        timeout=JOB_FLOW_S)
    assert page.locator("#step-state").text_content() == "RUNNING"
    expect(page.locator("#step-state")).to_have_text("COMPLETED", timeout=JOB_FLOW_S)
    page.get_by_role("tab", name="stdout").click()
    stdout = page.locator('.tab[data-panel="stdout"] pre.log')
    expect(stdout).to_be_visible()
    expect(stdout).to_contain_text("enrichment-metrics")
    browser_page.screenshot("console-step")
    page.goto(f"{console}clusters/{cluster_id}")
    browser_page.screenshot("console-cluster")
    page.goto(console)
    browser_page.screenshot("console-clusters")
    page.goto(f"{console}clusters/{cluster_id}/steps/"
              + _step_id(page, console, cluster_id, "cascade 10k"))

    # its application in the job flow's History Server (it lists an application once it
    # has read the event log: the page is reloaded until then)
    history = page.locator("a.history-app").first
    expect(history).to_be_visible()
    app_url = history.get_attribute("href")
    with page.expect_navigation() as opened:
        history.click()
    response = opened.value
    for _ in range(60):  # the History Server answers 404 until it has read the event log
        if response is not None and response.ok:
            break
        page.wait_for_timeout(1000)
        response = page.goto(app_url)
    expect(page.get_by_text("Spark Jobs").first).to_be_visible()
    expect(page.get_by_text("cascade-enrichment").first).to_be_visible()
    browser_page.screenshot("console-history-server", full_page=False)

    # a failing step's page shows its Python error line, highlighted
    page.goto(f"{console}clusters/{cluster_id}")
    expect(_state(page, "fails")).to_have_text("FAILED", timeout=JOB_FLOW_S)
    page.locator("#step-table tr", has_text="fails").get_by_role("link").click()
    failure = page.locator(".tab:not([hidden]) pre.log .failure")
    expect(failure).to_have_text("ValueError: orders has no column amount")
    browser_page.screenshot("console-step-failed")

    page.goto(f"{console}clusters/{cluster_id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Terminate").click()
    expect(page.locator("#cluster-state")).to_have_text("TERMINATED", timeout=JOB_FLOW_S)
    page.goto(f"{console}benchmarks")
    browser_page.screenshot("console-benchmarks")

    assert browser_page.requests, "the browser logged no request"
    assert browser_page.outside_hosts() == []
