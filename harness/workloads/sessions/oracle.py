"""The sessions workload's independent reference: sessionisation as SQL window functions on
DuckDB, written from the rule (a user's clicks in time order, ties by click id; a new
session starts at a user's first click and after a gap of more than GAP_S seconds; a click
without a user is NO_USER, one with a user but no timestamp NO_TIMESTAMP)."""

from __future__ import annotations

from harness.workloads.oracle import duckdb_reference

SESSIONS = """
WITH good AS (
    SELECT click_id, user_id, ts FROM clicks WHERE user_id IS NOT NULL AND ts IS NOT NULL
), marked AS (
    SELECT *,
        CASE WHEN ts - lag(ts) OVER by_user <= getvariable('gap_s') THEN 0 ELSE 1 END
            AS starts_session
    FROM good
    WINDOW by_user AS (PARTITION BY user_id ORDER BY ts, click_id)
), numbered AS (
    SELECT *, sum(starts_session) OVER (
        PARTITION BY user_id ORDER BY ts, click_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_no
    FROM marked
)
SELECT user_id, min(ts) AS session_start, max(ts) AS session_end,
       CAST(count(*) AS INTEGER) AS clicks
FROM numbered
GROUP BY user_id, session_no
ORDER BY user_id, session_start
"""

QUARANTINE = """
SELECT click_id, CASE WHEN user_id IS NULL THEN 'NO_USER' ELSE 'NO_TIMESTAMP' END AS reason
FROM clicks WHERE user_id IS NULL OR ts IS NULL
ORDER BY click_id
"""

UNIQUE_CLICKS = "SELECT click_id FROM clicks GROUP BY click_id HAVING count(*) > 1"


def reference(gap_s: int):  # noqa: ANN201 - a ReferenceImpl
    """The reference for sessions ending after `gap_s` seconds without a click."""
    return duckdb_reference(
        "duckdb-sql", {"sessions": SESSIONS, "quarantine": QUARANTINE},
        "sessionisation as SQL window functions on DuckDB (lag, running sum)",
        parameters={"gap_s": gap_s}, checks={"every click_id is unique": UNIQUE_CLICKS})
