"""The second built-in workload, different in kind from the cascade: sessionisation of a
click stream. The legacy job walks the clicks in time order with a dict of open sessions
(one per user) and inserts each session as it closes; Spark does it with window functions.
A session ends after 30 minutes without a click."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, insert

from harness.workloads.base import LegacyContext, LegacyImpl, OutputSpec, Tables, Workload
from harness.workloads.sessions import oracle

GAP_S = 30 * 60  # seconds without a click that end a session
METADATA = MetaData()
SESSIONS = Table("sessions", METADATA, Column("user_id", BigInteger, primary_key=True),
                 Column("session_start", BigInteger, primary_key=True),
                 Column("session_end", BigInteger), Column("clicks", Integer))
QUARANTINE = Table("quarantine", METADATA, Column("click_id", BigInteger, primary_key=True),
                   Column("reason", String(32)))


def generate(rows: int, seed: int, bad_share: float) -> Tables:
    """Clicks of rows/20 users (a few very active), in bursts with long pauses between,
    shuffled as an extract would be; bad clicks lack a user or a timestamp."""
    rng = np.random.Generator(np.random.PCG64(seed))
    users = max(10, rows // 20)
    weights = 1.0 / np.arange(1, users + 1) ** 0.7
    user = rng.choice(np.arange(1, users + 1), rows, p=weights / weights.sum())
    order = np.argsort(user, kind="stable")
    gaps = np.where(rng.random(rows) < 0.15, rng.integers(GAP_S + 1, 6 * 3600, rows),
                    rng.integers(1, 600, rows))
    ts = np.empty(rows, dtype=np.int64)
    sorted_user = user[order]
    first = np.r_[True, sorted_user[1:] != sorted_user[:-1]]
    starts = 1_767_225_600 + rng.integers(0, 86_400, rows)  # 2026-01-01 + up to a day
    run = np.where(first, starts, gaps)
    group = np.cumsum(first) - 1
    cums = np.cumsum(run)
    base = cums[first][group] - run[first][group]
    ts[order] = cums - base
    bad = rng.choice(rows, size=round(rows * bad_share), replace=False)
    no_user = np.zeros(rows, dtype=bool)
    no_ts = np.zeros(rows, dtype=bool)
    no_user[bad[: len(bad) // 2]] = True
    no_ts[bad[len(bad) // 2:]] = True
    shuffle = rng.permutation(rows)
    return {"clicks": pa.table({
        "click_id": pa.array(np.arange(1, rows + 1), pa.int64()),
        "user_id": pa.array(user[shuffle], pa.int64(), mask=no_user[shuffle]),
        "ts": pa.array(ts[shuffle], pa.int64(), mask=no_ts[shuffle]),
        "page": pa.array(rng.integers(1, 200, rows), pa.int64()),
    })}


def _reason(click: dict) -> str | None:
    if click["user_id"] is None:
        return "NO_USER"
    if click["ts"] is None:
        return "NO_TIMESTAMP"
    return None


def per_row(ctx: LegacyContext) -> None:
    """The original: clicks in time order, a dict of open sessions, insert + commit per
    closed session."""
    clicks = [c for batch in ctx.batches() for c in batch]
    good = sorted((c for c in clicks if _reason(c) is None),
                  key=lambda c: (c["ts"], c["click_id"]))
    open_sessions: dict[int, dict] = {}
    with ctx.db.engine.connect() as conn:
        for click in clicks:
            reason = _reason(click)
            if reason:
                conn.execute(insert(QUARANTINE), {"click_id": click["click_id"],
                                                  "reason": reason})
                conn.commit()
        for n, click in enumerate(good, 1):
            session = open_sessions.get(click["user_id"])
            if session is not None and click["ts"] - session["session_end"] > GAP_S:
                conn.execute(insert(SESSIONS), session)
                conn.commit()
                session = None
            if session is None:
                open_sessions[click["user_id"]] = {"user_id": click["user_id"],
                                                   "session_start": click["ts"],
                                                   "session_end": click["ts"], "clicks": 1}
            else:
                session["session_end"] = click["ts"]
                session["clicks"] += 1
            if n % ctx.chunk_rows == 0:
                ctx.progress(ctx.chunk_rows)
        for session in open_sessions.values():
            conn.execute(insert(SESSIONS), session)
        conn.commit()
    ctx.progress(len(clicks) - len(good) + len(good) % ctx.chunk_rows)


def vectorised(tables: Tables) -> dict[str, pd.DataFrame]:
    clicks = tables["clicks"].to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    bad_user, bad_ts = clicks["user_id"].isna(), clicks["ts"].isna()
    quarantine = pd.concat([
        clicks.loc[bad_user, ["click_id"]].assign(reason="NO_USER"),
        clicks.loc[~bad_user & bad_ts, ["click_id"]].assign(reason="NO_TIMESTAMP")])
    good = clicks.loc[~bad_user & ~bad_ts].astype({"user_id": "int64", "ts": "int64"})
    good = good.sort_values(["user_id", "ts", "click_id"])
    new = good.groupby("user_id")["ts"].diff().fillna(GAP_S + 1) > GAP_S
    good = good.assign(session=new.cumsum())
    sessions = good.groupby("session").agg(user_id=("user_id", "first"),
                                           session_start=("ts", "min"),
                                           session_end=("ts", "max"),
                                           clicks=("ts", "size")).reset_index(drop=True)
    return {"sessions": sessions, "quarantine": quarantine.reset_index(drop=True)}


WORKLOAD = Workload(
    name="sessions",
    description="click-stream sessionisation: a dict of open sessions vs Spark windows",
    fact_table="clicks",
    generate=generate,
    generator_version="sessions-1",
    outputs=(OutputSpec("sessions", ("user_id", "session_start")),
             OutputSpec("quarantine", ("click_id",))),
    legacy={"per-row": LegacyImpl("per-row", per_row,
                                  "clicks in time order, dict of open sessions, commit each")},
    vectorised=vectorised,
    spark_job=Path(__file__).with_name("spark_job.py"),
    legacy_schema=METADATA,
    accounted_rows=lambda out: int(out["sessions"]["clicks"].sum()) + len(out["quarantine"]),
    reference=oracle.reference(GAP_S),
)
