"""Fault suite: door logs → edge agents → broker → ingest → database, with one fault each.

Everything runs on this machine as real processes: a private PostgreSQL (one server, a
fresh database per scenario copied from a migrated template holding a small simulated
community, ``linli simulate`` + ``linli import``), a private Mosquitto per scenario, ``linli
ingest`` and one ``linli edge`` per building, each following a door log (type ``log``) that
the suite appends paced lines to. Every well-formed line carries a unique ``seq`` (kept in
the event's ``attrs``), so each stored row names the line it came from; one line in
``MALFORMED_EVERY`` is malformed and must land in its agent's rejects file, and a few
malformed MQTT messages published straight to an events topic must land in ``dead_letters``.

Each scenario writes a third of the lines, applies its fault, writes the second third,
recovers, writes the rest, then waits until the agents' spools are empty and the stored
count settles. It prints one line:

    fault=<name> expected=<n> stored=<n> lost=<n> doubled=<n> rejects_kept=<n>
      dead_letters=<n> seconds=<s>

``expected``: well-formed lines written; ``stored``: their rows; ``lost``: lines with no
row; ``doubled``: rows beyond the first for a line; ``rejects_kept``: distinct malformed
lines found in the rejects files; ``dead_letters``: distinct malformed messages stored.
Exits 1 if any line was lost or doubled, or a malformed line or message was not kept.

    python -m bench.faults [--only baseline,ingest_kill] [--events 3000] [--agents 3]
                           [--rate 300] [--outage 30] [--keep]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from linli.db import migrate
from linli.embedded import EmbeddedMosquitto, EmbeddedPostgres, wait_for_port
from linli.errors import ServiceError

MALFORMED_EVERY = 50
"""Every 50th line of a log is malformed (bad JSON, bad time, unknown event)."""
DEAD_LETTERS = 5
"""Malformed MQTT messages published on an events topic per scenario."""
SETTLE_S = 5.0
"""The stored count must hold this long, spools empty, before lines are called lost."""
LATE_DOUBLE_S = 2.0
"""Extra wait once everything is stored, for a late redelivery to show itself."""
DRAIN_TIMEOUT_S = 120.0
TEMPLATE = "faults_template"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
SPOOL_FULL_SKIP = "agent has no spool size limit setting"


@dataclass
class Options:
    events: int = 3000
    agents: int = 3
    rate: float = 300.0
    outage_s: float = 30.0
    keep: bool = False


@dataclass
class Result:
    fault: str
    expected: int = 0
    stored: int = 0
    lost: int = 0
    doubled: int = 0
    rejects_written: int = 0
    rejects_kept: int = 0
    dead_letters_sent: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    skipped: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        if self.error:
            return False
        return self.skipped is not None or (
            self.lost == 0 and self.doubled == 0 and self.rejects_kept == self.rejects_written
            and self.dead_letters == self.dead_letters_sent)

    def line(self) -> str:
        if self.skipped:
            return f"fault={self.fault} skipped: {self.skipped}"
        if self.error and not self.expected:
            return f"fault={self.fault} error: {self.error}"
        return (f"fault={self.fault} expected={self.expected} stored={self.stored} "
                f"lost={self.lost} doubled={self.doubled} rejects_kept={self.rejects_kept} "
                f"dead_letters={self.dead_letters} seconds={self.seconds:.1f}")


# ----------------------------------------------------------------------------- lines


def is_malformed(seq: int) -> bool:
    return seq % MALFORMED_EVERY == MALFORMED_EVERY - 1


def door_line(seq: int, person: str) -> str:
    """Line ``seq`` of the logs: a passage, or (every ``MALFORMED_EVERY``th) a broken one
    that still names its seq in its raw text, so the rejects file shows which it was."""
    at = dt.datetime.now(SHANGHAI).isoformat(timespec="microseconds")
    if is_malformed(seq):
        kind = (seq // MALFORMED_EVERY) % 3
        if kind == 0:
            return f'{{"time": "{at}", "event": "passage", "seq": {seq}\n'  # cut short
        if kind == 1:
            return json.dumps({"time": "not a time", "event": "passage", "person": person,
                               "seq": seq}) + "\n"
        return json.dumps({"time": at, "event": "teleport", "person": person,
                           "seq": seq}) + "\n"
    return json.dumps({"time": at, "event": "passage", "person": person, "reader": 1 + seq % 2,
                       "credential": "face", "seq": seq}) + "\n"


# ----------------------------------------------------------------------------- processes


class Service:
    """One ``linli`` subcommand as a process of its own, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "linli.cli", *self.args],
                                         env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 30) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Community:
    """A small simulated community imported into a template database, once per run."""

    def __init__(self, pg: EmbeddedPostgres, work: Path, agents: int) -> None:
        self.pg = pg
        self.dir = work / "community"
        run_cli(["simulate", "--out", str(self.dir), "--community", "faults", "--name", "faults",
                 "--buildings", str(agents), "--units", "1", "--households-per-unit", "2",
                 "--elderly-alone", "0", "--stay-in", "0", "--history-hours", "1"], {})
        with psycopg.connect(pg.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        migrate(pg.url(TEMPLATE))
        run_cli(["import", str(self.dir / "community.yaml")],
                {"LINLI_DATABASE_URL": pg.url(TEMPLATE)})
        directory = yaml.safe_load((self.dir / "community.yaml").read_text(encoding="utf-8"))
        self.persons = [resident["id"] for resident in directory["residents"]]
        self.agent_configs = [yaml.safe_load(path.read_text(encoding="utf-8"))
                              for path in sorted((self.dir / "agents").glob("*.yaml"))]

    def fresh_database(self, name: str) -> str:
        with psycopg.connect(self.pg.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}')
        return self.pg.url(name)


def run_cli(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "linli.cli", *args], capture_output=True,
                            text=True, env={**os.environ, "LINLI_LOG_LEVEL": "WARNING", **env},
                            check=False)
    if result.returncode != 0:
        raise ServiceError(f"linli {args[0]} failed: {result.stderr.strip()[-2000:]}")


# ----------------------------------------------------------------------------- one scenario


class Run:
    """One scenario's world: its database, broker, spools, logs, ingest and agents."""

    def __init__(self, community: Community, name: str, options: Options, work: Path) -> None:
        self.community, self.name, self.options = community, name, options
        self.work = work / name
        self.work.mkdir(parents=True)
        self.pg = community.pg
        self.db_url = community.fresh_database(f"faults_{name}")
        self.broker = EmbeddedMosquitto(base_dir=self.work / "broker")
        self.spool_dir = self.work / "spool"
        self.env = {**os.environ, "LINLI_DATABASE_URL": self.db_url,
                    "LINLI_MQTT_URL": self.broker.url, "LINLI_LOG_LEVEL": "WARNING",
                    "LINLI_EDGE__SPOOL_DIR": str(self.spool_dir),
                    "LINLI_INGEST__CLIENT_ID": f"faults-{name}",
                    "LINLI_EDGE__STATUS_INTERVAL_S": "5"}
        self.logs: list[Path] = []
        self.configs: list[Path] = []
        for config in community.agent_configs[:options.agents]:
            config = copy.deepcopy(config)
            log = self.work / f"{config['building']}.jsonl"
            log.touch()
            config["sources"][0]["path"] = str(log)
            path = self.work / f"{config['building']}.yaml"
            path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
            self.logs.append(log)
            self.configs.append(path)
        self.topic = (f"linli/v1/{community.agent_configs[0]['community']}/"
                      f"{community.agent_configs[0]['building']}/"
                      f"{community.agent_configs[0]['sources'][0]['device']}/events")
        self.ingest: Service | None = None
        self.agents: list[Service] = []
        self.written = 0
        self._starts = 0
        self._probe = 0
        self.outage_started = 0.0
        self.broker.start()  # last: nothing after it can fail and leave it running

    # -- services

    def _service(self, name: str, args: list[str]) -> Service:
        self._starts += 1
        return Service(f"{self._starts:02d}-{name}", args, self.env, self.work).start()

    def start_ingest(self) -> None:
        """Start ingest and return once it stores what is published (a probe arrived)."""
        self.ingest = self._service("ingest", ["ingest"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self._probe += 1
            marker = f"probe-{self._probe}"
            with contextlib.suppress(OSError, ServiceError, RuntimeError, ValueError):
                self.publish_raw([f"not json {marker}".encode()])
            until = time.monotonic() + 1.0
            while time.monotonic() < until:
                if self.dead_letter_count(marker):
                    return
                time.sleep(0.1)
        raise ServiceError("ingest stored nothing within 60 s of starting")

    def start_agents(self) -> None:
        self.agents = [self._service(f"edge-{path.stem}", ["edge", "--config", str(path)])
                       for path in self.configs]

    def kill_broker(self) -> None:
        """SIGKILL: Mosquitto gets no chance to write its persistence file."""
        process = self.broker.process
        assert process is not None
        process.kill()
        process.wait()
        if process.stderr:
            process.stderr.close()
        self.broker.process = None

    def start_broker(self) -> None:
        self.broker.start()
        wait_for_port(self.broker.port)

    def stop_postgres(self) -> None:
        subprocess.run(self._pg_ctl("stop", "-m", "immediate"), check=True, capture_output=True,
                       **self._as_postgres())

    def start_postgres(self) -> None:
        self.pg.start()

    def _pg_ctl(self, *args: str) -> list[str]:
        return [str(self.pg.bindir / "pg_ctl"), "-D", str(self.pg.data_dir), "-w", *args]

    def _as_postgres(self) -> dict[str, Any]:
        return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}

    def close(self) -> None:
        for agent in self.agents:
            agent.stop()
        if self.ingest:
            self.ingest.stop()
        self.broker.stop()

    # -- traffic

    def write(self, upto: int) -> None:
        """Append lines ``written`` … ``upto`` - 1 at ``rate`` per second, round-robin over
        the agents' logs, in 20 ms slices."""
        files = [log.open("a", encoding="utf-8") for log in self.logs]
        persons = self.community.persons
        start, first = time.perf_counter(), self.written
        try:
            while self.written < upto:
                due = min(upto, first + int((time.perf_counter() - start) * self.options.rate) + 1)
                for seq in range(self.written, due):
                    files[seq % len(files)].write(door_line(seq, persons[seq % len(persons)]))
                for f in files:
                    f.flush()
                self.written = due
                time.sleep(0.02)
        finally:
            for f in files:
                f.close()

    def publish_raw(self, payloads: list[bytes]) -> None:
        """Publish ``payloads`` (QoS 1) on a device's events topic, as a broken agent might."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        try:
            client.connect("127.0.0.1", self.broker.port)
        except OSError as exc:
            raise ServiceError(f"broker refused: {exc}") from exc
        client.loop_start()
        try:
            infos = [client.publish(self.topic, payload, qos=1) for payload in payloads]
            for info in infos:
                info.wait_for_publish(10)
        finally:
            client.disconnect()
            client.loop_stop()

    def send_dead_letters(self) -> None:
        self.publish_raw([f"not json dead-letter-{i}".encode() for i in range(DEAD_LETTERS)])

    # -- observation

    def _query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def dead_letter_count(self, marker: str) -> int:
        with contextlib.suppress(psycopg.Error):
            rows = self._query("SELECT count(*) FROM dead_letters WHERE position(%s IN "
                               "convert_from(payload, 'UTF8')) > 0", marker)
            return int(rows[0][0])
        return 0

    def stored_count(self) -> int | None:
        with contextlib.suppress(psycopg.Error):
            return int(self._query("SELECT count(*) FROM events WHERE attrs ? 'seq'")[0][0])
        return None

    def logs_read(self) -> bool:
        """Every agent has read its whole log (its spool may still hold it, unconfirmed)."""
        sizes = {str(log): log.stat().st_size for log in self.logs}
        read: dict[str, int] = {}
        for path in self.spool_dir.glob("spool-*.db"):
            try:
                with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
                    read.update(db.execute("SELECT source, offset FROM cursors").fetchall())
            except sqlite3.Error:
                return False
        return read == sizes

    def spools_empty(self) -> bool:
        """Every agent has read its whole log and holds nothing unacknowledged."""
        sizes = {str(log): log.stat().st_size for log in self.logs}
        read: dict[str, int] = {}
        waiting = 0
        for path in self.spool_dir.glob("spool-*.db"):
            try:
                with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
                    read.update(db.execute("SELECT source, offset FROM cursors").fetchall())
                    waiting += db.execute("SELECT count(*) FROM outbox").fetchone()[0]
            except sqlite3.Error:
                return False
        return read == sizes and waiting == 0

    def drain(self, expected: int) -> None:
        """Until every line is stored, or the spools are empty and the count has held still
        for ``SETTLE_S`` (then the missing lines are lost), or ``DRAIN_TIMEOUT_S``."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            count = self.stored_count()
            if count != last:
                last, since = count, time.monotonic()
            if count is not None and count >= expected:
                time.sleep(LATE_DOUBLE_S)
                return
            if count is not None and time.monotonic() - since >= SETTLE_S and self.spools_empty():
                return
            time.sleep(0.25)

    def tally(self, result: Result) -> None:
        total = self.written
        wellformed = [seq for seq in range(total) if not is_malformed(seq)]
        result.expected = len(wellformed)
        counts = dict(self._query(
            "SELECT (attrs->>'seq')::int, count(*) FROM events WHERE attrs ? 'seq' GROUP BY 1"))
        result.stored = sum(counts.values())
        result.lost = sum(1 for seq in wellformed if seq not in counts)
        result.doubled = sum(n - 1 for n in counts.values() if n > 1)
        strays = sorted(seq for seq in counts if seq >= total or is_malformed(seq))
        if strays:  # rows no written line accounts for: extra rows, like doubles
            result.notes.append(f"rows for lines never written well-formed: {strays[:10]}")
            result.doubled += sum(counts[seq] for seq in strays)
        result.rejects_written = total - len(wellformed)
        rejected = self._rejected_seqs()
        result.rejects_kept = len(set(rejected) & {s for s in range(total) if is_malformed(s)})
        twice = sum(1 for n in rejected.values() if n > 1)
        if twice:  # harmless (nothing was stored), but says a line was read twice
            result.notes.append(f"{twice} malformed lines are in the rejects files twice")
        if result.rejects_kept != result.rejects_written:
            result.notes.append(f"{result.rejects_written} malformed lines written, "
                                f"{result.rejects_kept} in the rejects files")
        rows = self._query("SELECT convert_from(payload, 'UTF8') FROM dead_letters")
        sent = {f"dead-letter-{i}" for i in range(DEAD_LETTERS)}
        result.dead_letters = len({text.rsplit(" ", 1)[-1] for (text,) in rows} & sent)
        result.dead_letters_sent = len(sent) if result.dead_letters_sent else 0
        if result.dead_letters != result.dead_letters_sent:
            result.notes.append(f"{result.dead_letters_sent} malformed messages published, "
                                f"{result.dead_letters} in dead_letters")

    def _rejected_seqs(self) -> collections.Counter[int]:
        """How often each malformed line's seq is in the agents' rejects files."""
        seqs: collections.Counter[int] = collections.Counter()
        for path in self.spool_dir.glob("rejects-*.jsonl"):
            for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
                with contextlib.suppress(ValueError, KeyError, TypeError, IndexError):
                    raw = json.loads(text)["raw"]
                    seqs[int(raw.rsplit('"seq": ', 1)[1].split("}")[0].strip())] += 1
        return seqs


# ----------------------------------------------------------------------------- scenarios

Step = Callable[[Run], None]
Body = Callable[[Run, int, Result], None]
"""A scenario's traffic and fault: starts the agents, writes ``total`` lines, ends once
the last line is written (then the run drains and counts)."""


def fault_between(fault: Step, recover: Step) -> Body:
    """Write a third, ``fault``, write a third, ``recover``, write the rest."""

    def body(run: Run, total: int, result: Result) -> None:
        run.start_agents()
        run.write(total // 3)
        fault(run)
        run.write(2 * total // 3)
        recover(run)
        run.write(total)

    return body


def _nothing(run: Run) -> None:
    pass


def _kill_ingest(run: Run) -> None:
    assert run.ingest is not None
    run.ingest.kill()


def _kill_agents(run: Run) -> None:
    for agent in run.agents:
        agent.kill()


def _db_down(run: Run) -> None:
    run.outage_started = time.monotonic()
    run.stop_postgres()


def _db_back_after_outage(run: Run) -> None:
    remaining = run.options.outage_s - (time.monotonic() - run.outage_started)
    if remaining > 0:
        time.sleep(remaining)
    run.start_postgres()


def broker_kill_with_ingest_offline(run: Run, total: int, result: Result) -> None:
    """Ingest's session exists, ingest stops cleanly, the agents publish every line into the
    broker's queue for it, the broker is SIGKILLed and restarted, then ingest comes back."""
    wait_dead_letters(run)
    assert run.ingest is not None
    run.ingest.stop()
    run.start_agents()
    run.write(total)
    # with receipts the spools keep everything until ingest is back: wait until every line
    # is read and handed to the broker, then kill it before its autosave
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while not run.logs_read() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(HANDED_OVER_S)
    run.kill_broker()
    run.start_broker()
    run.start_ingest()


HANDED_OVER_S = 2.0
"""After the last line is read, time for the agents to publish it and the broker to
acknowledge it (well within Mosquitto's 30 s autosave)."""


SPOOL_LIMIT_BYTES = 256 * 1024
"""The spool bound in ``spool_full``: a few hundred events per agent."""


def spool_limit_env(limit_bytes: int) -> dict[str, str] | None:
    """The agents' environment that bounds their spool to ``limit_bytes`` (None would skip
    ``spool_full``).

    ``LINLI_EDGE__SPOOL_MAX_MB`` sets SQLite's ``max_page_count``, which fails exactly like a
    full disk ("database or disk is full"); a small filesystem would need root, and
    ``RLIMIT_FSIZE`` makes SQLite fail with "disk I/O error", which is not the fault under
    test."""
    return {"LINLI_EDGE__SPOOL_MAX_MB": f"{limit_bytes / 1_000_000:g}"}


def spool_full(run: Run, total: int, result: Result) -> None:
    """The broker stops cleanly and the agents spool until their spools are full (they
    must stop reading, losing nothing); the broker comes back and they publish what they
    hold, which frees the spool without a restart. Their status must say ``spool_full``
    meanwhile (watched from the broker's return: retained, so the last one is seen)."""
    run.broker.stop()
    run.start_agents()
    run.write(2 * total // 3)
    seen: list[bytes] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    watcher.on_connect = lambda client, *_: client.subscribe("linli/v1/+/+/+/status", qos=1)
    watcher.on_message = lambda _c, _u, message: seen.append(bytes(message.payload))
    run.start_broker()
    watcher.connect("127.0.0.1", run.broker.port)
    watcher.loop_start()
    try:
        run.write(total)
        run.drain(sum(1 for seq in range(total) if not is_malformed(seq)))
    finally:
        watcher.disconnect()
        watcher.loop_stop()
    full = sum(1 for payload in seen if b"spool_full" in payload)
    result.notes.append(f"{full} of {len(seen)} status messages said spool_full")
    if not full:
        # the spool never filled, or the control room was not told: either way not shown
        result.error = "no agent status said spool_full"
        result.notes.append(f"failed: {result.error}")


@dataclass(frozen=True)
class Scenario:
    name: str
    body: Body
    env: Callable[[], dict[str, str] | None] = dict
    """Extra environment of the services; None skips the scenario (SPOOL_FULL_SKIP)."""


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("baseline", fault_between(_nothing, _nothing)),
    Scenario("ingest_kill", fault_between(_kill_ingest, lambda run: run.start_ingest())),
    Scenario("broker_kill", fault_between(lambda run: run.kill_broker(),
                                          lambda run: run.start_broker())),
    Scenario("broker_kill_ingest_offline", broker_kill_with_ingest_offline),
    Scenario("db_outage", fault_between(_db_down, _db_back_after_outage)),
    Scenario("agent_kill", fault_between(_kill_agents, lambda run: run.start_agents())),
    Scenario("spool_full", spool_full, lambda: spool_limit_env(SPOOL_LIMIT_BYTES)),
)}


def run_scenario(community: Community, scenario: Scenario, options: Options,
                 work: Path) -> Result:
    result = Result(scenario.name)
    env = scenario.env()
    if env is None:
        result.skipped = SPOOL_FULL_SKIP
        return result
    started = time.monotonic()
    run = Run(community, scenario.name, options, work)
    run.env.update(env)
    total = options.events
    try:
        run.start_ingest()
        run.send_dead_letters()
        result.dead_letters_sent = DEAD_LETTERS
        scenario.body(run, total, result)
        run.drain(sum(1 for seq in range(total) if not is_malformed(seq)))
        result.seconds = time.monotonic() - started
        run.tally(result)
    finally:
        run.close()
        if result.ok and not options.keep:
            shutil.rmtree(run.work, ignore_errors=True)
        else:
            result.notes.append(f"logs, spools and broker state kept in {run.work}")
    return result


def wait_dead_letters(run: Run, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.dead_letter_count("dead-letter-") >= DEAD_LETTERS:
            return
        time.sleep(0.1)


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> tuple[list[str], Options]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default="",
                        help=f"comma-separated scenarios (default all: {', '.join(SCENARIOS)})")
    parser.add_argument("--events", type=int, default=Options.events,
                        help="lines written per scenario, malformed ones included")
    parser.add_argument("--agents", type=int, default=Options.agents,
                        help="buildings, one agent process each")
    parser.add_argument("--rate", type=float, default=Options.rate, help="lines/s written")
    parser.add_argument("--outage", type=float, default=Options.outage_s,
                        help="seconds the database is down in db_outage")
    parser.add_argument("--keep", action="store_true",
                        help="keep every scenario's folder (logs, spools, broker state)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown}; known: {', '.join(SCENARIOS)}")
    if args.events < 3 or args.agents < 1 or args.rate <= 0:
        parser.error("--events ≥ 3, --agents ≥ 1, --rate > 0")
    return names, Options(args.events, args.agents, args.rate, args.outage, args.keep)


@contextlib.contextmanager
def private_postgres(work: Path) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(base_dir=work / "pg").start()
    try:
        yield pg
    finally:
        pg.cleanup()


def main(argv: list[str] | None = None) -> int:
    names, options = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="linli-faults-"))
    if os.geteuid() == 0:
        os.chmod(work, 0o755)  # the cluster's folder, owned by postgres, lives inside
    print(f"fault suite: {options.events} lines per scenario ({options.agents} agents, "
          f"{options.rate:g} lines/s, 1 in {MALFORMED_EVERY} malformed), "
          f"{DEAD_LETTERS} malformed messages; work in {work}", flush=True)
    results: list[Result] = []
    with private_postgres(work) as pg:
        community = Community(pg, work, options.agents)
        if options.agents > len(community.agent_configs):
            raise SystemExit(f"the community has {len(community.agent_configs)} buildings")
        for name in names:
            try:
                result = run_scenario(community, SCENARIOS[name], options, work)
            except (ServiceError, OSError, psycopg.Error, subprocess.SubprocessError) as exc:
                # one scenario's broken set-up must not hide the others' counts
                result = Result(name, error=f"{type(exc).__name__}: {exc}")
            results.append(result)
            print(result.line(), flush=True)
            for note in result.notes:
                print(f"  {note}", flush=True)
    failed = [result.fault for result in results if not result.ok]
    skipped = [result.fault for result in results if result.skipped]
    print(f"faults: {len(results) - len(failed) - len(skipped)} passed, "
          f"{len(skipped)} skipped, {len(failed)} failed"
          + (f" ({', '.join(failed)})" if failed else ""), flush=True)
    if not failed and not options.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
