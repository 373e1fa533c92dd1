"""Duress benchmark: a duress event at a door → the push on the grid worker's phone.

Runs a private Mosquitto and PostgreSQL, ingest and the rules service as real processes,
and a local webhook receiver standing in for the phones (Apprise ``json://``). While a
publisher sends ``--rate`` passages a second of other traffic, a duress event is published
every ``--every`` seconds at a door that has none open yet; the latency of each is the time
from its publication to the first push about it arriving at the receiver. Prints p50, p95,
p99 and max, and how many of them arrived.

    python -m bench.urgent [--rate 500] [--duress 60] [--every 0.5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import yaml

from bench.services import private_services
from linli.contract import Event, EventKind, Source
from linli.directory import import_directory, load_directory
from linli.mqtt import parse_broker_url
from linli.webhook import Delivery, WebhookReceiver

COMMUNITY = "urgent"
BUILDINGS = 4
DOORS = 30


def directory(receiver: WebhookReceiver) -> dict[str, object]:
    buildings = [f"b{n:02d}" for n in range(1, BUILDINGS + 1)]
    return {
        "community": {"id": COMMUNITY, "name": "压力测试小区"},
        "grids": [{"id": "g1", "name": "第一网格"}],
        "buildings": [{"id": b, "name": f"{n}栋", "grid": "g1"}
                      for n, b in enumerate(buildings, 1)],
        "grid_workers": [
            {"id": "w-01", "name": "王芳", "grids": ["g1"], "notify": [receiver.url("/w-01")]},
            {"id": "w-cr", "name": "值班员", "role": "control_room",
             "notify": [receiver.url("/w-cr")]}],
        "devices": [{"building": b, "id": f"{b}-d{d:02d}", "kind": "door"}
                    for b in buildings for d in range(DOORS)],
    }


def event(kind: EventKind, building: str, device: str) -> Event:
    return Event(event_id=uuid.uuid4(), occurred_at=dt.datetime.now(dt.UTC),
                 community=COMMUNITY, building=building, device=device, kind=kind,
                 direction="in" if kind is EventKind.PASSAGE else None,
                 person_id="r-bench" if kind is EventKind.PASSAGE else None,
                 credential="face" if kind is EventKind.PASSAGE else None, source=Source.DOOR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500, help="other events per second")
    parser.add_argument("--duress", type=int, default=60, help="duress events to time")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between them")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="linli-urgent-"))
    arrived: dict[str, float] = {}
    procs: list[subprocess.Popen[bytes]] = []
    with private_services("urgent") as services:
        receiver = WebhookReceiver(on_delivery=lambda d: _note(d, arrived)).start()
        try:
            url, broker = services.url, services.broker
            path = work / "community.yaml"
            path.write_text(yaml.safe_dump(directory(receiver), allow_unicode=True), "utf-8")
            with psycopg.connect(url) as conn:
                import_directory(conn, load_directory(path))
            env = dict(os.environ, LINLI_DATABASE_URL=url, LINLI_MQTT_URL=broker.url,
                       LINLI_LOG_LEVEL="WARNING", LINLI_INGEST__CLIENT_ID="bench-urgent",
                       LINLI_RULES__INTERVAL_S="60", LINLI_PUSH__POLL_INTERVAL_S="2")
            for service in ("ingest", "rules"):
                procs.append(subprocess.Popen([sys.executable, "-m", "linli.cli", service], env=env))
            time.sleep(3.0)
            sent = run(broker.url, args)
            deadline = time.monotonic() + 10
            while len(arrived) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.1)
            report(sent, arrived, args)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(15)
            receiver.stop()


def run(broker_url: str, args: argparse.Namespace) -> dict[str, float]:
    """Background traffic at ``rate`` for the whole run; duress events timed on the side."""
    address = parse_broker_url(broker_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-urgent-pub",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.connect(address.host, address.port)
    client.loop_start()
    stop = threading.Event()
    background = threading.Thread(target=traffic, args=(client, args.rate, stop), daemon=True)
    background.start()
    sent: dict[str, float] = {}
    doors = [(f"b{b:02d}", f"b{b:02d}-d{d:02d}") for d in range(DOORS)
             for b in range(1, BUILDINGS + 1)]
    try:
        time.sleep(2.0)  # the traffic is flowing before the first duress
        for n in range(min(args.duress, len(doors))):
            building, device = doors[n]
            alarm = event(EventKind.DURESS, building, device)
            sent[f"{building}/{device}"] = time.monotonic()
            client.publish(alarm.topic, alarm.to_json(), qos=1)
            time.sleep(args.every)
    finally:
        stop.set()
        background.join()
        client.loop_stop()
        client.disconnect()
    return sent


def traffic(client: mqtt.Client, rate: float, stop: threading.Event) -> None:
    """Passages at ``rate`` per second, spread over the doors, paced by the clock."""
    start, n = time.monotonic(), 0
    while not stop.is_set():
        building = f"b{1 + n % BUILDINGS:02d}"
        passage = event(EventKind.PASSAGE, building, f"{building}-d{n % DOORS:02d}")
        client.publish(passage.topic, passage.to_json(), qos=1)
        n += 1
        ahead = start + n / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)


def _note(delivery: Delivery, arrived: dict[str, float]) -> None:
    # The push names the door in its body; the first push about a door is the one timed.
    text = f"{delivery.body.get('title', '')}\n{delivery.body.get('message', '')}"
    moment = time.monotonic()
    for b in range(1, BUILDINGS + 1):
        for d in range(DOORS):
            key = f"b{b:02d}/b{b:02d}-d{d:02d}"
            if f"b{b:02d}-d{d:02d}" in text and key not in arrived:
                arrived[key] = moment


def report(sent: dict[str, float], arrived: dict[str, float], args: argparse.Namespace) -> None:
    latencies = sorted((arrived[k] - sent[k]) * 1000 for k in sent if k in arrived)
    print(f"machine: {os.cpu_count()} cores; other traffic {args.rate:.0f} events/s; "
          f"{len(sent)} duress events, one every {args.every} s")
    print(f"pushed: {len(latencies)} of {len(sent)}")
    if latencies:
        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, round(p * (len(latencies) - 1)))]
        print(f"duress → push latency: p50 {pct(0.5):.0f} ms, p95 {pct(0.95):.0f} ms, "
              f"p99 {pct(0.99):.0f} ms, max {latencies[-1]:.0f} ms, "
              f"mean {statistics.fmean(latencies):.0f} ms")


if __name__ == "__main__":
    main()
