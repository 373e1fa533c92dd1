"""The care loop with real processes: a silent elderly resident raises one alert, pushed to
a local HTTP receiver standing in for the grid worker's phone, and resolved when seen again.
Bad input on the way (a malformed log line, a malformed MQTT message) ends up where an
operator sees it, and the events around it are stored.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from linli.embedded import EmbeddedMosquitto, free_port
from linli.webhook import WebhookReceiver
from tests.accounts import add_user, logged_in
from tests.e2e.conftest import Service, wait_until

pytestmark = pytest.mark.e2e

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def directory(notify_url: str) -> dict[str, Any]:
    return {
        "community": {"id": "loop", "name": "幸福里社区", "timezone": "Asia/Shanghai"},
        "grids": [{"id": "g1", "name": "第一网格"}],
        "buildings": [{"id": "b01", "name": "1栋", "grid": "g1",
                       "units": [{"id": "u1", "name": "1单元"}]}],
        "households": [{"id": "h-101", "building": "b01", "unit": "u1", "room": "101"},
                       {"id": "h-102", "building": "b01", "unit": "u1", "room": "102"}],
        "residents": [
            {"id": "r-0001", "name": "张桂英", "household": "h-101", "elderly": True,
             "lives_alone": True, "care_level": 2,
             "emergency_contacts": [{"name": "李明", "phone": "000-0000", "relation": "儿子"}]},
            {"id": "r-0002", "name": "李建国", "household": "h-102"},
        ],
        "grid_workers": [{"id": "w-01", "name": "王芳", "role": "grid_worker", "grids": ["g1"],
                          "notify": [notify_url]}],
        "devices": [{"building": "b01", "id": "b01-u1-door", "kind": "door", "name": "1栋1单元门禁"}],
    }


def door_line(at: dt.datetime, person: str, **extra: Any) -> str:
    record = {"time": at.astimezone(SHANGHAI).isoformat(timespec="milliseconds"),
              "event": "passage", "person": person, "direction": "out", "credential": "face"}
    record.update(extra)
    return json.dumps(record, ensure_ascii=False) + "\n"


def api_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
            return True
    except OSError:
        return False


def test_silent_resident_alert_is_raised_once_pushed_and_resolved(
    tmp_path: Path,
    db_url: str,
    db: psycopg.Connection[dict[str, Any]],
    broker: EmbeddedMosquitto,
    receiver: WebhookReceiver,
    services: Callable[..., Service],
) -> None:
    community_file = tmp_path / "community.yaml"
    community_file.write_text(yaml.safe_dump(directory(receiver.url("/w-01")),
                                             allow_unicode=True))
    log_file = tmp_path / "b01-u1-door.jsonl"
    now = dt.datetime.now(dt.UTC)
    # Two weeks of a morning walk every day (so the rules know the resident's habits), then
    # home 40 hours ago and not seen since; a neighbour passes later; one line in between
    # is garbage from the controller.
    last_home = now - dt.timedelta(hours=40)
    history = [door_line(last_home - dt.timedelta(days=day, hours=2), "r-0001")
               + door_line(last_home - dt.timedelta(days=day), "r-0001", direction="in")
               for day in range(14, 0, -1)]
    log_file.write_text("".join(history)
                        + door_line(last_home, "r-0001", direction="in")
                        + "{this is not json\n"
                        + door_line(now - dt.timedelta(hours=2), "r-0002"))
    agent = tmp_path / "agent.yaml"
    agent.write_text(yaml.safe_dump({
        "community": "loop", "building": "b01",
        "sources": [{"type": "log", "device": "b01-u1-door", "path": str(log_file),
                     "format": "jsonl"}]}))
    port = free_port()
    env = {"LINLI_DATABASE_URL": db_url, "LINLI_MQTT_URL": broker.url,
           "LINLI_EDGE__SPOOL_DIR": str(tmp_path / "spool"), "LINLI_RULES__INTERVAL_S": "1",
           "LINLI_PUSH__POLL_INTERVAL_S": "0.5", "LINLI_API__PORT": str(port),
           "LINLI_INGEST__CLIENT_ID": "ingest-loop"}
    importer = services("import", ["import", str(community_file)], env)
    assert importer.proc is not None and importer.proc.wait(60) == 0, importer.log()
    # The worker got an account, its initial password printed once.
    assert re.search(r"loop\.w-01 +grid_worker +\S{16}", importer.log()), importer.log()
    add_user(db, "ops", "control_room", community="loop")
    services("ingest", ["ingest"], env)
    services("edge", ["edge", "--config", str(agent)], env)
    rules = services("rules", ["rules"], env)
    services("api", ["api"], env)
    assert wait_until(lambda: api_up(port), 30)
    operator = logged_in(f"http://127.0.0.1:{port}", "ops")

    def api_get(path: str) -> Any:
        response = operator.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    # One alert, pushed once to the grid worker, in Chinese, naming the resident.
    assert wait_until(lambda: len(receiver.deliveries) >= 1, 60), "no push arrived"
    push = receiver.deliveries[0]
    assert push.path == "/w-01"
    assert "张桂英" in push.body["message"] + push.body["title"]
    assert wait_until(lambda: _open_alerts(db) and _open_alerts(db)[0]["fired_count"] >= 3, 30)
    # The rules service dies with the alert open and comes back: the same alert goes on,
    # nobody is pushed twice.
    rules.kill()
    rules.start()
    counted = _open_alerts(db)[0]["fired_count"]
    assert wait_until(lambda: _open_alerts(db)[0]["fired_count"] >= counted + 2, 30)
    alerts = db.execute("SELECT * FROM alerts").fetchall()
    assert len(alerts) == 1 and alerts[0]["subject"] == "r-0001"
    assert len(receiver.deliveries) == 1
    listed = api_get("/api/v1/alerts?status=open")["items"]
    assert [a["id"] for a in listed] == [alerts[0]["id"]]

    # A malformed MQTT message from a misbehaving device (ingest is subscribed by now).
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    publisher.publish("linli/v1/loop/b01/b01-u1-door/events", b'{"schema": 1, "kind": "x"}',
                      qos=1).wait_for_publish(5)
    publisher.loop_stop()
    publisher.disconnect()

    # The operator sees both bad inputs, with reasons; the events around them are stored.
    assert wait_until(lambda: bool(api_get("/api/v1/dead-letters")["items"]), 20)
    dead = api_get("/api/v1/dead-letters")["items"]
    assert len(dead) == 1 and dead[0]["reason"]
    assert db.execute("SELECT count(*) AS n FROM events").fetchone() == {"n": 2 + 28}
    rejects = list((tmp_path / "spool").rglob("*reject*"))
    assert rejects and "this is not json" in rejects[0].read_text()
    assert wait_until(lambda: _agent_status(db).get("rejected_lines") == 1, 40)

    # The resident comes out: the alert resolves itself within seconds, with a timeline entry.
    with log_file.open("a") as log:
        log.write(door_line(dt.datetime.now(dt.UTC), "r-0001"))
    assert wait_until(lambda: not _open_alerts(db), 30), "alert not resolved"
    timeline = db.execute("SELECT action, actor FROM alert_timeline WHERE alert_id = %s ORDER BY at, id",
                          (alerts[0]["id"],)).fetchall()
    actions = [t["action"] for t in timeline]
    assert actions[0] == "raised" and "notified" in actions and "resolved" in actions
    assert actions.index("notified") < actions.index("resolved")
    # The worker who was told hears that no visit is needed any more.
    assert wait_until(lambda: len(receiver.deliveries) == 2, 20)
    assert "已解除" in receiver.deliveries[1].body["title"]
    operator.close()


def _open_alerts(db: psycopg.Connection[dict[str, Any]]) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM alerts WHERE status IN ('open', 'acknowledged')").fetchall()


def _agent_status(db: psycopg.Connection[dict[str, Any]]) -> dict[str, Any]:
    row = db.execute("SELECT status FROM devices WHERE id = 'agent'").fetchone()
    return dict(row["status"] or {}) if row else {}
