"""``linli rules replay`` on a real PostgreSQL: the fixed interface, and what it shows.

The home in ``tests/care_home.py`` has an exact routine, so the alerts it must and must not
raise are known: none while the resident lives their days, one soon after they stop.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from linli.cli import main
from linli.settings import load_settings
from rules.replay import replay
from tests import care_home as home

KEYS = ["at", "alert", "rule", "subject", "change", "reason"]


def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str,
            *args: str) -> tuple[int, list[dict[str, Any]], str]:
    monkeypatch.setenv("LINLI_DATABASE_URL", db_url)
    code = main(["rules", "replay", *args])
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    return code, lines, captured.err


def test_a_normal_fortnight_raises_nothing_and_an_incident_is_found_within_hours(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    incident = home.START + dt.timedelta(days=16, hours=13)
    community, events = home.write(tmp_path, home.days(18, incident_at=incident))
    until = incident + dt.timedelta(hours=24)
    code, changes, err = run_cli(capsys, monkeypatch, db_url, "--community", str(community),
                                 "--events", str(events), "--until", until.isoformat())
    assert code == 0
    assert "replayed" in err
    assert all(list(change) == KEYS for change in changes)
    raised = [c for c in changes if c["change"] == "raised"]
    assert [(c["rule"], c["subject"], c["reason"]) for c in raised] == [
        ("silent_resident", home.RESIDENT, "silent_at_home")]
    found = dt.datetime.fromisoformat(raised[0]["at"])
    # Last sign 12:00 (the meter); usual afternoon silence 3 h, widened: found by ~18:00.
    assert incident < found < incident + dt.timedelta(hours=6)
    assert found.utcoffset() == dt.timedelta(0)
    escalations = [c for c in changes if c["change"] == "escalated"]
    assert [c["reason"] for c in escalations] == ["tier 2", "tier 3"]


def test_skipping_quiet_minutes_changes_nothing(tmp_path: Path, db_url: str,
                                                pg_server: Any) -> None:
    incident = home.START + dt.timedelta(days=2, hours=14)   # after lunch
    community, events = home.write(tmp_path, home.days(3, incident_at=incident))
    until = incident + dt.timedelta(hours=12)
    outputs = []
    for index, every_minute in enumerate((False, True)):
        url = db_url if index == 0 else _fresh(pg_server, "every_minute")
        out = io.StringIO()
        runner = replay(load_settings(None, database_url=url), community, [events], until,
                        out=out, err=io.StringIO(), every_minute=every_minute)
        outputs.append((out.getvalue(), runner))
    (quick, skipping), (full, every) = outputs
    assert quick == full and quick.count('"raised"') == 1
    assert skipping.skipped > 3 * skipping.evaluations
    assert every.skipped == 0 and every.evaluations > skipping.evaluations


def test_bad_lines_are_reported_and_the_rest_is_replayed(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    community, events = home.write(tmp_path, home.days(2))
    with events.open("a", encoding="utf-8") as handle:
        handle.write("not json\n")
        handle.write(json.dumps(home.event(home.START, "passage", "b01-door") | {
            "kind": "teleport"}) + "\n")
    code, changes, err = run_cli(capsys, monkeypatch, db_url, "--community", str(community),
                                 "--events", str(events))
    assert code == 0
    assert err.count("refused") >= 2 and "(2 refused)" in err
    # A new resident, two normal days, then silence: judged by the cautious prior, which
    # allows a long night and a quiet day, but not a whole one.
    [raised] = [c for c in changes if c["change"] == "raised"]
    last_sign = home.START + dt.timedelta(days=1, hours=21, minutes=30)
    found = dt.datetime.fromisoformat(raised["at"])
    assert raised["reason"] == "silent_at_home"
    assert last_sign + dt.timedelta(hours=10) < found < last_sign + dt.timedelta(hours=24)


def test_a_home_door_contact_without_direction_counts_for_its_household(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    incident = home.START + dt.timedelta(days=14, hours=16)
    events = home.days(15, incident_at=incident, activity=False, door_contact=True)
    community, jsonl = home.write(tmp_path, events, door_contact=True)
    code, changes, _ = run_cli(capsys, monkeypatch, db_url, "--community", str(community),
                               "--events", str(jsonl), "--until",
                               (incident + dt.timedelta(hours=48)).isoformat())
    assert code == 0
    raised = [c for c in changes if c["change"] == "raised"]
    assert len(raised) == 1 and raised[0]["subject"] == home.RESIDENT
    found = dt.datetime.fromisoformat(raised[0]["at"])
    # Door only, the door used daily at 09:00 and 11:00: found the next day, within 48 h.
    assert incident < found < incident + dt.timedelta(hours=48)


def test_the_events_are_stored_through_ingest_and_the_signals_kept(
    tmp_path: Path, db_url: str, db: Any,
) -> None:
    community, events = home.write(tmp_path, home.days(3))
    until = home.START + dt.timedelta(days=3)
    replay(load_settings(None, database_url=db_url), community, [events], until,
           out=io.StringIO(), err=io.StringIO())
    assert db.execute("SELECT count(*) AS n FROM events").fetchone()["n"] == 3 * 8
    signals = db.execute("SELECT * FROM resident_signals").fetchone()
    assert signals["resident"] == home.RESIDENT
    assert signals["last_door_at"] == home.START + dt.timedelta(days=2, hours=11)
    assert signals["last_door_direction"] == "in"
    assert signals["last_activity_at"] == home.START + dt.timedelta(days=2, hours=21, minutes=30)
    assert signals["last_activity_device"] == "h101-water"
    baseline = db.execute("SELECT * FROM resident_baselines").fetchone()
    assert baseline["model"]["has_activity"] is True


def _fresh(pg_server: Any, name: str) -> str:
    import psycopg

    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE linli_template')
    return str(pg_server.url(name))
