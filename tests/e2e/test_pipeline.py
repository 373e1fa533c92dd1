"""Door log → edge agent → MQTT → ingest → PostgreSQL, with real processes and failures.

10,000 lines are appended to a controller's log while the broker is restarted and the
ingest process is killed with SIGKILL; exactly 10,000 rows must arrive, each line once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from linli.embedded import EmbeddedMosquitto
from tests.e2e.conftest import Service, wait_until

pytestmark = pytest.mark.e2e

TOTAL = 10_000
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def write_agent_config(path: Path, log_file: Path) -> None:
    path.write_text(yaml.safe_dump({
        "community": "e2e",
        "building": "b01",
        "sources": [{"type": "log", "device": "b01-u1-door", "path": str(log_file),
                     "format": "jsonl", "readers": {"1": "in", "2": "out"}}],
    }))


def door_line(seq: int) -> str:
    at = dt.datetime(2026, 11, 20, 7, 0, tzinfo=SHANGHAI) + dt.timedelta(seconds=seq)
    return json.dumps({"time": at.isoformat(timespec="milliseconds"), "event": "passage",
                       "person": f"r-{seq % 300:04d}", "reader": 1 + seq % 2,
                       "credential": "face", "seq": seq}) + "\n"


def count_rows(db: psycopg.Connection[dict[str, Any]]) -> int:
    row = db.execute("SELECT count(*) AS n FROM events").fetchone()
    return int(row["n"]) if row else 0


def test_ten_thousand_lines_survive_broker_restart_and_ingest_kill(
    tmp_path: Path,
    db_url: str,
    db: psycopg.Connection[dict[str, Any]],
    broker: EmbeddedMosquitto,
    services: Callable[..., Service],
) -> None:
    log_file = tmp_path / "door.jsonl"
    log_file.touch()
    agent_config = tmp_path / "agent.yaml"
    write_agent_config(agent_config, log_file)
    env = {"LINLI_DATABASE_URL": db_url, "LINLI_MQTT_URL": broker.url,
           "LINLI_EDGE__SPOOL_DIR": str(tmp_path / "spool"),
           "LINLI_INGEST__CLIENT_ID": "ingest-e2e", "LINLI_LOG_LEVEL": "INFO"}
    ingest = services("ingest", ["ingest"], env)
    services("edge", ["edge", "--config", str(agent_config)], env)

    with log_file.open("a") as log:
        for seq in range(1, TOTAL + 1):
            log.write(door_line(seq))
            if seq % 500 == 0:
                log.flush()
                if seq == 3000:
                    assert wait_until(lambda: count_rows(db) > 1000, 60), "nothing arrived"
                    broker.restart()
                if seq == 6000:
                    assert wait_until(lambda: count_rows(db) > 4000, 60), "stalled after restart"
                    ingest.kill()
                    ingest = services("ingest-again", ["ingest"], env)

    assert wait_until(lambda: count_rows(db) >= TOTAL, 120, interval=0.5), (
        f"only {count_rows(db)} of {TOTAL} rows arrived"
    )
    # Give a late duplicate the chance to show itself before counting.
    wait_until(lambda: False, 2)
    row = db.execute(
        "SELECT count(*) AS n, count(DISTINCT event_id) AS ids,"
        " count(DISTINCT (attrs->>'seq')::int) AS seqs,"
        " min((attrs->>'seq')::int) AS lo, max((attrs->>'seq')::int) AS hi FROM events"
    ).fetchone()
    assert row == {"n": TOTAL, "ids": TOTAL, "seqs": TOTAL, "lo": 1, "hi": TOTAL}
    presence = db.execute("SELECT count(*) AS n FROM presence").fetchone()
    assert presence == {"n": 300}
