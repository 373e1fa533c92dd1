"""Pipeline benchmark: door log → edge spool → broker → ingest → database.

Runs everything on this machine (private Mosquitto and PostgreSQL, the services as real
processes) and prints:

* the raw limit: a plain binary COPY of the same rows into a table shaped like ``events``
  (same indexes, same unique key) in the same database;
* ingest drain: N events already queued in the broker for ingest's session (the agents
  published them while ingest was away) — events/s that ingest stores, and its ratio to the
  plain COPY: ingest's own ceiling, whatever the agents can do;
* burst: N lines already in the controllers' logs when the agents start, ingest running —
  sustained events/s through the whole pipeline, and its ratio to the plain COPY;
* paced: N lines appended at a fixed rate with their real time — end-to-end latency
  (line written → row committed) p50/p95/p99;
* burst on PUBACK: the burst again with the agents deleting on the broker's
  acknowledgement (``LINLI_EDGE__RECEIPTS=false``, the behaviour before receipts): the
  cost of keeping events until ingest stored them, in events/s and in the spools' peak
  size (and the first paced run again, the same way: ``paced-puback``);
* broker autosave: what the other way to survive a broker crash costs, Mosquitto writing
  its queue on every change (``autosave_on_changes true``, ``autosave_interval 1``):
  QoS 1 publishes/s into a queue of ``--autosave-queue`` messages with ingest away.

Waiting for the agents: with ingest running, a run ends when every event is stored *and*
every spool is empty (the receipts arrived). With ingest away (drain) nothing is confirmed,
so the spools keep every event: that run waits until every agent's retained status says
it published (broker acknowledged) its whole log.

Every run uses the same ingest client id, as a replica does across restarts: a shared
subscription keeps dealing messages to a session that is away (until its expiry), so a
second id would leave part of the next run queued for a session that never comes back.

    python -m bench.pipeline [--events 100000] [--agents 4] [--rate 5000] [--quiet-rate 500]
                             [--modes copy,drain,burst,paced,burst-puback,autosave]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import sqlite3
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
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.services import (
    COMMUNITY,
    door_events,
    plain_copy,
    private_services,
    sustained_rate,
    wait_for_rows,
)
from ingest.batch import event_row
from linli.embedded import EmbeddedMosquitto

MODES = ("copy", "drain", "burst", "paced", "burst-puback", "paced-puback", "autosave")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=4, help="buildings, one agent process each")
    parser.add_argument("--rate", type=float, default=5000, help="events/s of the paced run")
    parser.add_argument("--quiet-rate", type=float, default=500,
                        help="events/s of a second paced run, 20 s long: everyday load")
    parser.add_argument("--autosave-queue", type=int, default=20_000,
                        help="messages queued for an absent ingest in the broker-autosave run")
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"comma-separated, of {', '.join(MODES)}")
    args = parser.parse_args()
    modes = set(args.modes.split(","))
    if unknown := modes - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")

    work = Path(tempfile.mkdtemp(prefix="linli-bench-"))
    try:
        with private_services() as services:
            url, broker = services.url, services.broker
            print(f"machine: {os.cpu_count()} cores; {args.events:,} events; {args.agents} agents",
                  flush=True)
            copy_rate = plain_copy(url, [event_row(e) for e in door_events(args.events)])
            print(f"plain COPY (binary, same indexes): {copy_rate:,.0f} rows/s", flush=True)

            if "drain" in modes:
                drain = run_drain(url, broker.url, work / "drain", args.events, args.agents)
                print(f"ingest drain: {drain['rate']:,.0f} events/s stored from the broker's queue "
                      f"({drain['rate'] / copy_rate:.2f} × plain COPY); all {args.events:,} stored "
                      f"{drain['elapsed']:.1f} s after ingest started", flush=True)

            if "burst" in modes:
                burst = run_pipeline(url, broker.url, work / "burst", args.events, args.agents,
                                     rate=0)
                print(f"burst (receipts): {burst['rate']:,.0f} events/s sustained through ingest "
                      f"({burst['rate'] / copy_rate:.2f} × plain COPY); "
                      f"all {args.events:,} stored {burst['elapsed']:.1f} s and the spools empty "
                      f"{burst['emptied']:.1f} s after the agents started; spools at most "
                      f"{burst['peak_rows']:,.0f} rows, {burst['peak_mb']:.1f} MB", flush=True)

            if "paced" in modes:
                for rate, count in ((args.rate, args.events),
                                    (args.quiet_rate, args.quiet_rate * 20)):
                    paced = run_pipeline(url, broker.url, work / f"paced-{rate:.0f}", int(count),
                                         args.agents, rate=rate)
                    print(f"paced at {rate:,.0f} events/s ({int(count):,} events): latency "
                          f"p50 {paced['p50']:.0f} ms, p95 {paced['p95']:.0f} ms, "
                          f"p99 {paced['p99']:.0f} ms, max {paced['max']:.0f} ms; "
                          f"achieved {paced['rate']:,.0f} events/s; spools at most "
                          f"{paced['peak_rows']:,.0f} rows, {paced['peak_mb']:.1f} MB", flush=True)

            if "burst-puback" in modes:
                puback = run_pipeline(url, broker.url, work / "burst-puback", args.events,
                                      args.agents, rate=0, receipts=False)
                print(f"burst (delete on PUBACK): {puback['rate']:,.0f} events/s "
                      f"({puback['rate'] / copy_rate:.2f} × plain COPY); all {args.events:,} "
                      f"stored {puback['elapsed']:.1f} s after the agents started; spools at most "
                      f"{puback['peak_rows']:,.0f} rows, {puback['peak_mb']:.1f} MB", flush=True)

            if "paced-puback" in modes:
                paced = run_pipeline(url, broker.url, work / "paced-puback", args.events,
                                     args.agents, rate=args.rate, receipts=False)
                print(f"paced at {args.rate:,.0f} events/s, delete on PUBACK: latency "
                      f"p50 {paced['p50']:.0f} ms, p95 {paced['p95']:.0f} ms; achieved "
                      f"{paced['rate']:,.0f} events/s; spools at most {paced['peak_rows']:,.0f} "
                      f"rows, {paced['peak_mb']:.1f} MB", flush=True)

            if "autosave" in modes:
                for label, config in (("autosave_interval 30 (default)", ""),
                                      ("autosave_on_changes true, autosave_interval 1",
                                       "autosave_on_changes true\nautosave_interval 1")):
                    rate, last, done = broker_publish_rate(config, args.autosave_queue)
                    print(f"broker {label}: {rate:,.0f} QoS 1 publishes/s acknowledged into a "
                          f"queue for an absent ingest, {last:,.0f}/s over the last 1,000 "
                          f"({done:,} of {args.autosave_queue:,} acknowledged in at most 120 s)",
                          flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # spools and logs: hundreds of MB


def prepare(url: str, mqtt_url: str, work: Path, agents: int
            ) -> tuple[dict[str, str], list[tuple[Path, Path]]]:
    """An empty events table, the services' environment, and one log + config per agent."""
    work.mkdir(parents=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE events, presence, devices")
    env = {**os.environ, "LINLI_DATABASE_URL": url, "LINLI_MQTT_URL": mqtt_url,
           "LINLI_LOG_LEVEL": "ERROR", "LINLI_EDGE__SPOOL_DIR": str(work / "spool"),
           "LINLI_EDGE__STATUS_INTERVAL_S": "1", "LINLI_INGEST__CLIENT_ID": "bench-ingest"}
    logs = []
    for i in range(agents):
        log = work / f"b{i:02d}.jsonl"
        log.touch()
        config = work / f"b{i:02d}.yaml"
        config.write_text(yaml.safe_dump({
            "community": COMMUNITY, "building": f"b{i:02d}",
            "sources": [{"type": "log", "device": f"b{i:02d}-door", "path": str(log),
                         "format": "jsonl"}]}))
        logs.append((log, config))
    return env, logs


def run_drain(url: str, mqtt_url: str, work: Path, n: int, agents: int) -> dict[str, float]:
    """Queue ``n`` events in the broker for ingest's session, then time ingest storing them."""
    env, logs = prepare(url, mqtt_url, work, agents)
    for i, (log, _) in enumerate(logs):
        write_lines(log, range(i, n, agents))
    ingest = spawn(["ingest"], env)
    time.sleep(2.0)  # the session and its shared subscription exist from now on
    stop(ingest)
    with StatusWatcher(mqtt_url) as statuses:
        edges = [spawn(["edge", "--config", str(config)], env) for _, config in logs]
        try:
            # ingest is away: nothing is confirmed, so the spools keep every event; wait
            # for the broker to have acknowledged them all
            wait_until_published(statuses, logs, timeout=max(120.0, n / 500))
        finally:
            for proc in edges:
                stop(proc)
    started = time.perf_counter()
    ingest = spawn(["ingest"], env)
    try:
        wait_for_rows(url, n, timeout=max(120.0, n / 500))
        return measure(url, n, time.perf_counter() - started)
    finally:
        stop(ingest)


def run_pipeline(url: str, mqtt_url: str, work: Path, n: int, agents: int,
                 rate: float, receipts: bool = True) -> dict[str, float]:
    """Push ``n`` lines through agents and ingest; rate 0 writes them all before starting."""
    env, logs = prepare(url, mqtt_url, work, agents)
    env["LINLI_EDGE__RECEIPTS"] = str(receipts).lower()
    if rate == 0:
        for i, (log, _) in enumerate(logs):
            write_lines(log, range(i, n, agents))
    procs = [spawn(["ingest"], env)]
    time.sleep(1.0)  # ingest subscribed before the first event is published
    started = time.perf_counter()
    procs += [spawn(["edge", "--config", str(config)], env) for _, config in logs]
    sampler = SpoolSampler(work / "spool")
    try:
        if rate > 0:
            paced_write(logs, n, rate)
        wait_for_rows(url, n, timeout=max(120.0, n / 500))
        elapsed = time.perf_counter() - started
        # ingest is running: every event's receipt (or PUBACK) empties the spools
        wait_until_empty(work / "spool", timeout=max(60.0, n / 1000))
        emptied = time.perf_counter() - started
        return {**measure(url, n, elapsed), "emptied": emptied, **sampler.stop()}
    finally:
        sampler.stop()
        for proc in procs:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


class StatusWatcher:
    """The latest retained status of every device, as the control room receives them."""

    def __init__(self, mqtt_url: str) -> None:
        host, port = mqtt_url.removeprefix("mqtt://").split(":")
        self.latest: dict[str, dict[str, object]] = {}
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                   client_id=f"bench-status-{uuid.uuid4()}",
                                   protocol=mqtt.MQTTv5)
        self._client.on_message = self._on_message
        self._client.connect(host, int(port))
        self._client.subscribe(f"linli/v1/{COMMUNITY}/+/+/status", qos=1)
        self._client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        with contextlib.suppress(ValueError), self._lock:
            self.latest[message.topic] = json.loads(message.payload)

    def agents(self) -> dict[str, dict[str, object]]:
        """The agents' statuses by building."""
        with self._lock:
            return {topic.split("/")[3]: doc for topic, doc in self.latest.items()
                    if doc.get("kind") == "agent"}

    def __enter__(self) -> StatusWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def wait_until_published(statuses: StatusWatcher, logs: list[tuple[Path, Path]],
                         timeout: float) -> None:
    """Until every agent's status says the broker acknowledged every line of its log."""
    deadline = time.monotonic() + timeout
    lines = {config.stem: sum(1 for _ in log.open()) for log, config in logs}
    while time.monotonic() < deadline:
        published: dict[str, int] = {}
        for building, doc in statuses.agents().items():
            if doc.get("state") == "online" and not doc.get("in_flight"):
                published[building] = int(str(doc.get("published") or 0))
        if all(published.get(b, 0) >= n for b, n in lines.items()):
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out: the agents did not publish everything in {timeout:.0f} s")


def spool_rows(spool_dir: Path) -> int:
    rows = 0
    for path in spool_dir.glob("spool-*.db"):
        with contextlib.suppress(sqlite3.Error), sqlite3.connect(path, timeout=5) as db:
            rows += db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    return rows


def wait_until_empty(spool_dir: Path, timeout: float) -> None:
    """Until no spool holds an event: only when ingest runs and confirms (or the broker
    acknowledges, without receipts) what is spooled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if spool_rows(spool_dir) == 0:
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out: the spools still hold events after {timeout:.0f} s")


class SpoolSampler:
    """Peak rows and bytes (database + WAL) of all spools together, sampled every 0.25 s."""

    def __init__(self, spool_dir: Path) -> None:
        self._dir = spool_dir
        self._stop = threading.Event()
        self.peak_rows = 0
        self.peak_bytes = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            size = sum(p.stat().st_size for p in self._dir.glob("spool-*.db*")
                       if p.exists())
            self.peak_bytes = max(self.peak_bytes, size)
            self.peak_rows = max(self.peak_rows, spool_rows(self._dir))

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {"peak_rows": float(self.peak_rows), "peak_mb": self.peak_bytes / 1e6}


def broker_publish_rate(extra_config: str, n: int) -> tuple[float, float, int]:
    """QoS 1 event publishes/s (up to 200 in flight, as an agent) into a fresh broker's
    queue for an absent shared-subscription session: overall, over the last 1,000
    acknowledgements (the queue at its longest), and how many were acknowledged (the run
    gives up after 120 s)."""
    broker = EmbeddedMosquitto(extra_config=extra_config).start()
    try:
        host, port = "127.0.0.1", broker.port
        absent = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-ingest",
                             protocol=mqtt.MQTTv5)
        subscribed = threading.Event()
        absent.on_subscribe = lambda *_: subscribed.set()
        absent.connect(host, port, clean_start=False, properties=_expiry(3600))
        absent.loop_start()
        absent.subscribe(f"$share/ingest/linli/v1/{COMMUNITY}/+/+/events", qos=1)
        if not subscribed.wait(10):
            raise SystemExit("the absent ingest session could not subscribe")
        absent.disconnect()
        absent.loop_stop()
        acked = threading.Semaphore(0)
        count = [0]
        times: list[float] = []

        def on_publish(*_: object) -> None:
            count[0] += 1
            times.append(time.perf_counter())
            acked.release()

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher",
                             protocol=mqtt.MQTTv5)
        client.on_publish = on_publish
        client.connect(host, port)
        client.loop_start()
        now = dt.datetime.now(dt.UTC)
        topic = f"linli/v1/{COMMUNITY}/b00/b00-door/events"
        start = time.perf_counter()
        deadline = start + 120
        sent = 0
        while sent < n and time.perf_counter() < deadline:
            if sent - count[0] >= 200:
                acked.acquire(timeout=1)
                continue
            client.publish(topic, line(sent, now).encode(), qos=1)
            sent += 1
        while count[0] < sent and time.perf_counter() < deadline:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        client.disconnect()
        client.loop_stop()
        tail = times[-1001:]
        last = (len(tail) - 1) / (tail[-1] - tail[0]) if len(tail) > 1 else 0.0
        return count[0] / elapsed, last, count[0]
    finally:
        broker.cleanup()


def _expiry(seconds: int) -> Properties:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = seconds
    return props


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "linli.cli", *args], env=env)


def line(seq: int, at: dt.datetime) -> str:
    return json.dumps({"time": at.isoformat(timespec="microseconds"), "event": "passage",
                       "person": f"r-{seq % 500:04d}", "direction": "in", "credential": "face",
                       "seq": seq}) + "\n"


def write_lines(log: Path, seqs: range) -> None:
    now = dt.datetime.now(dt.UTC)
    with log.open("a") as f:
        f.writelines(line(seq, now) for seq in seqs)


def paced_write(logs: list[tuple[Path, Path]], n: int, rate: float) -> None:
    """Append lines in 10 ms slices at ``rate`` per second, each stamped when written."""
    files = [log.open("a") for log, _ in logs]
    start = time.perf_counter()
    written = 0
    try:
        while written < n:
            due = min(n, int((time.perf_counter() - start) * rate) + 1)
            now = dt.datetime.now(dt.UTC)
            for seq in range(written, due):
                files[seq % len(files)].write(line(seq, now))
            for f in files:
                f.flush()
            written = due
            time.sleep(0.01)
    finally:
        for f in files:
            f.close()


def measure(url: str, n: int, elapsed: float) -> dict[str, float]:
    """Sustained rate over the middle 80 % of rows, and latency percentiles."""
    rate = sustained_rate(url, n, elapsed)
    with psycopg.connect(url, autocommit=True) as conn:
        latencies = [float(r[0]) for r in conn.execute(
            "SELECT extract(epoch FROM received_at - occurred_at) * 1000 FROM events")]
    quantiles = statistics.quantiles(latencies, n=100)
    return {"rate": rate, "elapsed": elapsed, "p50": quantiles[49], "p95": quantiles[94],
            "p99": quantiles[98], "max": max(latencies)}


if __name__ == "__main__":
    main()
