"""``linli demo``: the whole system on one machine, on embedded defaults.

Starts a private PostgreSQL and Mosquitto when none is configured, simulates a community
(door logs with daily routines, elderly residents living alone, one who stays in; the doors
of every building but the first are simulated Hikvision, Dahua and ZKTeco terminals that
the agents read over their own protocols), imports it, and runs every service as its own
process — edge agents, ingest, rules, API — exactly as a deployment would. Pushes go to a local
receiver that prints them. Within a minute the resident who stays in raises an alert,
visible in the API and the dashboard.

The rules start once the two weeks of history are stored (every door's last passage of
it is in the database), however long the agents take to read it on a busy machine: rules
judging a half-stored history would see residents silent for days and alert about them.

One login per role is made and printed at start (new passwords at every start): an admin,
the control room and the grid worker of the resident who stays in (their accounts come
from the directory import), an installer and an auditor. The demo reads the API itself
with a read-only token of the admin.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import psycopg

from linli import users
from linli.accounts import Role, new_password
from linli.db import migrate
from linli.embedded import EmbeddedMosquitto, EmbeddedPostgres, free_port
from linli.errors import ConfigError, ServiceError
from linli.i18n import Catalog
from linli.runtime import install_stop_handlers
from linli.settings import Settings
from linli.users import Actor
from linli.webhook import Delivery, WebhookReceiver

if TYPE_CHECKING:
    from hardware.simulator.run import Simulation
    from hardware.simulator.terminals import Vendor

log = logging.getLogger("linli.demo")

HISTORY_DAYS = 15
"""Door history written at start: more than the rules' ``full_days`` of learning."""

TEXT = Catalog({
    "starting": {"zh-CN": "邻里演示启动中……", "en": "Starting the Linli demo..."},
    "services": {"zh-CN": "服务已启动：数据库 {db}，消息代理 {mqtt}",
                 "en": "Services up: database {db}, broker {mqtt}"},
    "dashboard": {"zh-CN": "控制台: http://127.0.0.1:{port}/    接口文档: http://127.0.0.1:{port}/docs",
                  "en": "Dashboard: http://127.0.0.1:{port}/    API docs: http://127.0.0.1:{port}/docs"},
    "waiting": {"zh-CN": "等待“独居老人未出现”预警……", "en": "Waiting for the silent-resident alert..."},
    "alert": {"zh-CN": "预警 #{id}：{title}", "en": "Alert #{id}: {title}"},
    "push": {"zh-CN": "📱 推送至 {worker}：{title}\n{body}", "en": "📱 Push to {worker}: {title}\n{body}"},
    "simulated": {"zh-CN": "模拟社区：{residents} 位居民，已写入 {lines} 条历史门禁记录",
                  "en": "Simulated community: {residents} residents, {lines} past door records"},
    "terminal": {"zh-CN": "门禁终端 {device}：模拟{vendor}设备 {url}",
                 "en": "Door {device}: simulated {vendor} terminal at {url}"},
    "hikvision": {"zh-CN": "海康威视", "en": "Hikvision"},
    "dahua": {"zh-CN": "大华", "en": "Dahua"},
    "zkteco": {"zh-CN": "中控智慧", "en": "ZKTeco"},
    "stays_in": {"zh-CN": "独居老人 {name}（{id}）自 {last} 起未出门",
                 "en": "{name} ({id}), living alone, has stayed in since {last}"},
    "stop": {"zh-CN": "按 Ctrl-C 停止。", "en": "Press Ctrl-C to stop."},
    "history": {"zh-CN": "历史门禁记录已入库，规则引擎启动", "en": "Door history stored; starting the rules"},
    "history_timeout": {"zh-CN": "{seconds} 秒内历史门禁记录未全部入库",
                        "en": "the door history was not all stored within {seconds} s"},
    "why": {"zh-CN": "原因：{text}", "en": "Why: {text}"},
    "duress": {"zh-CN": "模拟门禁胁迫报警：{device}（{time}）",
               "en": "Simulating a duress alarm at {device} ({time})"},
    "duress_pushed": {"zh-CN": "胁迫报警 → 推送：{ms} 毫秒（告警 #{id}，{severity}）",
                      "en": "Duress alarm → push: {ms} ms (alert #{id}, {severity})"},
    "duress_missing": {"zh-CN": "胁迫报警未在 {seconds} 秒内推送",
                       "en": "the duress alarm was not pushed within {seconds} s"},
    "timeout": {"zh-CN": "{seconds} 秒内未出现预警", "en": "no alert within {seconds} s"},
    "logins": {"zh-CN": "登录账号（每次启动重新生成密码）：",
               "en": "Logins (new passwords at every start):"},
    "login": {"zh-CN": "  {label}（{role}）: {username}  /  {password}",
              "en": "  {label} ({role}): {username}  /  {password}"},
    "admin": {"zh-CN": "管理员", "en": "admin"},
    "control_room": {"zh-CN": "指挥中心值班员", "en": "control room"},
    "grid_worker": {"zh-CN": "网格员", "en": "grid worker"},
    "installer": {"zh-CN": "设备安装员", "en": "installer"},
    "auditor": {"zh-CN": "审计员", "en": "auditor"},
})

DEMO = Actor(username="demo")
"""Who the audit log names for what the demo sets up."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the whole system on this machine")
    parser.add_argument("--dir", type=Path, default=Path("var/demo"),
                        help="working folder (simulated logs, spools); wiped at start")
    parser.add_argument("--port", type=int, default=None,
                        help="API and dashboard port (default: LINLI_API__PORT, else 8000; "
                             "0: a free one)")
    parser.add_argument("--buildings", type=int, default=3)
    parser.add_argument("--vendors", default="hikvision,dahua,zkteco",
                        help="simulated terminals for the doors of buildings after the first, "
                             "in turn (hikvision, dahua, zkteco; '' = every door writes a log)")
    parser.add_argument("--until-alert", action="store_true",
                        help="exit once the silent-resident alert is in the API (for checks)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait for the alert before giving up")
    parser.add_argument("--verbose", action="store_true", help="show the services' own logs")
    parser.set_defaults(run=run)


class _Children:
    """The service processes the demo started, stopped in reverse order."""

    def __init__(self, env: dict[str, str], verbose: bool) -> None:
        self.env = env
        self.verbose = verbose
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def linli(self, *args: str, wait: bool = False) -> None:
        command = [sys.executable, "-m", "linli.cli", *args]
        out = None if self.verbose else subprocess.DEVNULL
        if wait:
            result = subprocess.run(command, env=self.env, stdout=out, check=False)
            if result.returncode != 0:
                raise ServiceError(f"linli {' '.join(args)} failed ({result.returncode})")
            return
        self.procs.append((args[0], subprocess.Popen(command, env=self.env, stdout=out)))

    def check(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise ServiceError(f"the {name} service exited ({proc.returncode})")

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in reversed(self.procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def run(args: argparse.Namespace, settings: Settings) -> int:
    stop = install_stop_handlers()
    locale = settings.locale
    if not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)
    print(TEXT("starting", locale), flush=True)
    workdir = args.dir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)

    vendors = _vendors(args.vendors)
    pg = mqtt = None
    sim: Simulation | None = None
    receiver = WebhookReceiver(on_delivery=lambda d: _print_push(d, locale)).start()
    children: _Children | None = None
    try:
        if settings.database_url is None:
            pg = EmbeddedPostgres().start()
            with psycopg.connect(pg.url(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE linli")
            database_url = pg.url("linli")
        else:
            database_url = settings.require_database_url()
        if settings.mqtt_url is None:
            mqtt = EmbeddedMosquitto().start()
            mqtt_url = mqtt.url
        else:
            mqtt_url = settings.require_mqtt_url()
        migrate(database_url)
        print(TEXT("services", locale, db="PostgreSQL", mqtt="Mosquitto"), flush=True)

        port = (settings.api.port if args.port is None else args.port) or free_port()
        env = _child_env(settings, database_url, mqtt_url, workdir, port)
        children = _Children(env, args.verbose)
        sim, last_passages = _simulate(workdir / "sim", args.buildings, vendors,
                                       receiver.url(), database_url, locale)
        token = _logins(database_url, sim, locale)
        api = _Api(port, token)
        deadline = time.monotonic() + args.timeout
        children.linli("ingest")
        children.linli("api")
        for agent in sorted(sim.files.agents.values()):
            children.linli("edge", "--config", str(agent))
        if not _wait_for_history(database_url, last_passages, deadline, stop, children):
            if stop.is_set():
                return 0
            raise ServiceError(TEXT("history_timeout", locale, seconds=int(args.timeout)))
        print(TEXT("history", locale), flush=True)
        children.linli("rules")
        follower = threading.Thread(target=sim.follow, args=(stop,), name="simulator", daemon=True)
        follower.start()

        print(TEXT("dashboard", locale, port=port), flush=True)
        print(TEXT("waiting", locale), flush=True)
        alert = _wait_for_alert(api, max(deadline - time.monotonic(), 0.0), stop, children)
        if alert is None:
            if stop.is_set():
                return 0
            raise ServiceError(TEXT("timeout", locale, seconds=int(args.timeout)))
        print(TEXT("alert", locale, id=alert["id"], title=alert["title"]), flush=True)
        explained = _explanation(alert, sim.community.zone, locale)
        if explained:
            print(TEXT("why", locale, text=explained), flush=True)
        pushed = _duress(sim, receiver, api, locale, stop)
        if args.until_alert:
            # The check ends when the grid worker's push about the resident has arrived too.
            name = str((alert.get("details") or {}).get("name", alert.get("subject")))
            deadline = time.monotonic() + 30
            while not _pushed_about(receiver, name) and time.monotonic() < deadline \
                    and not stop.is_set():
                stop.wait(0.5)
            return 0 if _pushed_about(receiver, name) and pushed else 1
        print(TEXT("stop", locale), flush=True)
        while not stop.wait(1.0):
            children.check()
        return 0
    finally:
        if children:
            children.stop()
        if sim:
            sim.stop_terminals()
        receiver.stop()
        if mqtt:
            mqtt.cleanup()
        if pg:
            pg.cleanup()


def _vendors(value: str) -> list[Vendor]:
    from hardware.simulator.terminals import VENDORS

    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(VENDORS))
    if unknown:
        raise ConfigError(f"--vendors: unknown {unknown}; known are {list(VENDORS)}")
    return names  # type: ignore[return-value]  # checked against VENDORS just above


def _simulate(out: Path, buildings: int, vendors: list[Vendor], notify_base: str,
              database_url: str, locale: str) -> tuple[Simulation, dict[str, dt.datetime]]:
    """Generate the community, put the chosen doors on simulated terminals, write two weeks
    of door records, import its directory (its staff get accounts). Returns the simulation
    and each door's last passage of the history written."""
    from hardware.simulator.community import CommunitySpec
    from hardware.simulator.routines import records_between
    from hardware.simulator.run import Simulation
    from linli.directory import import_directory, load_directory

    spec = CommunitySpec(buildings=buildings, stay_in=1, notify_base=notify_base)
    sim = Simulation.create(spec, out)
    # Two weeks of routine, so that the rules know each resident's habits (a new resident
    # is judged by a cautious prior), reaching back to the stay-in resident's last return.
    oldest = min(sim.stay_until.values(), default=sim.now)
    hours = max(HISTORY_DAYS * 24.0, (sim.now - oldest).total_seconds() / 3600 + 1)
    if vendors:
        first = sim.community.directory.buildings[0].id
        doors = [device for building, device in sim.community.doors if building != first]
        sim.use_terminals({device: vendors[i % len(vendors)] for i, device in enumerate(doors)},
                          backfill_hours=hours + 1)
        for device, terminal in sorted(sim.terminals.items()):
            print(TEXT("terminal", locale, device=device, vendor=TEXT(terminal.vendor, locale),
                       url=terminal.url), flush=True)
    written = sim.write_history(hours)
    last_passages = {record.device: record.time for record in records_between(
        sim.community, sim.now - dt.timedelta(hours=hours), sim.now, sim.stay_until)
        if record.event == "passage"}
    with psycopg.connect(database_url) as conn:
        import_directory(conn, load_directory(sim.files.directory), actor=DEMO)
    print(TEXT("simulated", locale, lines=written, residents=len(sim.community.directory.residents)),
          flush=True)
    for person in sim.stay_in_people():
        print(TEXT("stays_in", locale, name=person["name"], id=person["id"],
                   last=person["last_passage"]), flush=True)
    return sim, last_passages


def _logins(database_url: str, sim: Simulation, locale: str) -> str:
    """Make and print one login per role (fresh passwords, none to change); returns the
    admin's read-only token for the demo's own API reads."""
    from linli.directory_accounts import account_name

    directory = sim.community.directory
    community = directory.community.id
    watched = {sim.community.person(rid).building for rid in sim.stay_until}
    grids = {b.grid for b in directory.buildings if b.id in watched}
    staff = [w for w in directory.grid_workers if w.role == "grid_worker"]
    worker = next((w for w in staff if grids & set(w.grids)), staff[0])
    control = next(w for w in directory.grid_workers if w.role == "control_room")
    logins = [(Role.ADMIN, "admin", None), (Role.CONTROL_ROOM, account_name(community, control),
                                            community),
              (Role.GRID_WORKER, account_name(community, worker), community),
              (Role.INSTALLER, "installer", community), (Role.AUDITOR, "auditor", None)]
    shown = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for role, username, place in logins:
            password = new_password()
            # Staff accounts come from the import (which asks for a new password at the
            # first login, skipped here); the others are made once per database.
            if users.find_user(conn, username=username) is None:
                users.create_user(conn, username=username, role=role, password=password,
                                  must_change_password=False, actor=DEMO, community=place)
            else:
                users.set_password(conn, username=username, password=password,
                                   must_change_password=False, actor=DEMO)
            shown.append((role, username, password))
        token = users.create_token(conn, username="admin", name="demo", scope="read", days=1,
                                   actor=DEMO).token
    print(TEXT("logins", locale), flush=True)
    for role, username, password in shown:
        print(TEXT("login", locale, label=TEXT(role.value, locale), role=role.value,
                   username=username, password=password), flush=True)
    return token


def _child_env(settings: Settings, database_url: str, mqtt_url: str, workdir: Path,
               port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "LINLI_DATABASE_URL": database_url,
        "LINLI_MQTT_URL": mqtt_url,
        "LINLI_LOCALE": settings.locale,
        "LINLI_EDGE__SPOOL_DIR": str(workdir / "spool"),
        "LINLI_RULES__INTERVAL_S": "10",
        "LINLI_PUSH__POLL_INTERVAL_S": "1",
        "LINLI_API__PORT": str(port),
        "LINLI_INGEST__CLIENT_ID": "linli-ingest-demo",
    })
    env.setdefault("LINLI_LOG_LEVEL", "WARNING")
    return env


class _Api:
    """The demo's own reads of the API, with the admin's read-only token."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.token = token

    def open_alert(self, rule: str) -> dict[str, Any]:
        """The newest open alert of ``rule``; {} when none (or the API is not up yet)."""
        request = urllib.request.Request(f"{self.base}/alerts?rule={rule}&status=open",
                                         headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                items = json.load(response).get("items", [])
        except OSError:
            return {}
        return dict(items[0]) if items else {}


def _wait_for_history(database_url: str, last_passages: dict[str, dt.datetime],
                      deadline: float, stop: threading.Event, children: _Children) -> bool:
    """Until every door's last passage of the history is stored (an agent reads its door
    oldest first, so the rest is stored too); False on timeout or stop. Terminals keep
    whole seconds, hence the comparison by the second."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline and not stop.is_set():
            children.check()
            stored: dict[str, dt.datetime] = dict(conn.execute(
                "SELECT device, max(occurred_at) FROM events WHERE kind = 'passage' "
                "GROUP BY device").fetchall())
            if all(device in stored and stored[device] >= at.replace(microsecond=0)
                   for device, at in last_passages.items()):
                return True
            stop.wait(0.5)
    return False


def _wait_for_alert(api: _Api, timeout: float, stop: threading.Event,
                    children: _Children) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        children.check()
        alert = api.open_alert("silent_resident")  # {} while the API is still starting
        if alert:
            return alert
        stop.wait(1.0)
    return None


def _explanation(alert: dict[str, Any], zone: ZoneInfo, locale: str) -> str:
    """The alert's one-line explanation, as the push carries it."""
    from rules.care.texts import explanation

    details = alert.get("details") or {}
    judged = details.get("judged_at")
    if not judged:
        return ""
    return explanation(details, dt.datetime.fromisoformat(judged), zone, locale)


def _pushed_about(receiver: WebhookReceiver, name: str) -> bool:
    return any(name in str(d.body.get("message", "")) for d in receiver.deliveries)


def _duress(sim: Simulation, receiver: WebhookReceiver, api: _Api, locale: str,
            stop: threading.Event) -> bool:
    """Someone opens the first building's door under threat: time the alarm to its push."""
    from hardware.simulator.routines import DoorRecord

    first = sim.community.directory.buildings[0].id
    device = next(d for b, d in sim.community.doors if b == first and d not in sim.terminals)
    now = dt.datetime.now(sim.community.zone)
    before = len(receiver.deliveries)
    print(TEXT("duress", locale, device=device, time=now.strftime("%H:%M:%S")), flush=True)
    started = time.monotonic()
    with sim.logs() as logs:
        logs.write(DoorRecord(now, device, "duress", reader=1, credential="fingerprint"))
    deadline = started + 30
    while time.monotonic() < deadline and not stop.is_set():
        for delivery in receiver.deliveries[before:]:
            title = str(delivery.body.get("title", ""))
            if "胁迫" in title or "Duress" in title:
                elapsed = (time.monotonic() - started) * 1000
                alert = api.open_alert("duress")
                print(TEXT("duress_pushed", locale, ms=round(elapsed),
                           id=alert.get("id", "?"), severity=alert.get("severity", "?")),
                      flush=True)
                return True
        stop.wait(0.05)
    print(TEXT("duress_missing", locale, seconds=30), flush=True)
    return False


def _print_push(delivery: Delivery, locale: str) -> None:
    worker = delivery.path.strip("/") or "?"
    print(TEXT("push", locale, worker=worker, title=delivery.body.get("title", ""),
               body=delivery.body.get("message", "")), flush=True)
