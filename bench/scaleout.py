"""Scale-out benchmark: ingest replicas in one shared-subscription group, 1 vs 2, next to COPY.

Runs on this machine against a private Mosquitto and PostgreSQL (``linli.embedded``) and
prints events/s for each configuration and its ratio to a plain binary COPY of the same
rows into the same ``events`` table, timed in the same round:

* **1 replica / 2 replicas**: separate processes, each with its own client id, in the one
  group ``$share/ingest/...`` that ``linli ingest`` subscribes to. Each run first creates
  the replicas' sessions (connect, subscribe, stop), then ``--publishers`` processes
  publish N events at QoS 1 while the replicas are away, so the broker deals them out and
  queues them per session; then the replicas start together and the time until all N rows
  are stored is taken. Afterwards each replica retires (``linli ingest --retire``) so that
  no session of this run is dealt anything in the next one.
* **stock / fast**: stock paho-mqtt, or ingest's fast path (``ingest/fastpath.py``).

Figures: *sustained* = the middle 80 % of rows over their commit times (``received_at``,
the same figure as ``bench.pipeline``'s drain), *wall* = N / (replicas started → last row
stored), which includes the processes' start (about a second of imports and connecting);
each is also given as a ratio to a plain COPY timed just before that run. *CPU* = the
replicas' own CPU time per event stored, and the broker's and PostgreSQL's while the
replicas ran (from ``/proc``), which other load on the machine moves far less than the
rates. Every run checks that exactly N distinct events were stored (nothing lost
or doubled). The load average is printed with each run: other work moves the rates.

    python -m bench.scaleout [--events 100000] [--publishers 4] [--rounds 3]
                             [--modes stock,fast] [--replicas 1,2]
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from bench.services import (
    door_events,
    plain_copy,
    private_services,
    sustained_rate,
    wait_for_rows,
)
from ingest.batch import event_row
from linli.embedded import EmbeddedMosquitto, EmbeddedPostgres


@dataclass(frozen=True, slots=True)
class Run:
    mode: str
    replicas: int
    sustained: float
    wall: float
    shares: list[int]
    """Events each replica stored."""
    copy: float
    """Rows/s of the plain COPY timed just before this run."""
    cpu_us: float
    """CPU time the replicas spent per event stored (µs), less what the same replicas
    spent starting, subscribing and stopping with nothing to store."""
    broker_us: float
    """The broker's CPU time per event while the replicas ran (µs)."""
    database_us: float
    """PostgreSQL's CPU time per event while the replicas ran, all its processes (µs)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    replica = sub.add_parser("replica", help="one ingest replica (used by the benchmark)")
    replica.add_argument("--stock", action="store_true", help="stock paho, no fast path")
    replica.add_argument("--retire", action="store_true")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="stock,fast")
    parser.add_argument("--replicas", default="1,2")
    args = parser.parse_args()
    if args.command == "replica":
        run_replica(stock=args.stock, retire=args.retire)
        return
    benchmark(args.events, args.publishers, args.rounds,
              [m.strip() for m in args.modes.split(",") if m.strip()],
              [int(r) for r in args.replicas.split(",")])


def benchmark(n: int, publishers: int, rounds: int, modes: list[str],
              replica_counts: list[int]) -> None:
    for mode in modes:
        if mode not in ("stock", "fast"):
            raise SystemExit(f"--modes: unknown {mode!r} (stock, fast)")
    with private_services() as services:
        url, pg, broker = services.url, services.pg, services.broker
        events = door_events(n)
        messages = [(e.topic, e.to_json()) for e in events]
        rows = [event_row(e) for e in events]
        import paho.mqtt as paho_package

        print(f"machine: {os.cpu_count()} cores; {n:,} events; {publishers} publishers; "
              f"paho-mqtt {paho_package.__version__}", flush=True)
        results: list[Run] = []
        for round_no in range(rounds):
            print(f"round {round_no + 1}", flush=True)
            for mode in modes:
                for count in replica_counts:
                    load = os.getloadavg()[0]
                    run = run_once(url, broker, pg, messages, rows, count, mode, publishers)
                    results.append(run)
                    print(f"  {mode:5} × {count} (load {load:4.1f}): COPY {run.copy:,.0f} "
                          f"rows/s; sustained {run.sustained:,.0f} events/s "
                          f"({run.sustained / run.copy:.2f} × COPY), wall "
                          f"{run.wall:,.0f} ({run.wall / run.copy:.2f} × COPY); "
                          f"CPU/event: ingest {run.cpu_us:.0f} µs, broker "
                          f"{run.broker_us:.0f} µs, database {run.database_us:.0f} µs; "
                          f"per replica {run.shares}",
                          flush=True)
        summarise(results, modes, replica_counts)


def summarise(results: list[Run], modes: list[str], replica_counts: list[int]) -> None:
    copies = [run.copy for run in results]
    print(f"\nplain COPY: median {statistics.median(copies):,.0f} rows/s "
          f"(min {min(copies):,.0f}, max {max(copies):,.0f})")
    print("median (min–max) of the runs:")
    for mode in modes:
        for count in replica_counts:
            runs = [run for run in results if run.mode == mode and run.replicas == count]
            print(f"  {mode:5} × {count} replica{'s' if count > 1 else ''}: "
                  f"sustained {_spread([r.sustained for r in runs], '{:,.0f}')} events/s, "
                  f"{_spread([r.sustained / r.copy for r in runs], '{:.2f}')} × COPY; "
                  f"wall {_spread([r.wall for r in runs], '{:,.0f}')}, "
                  f"{_spread([r.wall / r.copy for r in runs], '{:.2f}')} × COPY; "
                  f"CPU/event: ingest {_spread([r.cpu_us for r in runs], '{:.0f}')} µs, "
                  f"broker {_spread([r.broker_us for r in runs], '{:.0f}')} µs, database "
                  f"{_spread([r.database_us for r in runs], '{:.0f}')} µs")


def _spread(values: list[float], form: str) -> str:
    return (f"{form.format(statistics.median(values))} "
            f"({form.format(min(values))}–{form.format(max(values))})")


def run_once(url: str, broker: EmbeddedMosquitto, pg: EmbeddedPostgres,
             messages: list[tuple[str, bytes]], rows: list[tuple[Any, ...]], replicas: int,
             mode: str, publishers: int) -> Run:
    mqtt_url = broker.url
    assert broker.process is not None
    postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    tag = uuid.uuid4().hex[:8]
    ids = [f"bench-scaleout-{tag}-{i}" for i in range(replicas)]
    # The sessions and their place in the group exist from now on; the broker keeps what
    # it deals each of them while they are away.
    idle = [proc.stop() for proc in [Replica(url, mqtt_url, client_id, stock=mode == "stock")
                                     for client_id in ids]]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE events, presence, resident_signals, devices, dead_letters")
    publish_all(mqtt_url, messages, publishers)
    copy_rate = plain_copy(url, rows)  # right before the run: the same load, as far as can be

    cpu_before = cpu_seconds(broker.process.pid), cpu_seconds(postmaster, tree=True)
    started = time.perf_counter()
    procs = [Replica(url, mqtt_url, client_id, stock=mode == "stock", wait=False)
             for client_id in ids]
    wait_for_rows(url, len(messages), timeout=max(120.0, len(messages) / 500))
    elapsed = time.perf_counter() - started
    wall = len(messages) / elapsed
    ends = [proc.stop() for proc in procs]
    broker_s = cpu_seconds(broker.process.pid) - cpu_before[0]
    database_s = cpu_seconds(postmaster, tree=True) - cpu_before[1]
    for proc in [Replica(url, mqtt_url, client_id, stock=True, retire=True, wait=False)
                 for client_id in ids]:
        proc.wait_exit(120)
    cpu_us = (sum(cpu for _, cpu in ends) - sum(cpu for _, cpu in idle)) / len(messages) * 1e6
    return Run(mode, replicas, sustained_rate(url, len(messages), elapsed), wall,
               [stored for stored, _ in ends], copy_rate, cpu_us,
               broker_s / len(messages) * 1e6, database_s / len(messages) * 1e6)


def cpu_seconds(pid: int, *, tree: bool = False) -> float:
    """CPU time of a process (and of the children it has reaped); with ``tree``, of its
    live children too (PostgreSQL's backends and background workers)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def stat(path: Path) -> list[str]:
        return path.read_text().rsplit(")", 1)[1].split()

    own = stat(Path(f"/proc/{pid}/stat"))
    total = sum(int(x) for x in own[11:15])  # utime, stime, cutime, cstime
    if tree:
        for path in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat(path)
            except OSError:
                continue  # ended meanwhile
            if int(fields[1]) == pid:
                total += int(fields[11]) + int(fields[12])
    return total / ticks


class Replica:
    """``python -m bench.scaleout replica`` as a process: ingest with its own client id."""

    def __init__(self, url: str, mqtt_url: str, client_id: str, *, stock: bool,
                 retire: bool = False, wait: bool = True) -> None:
        env = {**os.environ, "LINLI_DATABASE_URL": url, "LINLI_MQTT_URL": mqtt_url,
               "LINLI_LOG_LEVEL": "ERROR", "LINLI_INGEST__CLIENT_ID": client_id}
        args = [sys.executable, "-m", "bench.scaleout", "replica"]
        args += ["--stock"] if stock else []
        args += ["--retire"] if retire else []
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if wait and not self.ready.wait(60):
            self.proc.kill()
            raise SystemExit(f"replica {client_id} did not subscribe within 60 s")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.strip())
            if line.startswith("ready"):
                self.ready.set()

    def wait_exit(self, timeout: float) -> tuple[int, float]:
        """The events the replica stored and the CPU seconds it used."""
        code = self.proc.wait(timeout)
        self._reader.join(10)
        if code != 0:
            raise SystemExit(f"a replica exited with {code}")
        ends = [line.split() for line in self.lines if line.startswith("stored ")]
        return (int(ends[-1][1]), float(ends[-1][3])) if ends else (0, 0.0)

    def stop(self) -> tuple[int, float]:
        """SIGTERM: the replica stores what it holds and ends (see ``wait_exit``)."""
        self.proc.terminate()
        return self.wait_exit(60)


def run_replica(*, stock: bool, retire: bool) -> None:
    """One ingest replica in this process, as ``linli ingest`` runs it; prints ``ready``
    once subscribed and ``stored N cpu S`` at the end (S: the CPU seconds it used)."""
    from ingest.service import run_ingest
    from ingest.stats import IngestStats
    from linli.logs import setup_logging
    from linli.runtime import install_stop_handlers
    from linli.settings import load_settings

    settings = load_settings()
    setup_logging(settings.log_level, name="ingest")
    stop = install_stop_handlers()
    ready = threading.Event()
    stats = IngestStats()
    def say_ready() -> None:
        while not stop.is_set():
            if ready.wait(0.05):
                print("ready", flush=True)
                return

    threading.Thread(target=say_ready, daemon=True).start()
    run_ingest(settings, stop, ready, stats=stats, fast_path=not stock, retire=retire,
               retire_idle_s=1.0)
    print(f"stored {stats.snapshot().events_written} cpu {time.process_time():.3f}",
          flush=True)


def publish_all(mqtt_url: str, messages: list[tuple[str, bytes]], publishers: int) -> None:
    """Publish every message at QoS 1 from ``publishers`` processes; returns once the
    broker acknowledged them all."""
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_publish, args=(mqtt_url, messages[i::publishers]))
             for i in range(publishers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(600)
        if proc.exitcode != 0:
            raise SystemExit(f"a publisher failed ({proc.exitcode})")


def _publish(mqtt_url: str, messages: list[tuple[str, bytes]], window: int = 100) -> None:
    host, port = mqtt_url.removeprefix("mqtt://").rsplit(":", 1)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4()}",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(window)
    client.max_queued_messages_set(0)
    client.connect(host, int(port))
    client.loop_start()
    pending: collections.deque[mqtt.MQTTMessageInfo] = collections.deque()
    try:
        for topic, payload in messages:
            if len(pending) >= window:
                _acknowledged(pending.popleft())
            pending.append(client.publish(topic, payload, qos=1))
        while pending:
            _acknowledged(pending.popleft())
    finally:
        client.disconnect()
        client.loop_stop()


def _acknowledged(info: mqtt.MQTTMessageInfo) -> None:
    info.wait_for_publish(60)
    if not info.is_published():
        raise SystemExit("the broker did not acknowledge a publish within 60 s")


if __name__ == "__main__":
    main()
