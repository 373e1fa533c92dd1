"""The whole closed loop of an alert with real processes (ingest, edge agent, rules, API):
raised (吹哨) → dispatched by the control room to a named worker (派单) → the push reaches a
local HTTP receiver standing in for that worker's phone, and its link opens the alert after
login → acknowledged → on-site feedback (核查反馈) → accepted (考核评价) → archived (归档).
Every step is on the timeline with the person who took it, and the month's figures count it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
import yaml

from linli.embedded import EmbeddedMosquitto, free_port
from linli.webhook import WebhookReceiver
from tests.accounts import logged_in, set_password
from tests.e2e.conftest import Service, wait_until
from tests.e2e.test_alert_loop import directory, door_line

pytestmark = pytest.mark.e2e

Db = psycopg.Connection[dict[str, Any]]
LINK = re.compile(r"(https?://\S+)/go/([A-Za-z0-9_-]+)")


def _community(receiver: WebhookReceiver) -> dict[str, Any]:
    """The care loop's community, with a second grid worker and a control room."""
    community = directory(receiver.url("/w-01"))
    community["grid_workers"] += [
        {"id": "w-02", "name": "赵磊", "role": "grid_worker", "grids": ["g1"],
         "notify": [receiver.url("/w-02")]},
        {"id": "ctl", "name": "值班室", "role": "control_room", "grids": [],
         "notify": [receiver.url("/ctl")]},
    ]
    return community


def _pushes_to(receiver: WebhookReceiver, path: str) -> list[Any]:
    return [d for d in receiver.deliveries if d.path == path]


def test_an_alert_goes_round_the_whole_loop(
    tmp_path: Path,
    db_url: str,
    db: Db,
    broker: EmbeddedMosquitto,
    receiver: WebhookReceiver,
    services: Callable[..., Service],
) -> None:
    community_file = tmp_path / "community.yaml"
    community_file.write_text(yaml.safe_dump(_community(receiver), allow_unicode=True))
    now = dt.datetime.now(dt.UTC)
    last_home = now - dt.timedelta(hours=40)
    log_file = tmp_path / "b01-u1-door.jsonl"
    log_file.write_text("".join(
        door_line(last_home - dt.timedelta(days=day, hours=2), "r-0001")
        + door_line(last_home - dt.timedelta(days=day), "r-0001", direction="in")
        for day in range(14, -1, -1)))
    agent = tmp_path / "agent.yaml"
    agent.write_text(yaml.safe_dump({
        "community": "loop", "building": "b01",
        "sources": [{"type": "log", "device": "b01-u1-door", "path": str(log_file),
                     "format": "jsonl"}]}))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"LINLI_DATABASE_URL": db_url, "LINLI_MQTT_URL": broker.url,
           "LINLI_EDGE__SPOOL_DIR": str(tmp_path / "spool"), "LINLI_RULES__INTERVAL_S": "1",
           "LINLI_PUSH__POLL_INTERVAL_S": "0.5", "LINLI_API__PORT": str(port),
           "LINLI_API__PUBLIC_URL": base, "LINLI_INGEST__CLIENT_ID": "ingest-closed-loop"}
    importer = services("import", ["import", str(community_file)], env)
    assert importer.proc is not None and importer.proc.wait(60) == 0, importer.log()
    # The import gave every worker an account (loop.<id>); they set their passwords.
    set_password(db, "loop.w-02")
    set_password(db, "loop.ctl")
    for name, args in (("ingest", ["ingest"]), ("edge", ["edge", "--config", str(agent)]),
                       ("rules", ["rules"]), ("api", ["api"])):
        services(name, args, env)

    # 吹哨: the rules raise the alert and tell the grid's workers.
    assert wait_until(lambda: bool(_pushes_to(receiver, "/w-01")), 90), "no alert was pushed"
    alert = db.execute("SELECT id, status FROM alerts WHERE subject = 'r-0001'").fetchone()
    assert alert is not None and alert["status"] == "open"
    alert_id = alert["id"]
    first = _pushes_to(receiver, "/w-01")[0].body
    assert "000-0000" not in first["message"]  # contacts' phones stay out of pushes
    assert wait_until(lambda: _api_up(base), 30)
    control = logged_in(base, "loop.ctl")
    worker = logged_in(base, "loop.w-02")

    # 派单: the control room dispatches it to a named worker, who gets a push with a link.
    dispatched = control.post(f"/api/v1/alerts/{alert_id}/dispatch",
                              json={"worker": "w-02", "note": "请尽快上门查看"})
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.json()["assignee"] == "w-02"
    assert wait_until(lambda: bool(_pushes_to(receiver, "/w-02")), 30), "no dispatch push"
    push = _pushes_to(receiver, "/w-02")[0].body
    found = LINK.search(push["message"])
    assert found is not None and found[1] == base, push
    with httpx.Client(base_url=base) as stranger:  # the link alone opens nothing
        opened = stranger.get(f"/go/{found[2]}", follow_redirects=False)
        assert opened.status_code == 303
        assert opened.headers["location"] == f"/?alert={alert_id}"
        assert stranger.get(f"/api/v1/alerts/{alert_id}").status_code == 401
    shown = worker.get(f"/api/v1/alerts/{alert_id}")
    assert shown.status_code == 200 and shown.json()["id"] == alert_id

    # 响应处置 and 核查反馈: the worker acknowledges, looks up whom to call, and reports.
    assert worker.post(f"/api/v1/alerts/{alert_id}/acknowledge",
                       json={"note": "正在前往"}).status_code == 200
    contacts = worker.get(f"/api/v1/alerts/{alert_id}/contacts")
    assert contacts.status_code == 200 and "000-0000" in contacts.text
    feedback = worker.post(f"/api/v1/alerts/{alert_id}/feedback",
                           json={"outcome": "safe", "note": "老人在家，感冒卧床，已联系家属"})
    assert feedback.status_code == 200, feedback.text
    assert feedback.json()["status"] == "resolved"

    # 考核评价 and 事件归档 by the control room.
    assert control.post(f"/api/v1/alerts/{alert_id}/review",
                        json={"decision": "accepted"}).status_code == 200
    archived = control.post(f"/api/v1/alerts/{alert_id}/archive", json={})
    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived"

    steps = [(s["action"], s["actor"]) for s in archived.json()["timeline"]]
    people = [step for step in steps if step[1] != "system"]
    duty, zhao = "loop.ctl", "loop.w-02"
    assert people == [("dispatched_to", duty), ("acknowledged", zhao), ("feedback", zhao),
                      ("accepted", duty), ("archived", duty)]
    assert steps[0] == ("raised", "system")
    assert ("notified", "system") in steps
    audited = [(a["username"], a["action"], a["target"]) for a in db.execute(
        "SELECT username, action, target FROM audit_log ORDER BY id").fetchall()]
    assert (zhao, "read.contacts", "resident:loop/r-0001") in audited
    assert (duty, "alert.archived", f"alert:{alert_id}") in audited
    assert (zhao, "link.opened", f"alert:{alert_id}") in audited  # the link was zhao's

    # The visit the worker confirmed is a sign of life: the rules do not raise it again.
    assert not wait_until(lambda: _active(db), 4)

    # 考核: the month's figures count it, for the worker it was dispatched to.
    month = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    figures = control.get("/api/v1/figures",
                          params={"community": "loop", "month": month, "by": "worker"})
    assert figures.status_code == 200, figures.text
    row = next(g for g in figures.json()["groups"] if g["key"] == "w-02")
    assert (row["raised"], row["acknowledged"], row["closed"], row["archived"]) == (1, 1, 1, 1)
    assert (row["resolution_rate"], row["completion_rate"]) == (1.0, 1.0)
    control.close()
    worker.close()


def _api_up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def _active(db: Db) -> bool:
    return db.execute("SELECT 1 FROM alerts WHERE status IN ('open', 'acknowledged')"
                      ).fetchone() is not None
